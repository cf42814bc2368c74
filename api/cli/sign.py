"""``pmm sign``, ``pmm approve`` and ``pmm submit``: drafts signed, approved, recorded.

What these and the registry commands share is in ``api/cli/statements.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import As, Home, Json, fail, key_for, opened_ledger, out
from api.cli.statements import (
    Approval,
    Approve,
    draft_statement,
    load_json,
    record,
    sign_draft,
)
from verify.errors import VerifyError
from verify.formats.statement import parse_signed_statement

sign_app = typer.Typer()


@sign_app.command()
def sign(
    file: Path,
    as_key: As,
    approve: Approve = None,
    approval: Approval = None,
    home: Home = None,
) -> None:
    """Sign a draft statement FILE; print the signed statement (canonical JSON)."""
    with opened_ledger(home) as ledger:
        key = key_for(home, as_key)
        signed = sign_draft(ledger, home, key, load_json(file), file, approve, approval)
    sys.stdout.write(signed.to_bytes().decode("utf-8") + "\n")


@sign_app.command(
    help="Approve a draft registry change FILE as another admin; print the approval."
    "\n\n"
    "The draft must name its expected_version (pmm principal add|revoke|recover --draft "
    "prints one); the signer attaches approvals with --approval FILE."
)
def approve(file: Path, as_key: As, home: Home = None) -> None:
    with opened_ledger(home) as ledger:
        draft = load_json(file)
        if not isinstance(draft, dict) or "expected_version" not in draft:
            fail(f"{file}: approve a draft that names its expected_version", 2)
        key = key_for(home, as_key)
        statement = draft_statement(ledger, key, draft, file)
    out.print_json(json.dumps(key.approve(statement)))


@sign_app.command()
def submit(
    file: Path,
    as_key: Annotated[str | None, typer.Option("--as")] = None,
    approve: Approve = None,
    approval: Approval = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Record FILE: a signed statement as is, or a draft signed with --as KEY."""
    with opened_ledger(home) as ledger:
        try:
            raw = file.read_bytes().rstrip(b"\n")
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror}", 2)
        if as_key is None:
            try:
                signed = parse_signed_statement(raw)
            except VerifyError as exc:
                fail(f"refused ({type(exc).__name__}): {exc}", 1)
        else:
            key = key_for(home, as_key)
            signed = sign_draft(ledger, home, key, load_json(file), file, approve, approval)
        record(ledger, signed, as_json)
