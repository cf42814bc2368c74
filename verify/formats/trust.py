"""The trust file, ``trust.json`` (format ``pmm-trust/v1``): the roots an
auditor pins (docs/design.md §5).

The one definition of its fields and bytes, written by ``pmm export``
(``ledger/export.py``) and the verifier benchmark, read by the verifier and
everything that checks against pinned roots:

* ``format``: ``pmm-trust/v1``;
* ``origin``: the log's origin;
* ``log_vkey``: the log's first verifier key, named after the origin (the log's
  own hand-overs lead from it to the key that signs now, docs/decisions.md 33);
* ``genesis_entry_sha256``: SHA-256 of entry 0, 64 lowercase hex digits;
* ``policy``: C2SP tlog-policy text that lists ``log_vkey`` as a log.

Written as JSON indented by 2, keys in the order above, and a final newline.
A trust file that is missing, truncated or malformed is an ``InputError``:
nothing could be verified, so the verifier exits 2 naming the file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify.errors import InputError, VerifyError, quote
from verify.formats.inputs import read_input
from verify.formats.note import Ed25519Verifier
from verify.formats.policy_text import TrustPolicy, parse_policy

TRUST_FILE = "trust.json"
TRUST_FORMAT = "pmm-trust/v1"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_TRUST_BYTES = 1 << 20


def log_alone_policy(log_vkey: str) -> str:
    """The tlog-policy of a log without witnesses: the log alone, no quorum."""
    return f"log {log_vkey}\nquorum none\n"


def trust_fields(
    origin: str, log_vkey: str, genesis_entry: bytes, policy: str | None = None
) -> dict[str, str]:
    """The fields of a trust file, in their written order; ``policy`` defaults to
    the log alone."""
    return {
        "format": TRUST_FORMAT,
        "origin": origin,
        "log_vkey": log_vkey,
        "genesis_entry_sha256": hashlib.sha256(genesis_entry).hexdigest(),
        "policy": policy or log_alone_policy(log_vkey),
    }


def trust_bytes(fields: dict[str, str]) -> bytes:
    """The bytes of a trust file with ``fields`` (``trust_fields``)."""
    return (json.dumps(fields, indent=2) + "\n").encode()


@dataclass(frozen=True)
class TrustRoots:
    """The pinned trust roots of one log (``trust.json``), checked."""

    origin: str
    log_vkey: str
    log: Ed25519Verifier
    genesis_entry_sha256: str
    policy: TrustPolicy


def _field(data: dict[str, Any], name: str, path: Path) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise InputError(f"{path}: trust file needs {name!r} as non-empty text")
    return value


def parse_trust(raw: bytes, path: Path) -> TrustRoots:
    """Check the bytes of the trust file at ``path``; ``InputError`` names what is
    wrong."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: trust file is not JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: trust file nests arrays or objects too deeply") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: trust file must be a JSON object")
    if data.get("format") != TRUST_FORMAT:
        raise InputError(f"{path}: trust file format must be {TRUST_FORMAT!r}")
    origin = _field(data, "origin", path)
    vkey = _field(data, "log_vkey", path)
    genesis = _field(data, "genesis_entry_sha256", path)
    if not SHA256_HEX.fullmatch(genesis):
        raise InputError(f"{path}: genesis_entry_sha256 must be 64 lowercase hex digits")
    try:
        log = Ed25519Verifier.from_vkey(vkey)
        policy = parse_policy(_field(data, "policy", path))
    except VerifyError as exc:
        raise InputError(f"{path}: {exc}") from None
    if log.name != origin:
        raise InputError(
            f"{path}: log_vkey is named {quote(log.name)}, not the origin {quote(origin)}"
        )
    if log not in [entry.verifier for entry in policy.logs]:
        raise InputError(f"{path}: the policy does not list log_vkey as a log")
    return TrustRoots(origin, vkey, log, genesis, policy)


def load_trust(path: Path) -> TrustRoots:
    """Read and check a trust file; ``InputError`` names what is wrong."""
    return parse_trust(read_input(path, "trust file", MAX_TRUST_BYTES), path)
