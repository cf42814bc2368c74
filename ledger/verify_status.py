"""The last ``pmm verify`` of the live ledger, kept in its home (docs/pages.md).

``pmm verify`` without a folder exports the ledger's stored entries and runs
the offline verifier on them; its verdict is written to
``HOME/verify-status.json`` (0600, ``ledger/files.py``) so the overview page
can say when the ledger was last verified and what that run found. The file
is a report, not evidence: anyone wanting proof runs the verifier themselves.
A missing file reads as "never verified"; an unreadable one as unknown.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ledger.errors import ConfigurationError
from ledger.files import replace_private
from verify.check.verifier import VerifyResult

STATUS_FILE = "verify-status.json"
FORMAT = "pmm-verify-status/v1"


@dataclass(frozen=True)
class VerifyStatus:
    verified: bool
    verified_at: str  # when the run finished (RFC 3339 UTC)
    size: int  # the checkpoint's tree size (0: none could be read)
    root: str  # its root hash, base64
    cosigners: tuple[str, ...]
    quorum: str
    entries: int
    first_failure: str | None  # "index 12 (stream, type): check: reason"


def status_of(result: VerifyResult, verified_at: str) -> VerifyStatus:
    first = result.first_failure
    return VerifyStatus(
        result.verified,
        verified_at,
        result.size,
        base64.b64encode(result.root).decode("ascii"),
        tuple(result.cosigners),
        result.quorum,
        result.counts.entries,
        f"{first.where()}: {first.check}: {first.reason}" if first else None,
    )


def write_status(home: Path, status: VerifyStatus) -> None:
    record = {"format": FORMAT, **asdict(status), "cosigners": list(status.cosigners)}
    replace_private(home / STATUS_FILE, json.dumps(record, indent=2).encode() + b"\n")


def read_status(home: Path) -> VerifyStatus | None:
    """The last recorded run, or None if the ledger was never verified."""
    path = home / STATUS_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} is unreadable: {exc}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ConfigurationError(f"{path} is not a {FORMAT} file")
    try:
        return VerifyStatus(
            bool(record["verified"]),
            str(record["verified_at"]),
            int(record["size"]),
            str(record["root"]),
            tuple(str(c) for c in record["cosigners"]),
            str(record["quorum"]),
            int(record["entries"]),
            None if record["first_failure"] is None else str(record["first_failure"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"{path} lacks a field: {exc}") from None
