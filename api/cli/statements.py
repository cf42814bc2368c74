"""What ``pmm sign``, ``pmm submit``, ``pmm approve`` and the registry commands
share: reading drafts, attaching admins' approvals, signing, recording.

A **draft** is ``{"type", "stream", "body"[, "expected_version"]}``: the
statement without what the signer adds (origin, principal, key id, nonce,
issue time). A registry change that needs the admins' threshold carries
``body.approvals`` (docs/decisions.md, decision 15): each is another admin's
signature over the draft at its expected version (``pmm approve``), so the
admins need not share a machine; ``--approve KEY`` signs one on the spot.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import err, fail, fail_storage, key_for, out
from ledger.application import Ledger, Recorded
from ledger.errors import LedgerError, StorageError
from ledger.keys import KeyPair, with_approvals
from verify.errors import VerifyError
from verify.formats.canonical import parse_json
from verify.formats.statement import SignedStatement
from verify.rules.registry import THRESHOLD_TYPES

Approve = Annotated[
    list[str] | None,
    typer.Option(
        "--approve",
        help="Another admin's key (file or name in HOME/keys) that approves it; repeat.",
    ),
]
Approval = Annotated[
    list[Path] | None,
    typer.Option("--approval", help="An approval file from `pmm approve`; repeat."),
]


def print_recorded(recorded: Recorded, as_json: bool) -> None:
    """The receipt (c2sp.org/tlog-proof@v1) on stdout, verbatim, so it can be
    saved as a .tlog-proof file; a one-line summary on stderr."""
    if as_json:
        out.print_json(json.dumps(recorded.__dict__))
        return
    err.print(
        f"recorded {recorded.entry_type} as {recorded.stream} version "
        f"{recorded.stream_version}, log index {recorded.log_index}, entry sha256 "
        f"{recorded.entry_sha256}; receipt follows",
        highlight=False,
    )
    sys.stdout.write(recorded.receipt or "")


def warn_witnesses(ledger: Ledger) -> None:
    """Say on stderr when the last write's checkpoint missed the witness quorum,
    and why each witness refused: a rollback or fork is named (docs/backup.md)."""
    witnessed = ledger.last_witnessed
    if witnessed is None or witnessed.quorum_met:
        return
    err.print("warning: the checkpoint is below the witness quorum", highlight=False)
    for refusal in witnessed.refusals:
        err.print(f"  witness {refusal}", highlight=False)


def record(ledger: Ledger, signed: SignedStatement, as_json: bool) -> None:
    """Record ``signed`` and print its receipt; exit 1 if refused, 3 on a storage
    fault. The caller's ``opened_ledger`` block closes the ledger."""
    try:
        print_recorded(ledger.record(signed), as_json)
        warn_witnesses(ledger)
    except StorageError as exc:
        fail_storage(exc)
    except (LedgerError, VerifyError) as exc:
        fail(f"refused ({type(exc).__name__}): {exc}", 1)


def load_json(path: Path) -> Any:
    try:
        return parse_json(path.read_bytes())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", 2)
    except VerifyError as exc:
        fail(f"{path}: {exc}", 2)


def draft_statement(ledger: Ledger, key: KeyPair, draft: Any, path: Path) -> dict[str, Any]:
    """The statement ``key``'s principal signs for ``draft`` (not yet signed)."""
    if not isinstance(draft, dict) or not {"type", "stream", "body"} <= set(draft):
        fail(f"{path}: a draft needs 'type', 'stream' and 'body'", 2)
    if not isinstance(draft["body"], dict):
        fail(f"{path}: the draft's body must be a JSON object", 2)
    version = draft.get("expected_version", ledger.stream_version(str(draft["stream"])))
    return key.statement(
        ledger.origin, draft["stream"], draft["type"], draft["body"], version
    )


def approvals_for(
    home: Path | None,
    statement: dict[str, Any],
    keys: list[str] | None,
    files: list[Path] | None,
) -> dict[str, Any]:
    """``statement`` with ``body.approvals``: those in ``files``, then one by each
    key in ``keys``. A threshold type without any keeps an empty list, which the
    ledger refuses with the count it needs (unless the threshold is 1)."""
    found = list(statement["body"].get("approvals", []))
    for file in files or []:
        approval = load_json(file)
        if not isinstance(approval, dict):
            fail(f"{file}: an approval is a JSON object (from `pmm approve`)", 2)
        found.append(approval)
    if statement["type"] not in THRESHOLD_TYPES and not found and not keys:
        return statement
    draft = with_approvals(statement, [key_for(home, k) for k in keys or []])
    draft["body"]["approvals"] = found + draft["body"]["approvals"]
    return draft


def sign_draft(
    ledger: Ledger,
    home: Path | None,
    key: KeyPair,
    draft: Any,
    path: Path,
    approve: list[str] | None = None,
    approval: list[Path] | None = None,
) -> SignedStatement:
    """Sign ``draft`` with ``key``, approvals attached."""
    statement = approvals_for(
        home, draft_statement(ledger, key, draft, path), approve, approval
    )
    try:
        return key.sign(statement)
    except VerifyError as exc:
        fail(f"{path}: {exc}", 2)
