"""``pmm framework apply FILE --as KEY``: a framework file → signed definitions.

The file (docs/framework-file.md) is compared with the framework the ledger
holds; what is new becomes ``*.defined``, what changed ``*.revised`` (applying
from the stated reference year), all signed by KEY (a Secretariat principal)
and recorded in one batch: all or nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import As, Home, Json, err, fail, key_for, opened_ledger, out
from intake.errors import FrameworkFileError
from intake.framework_file import FrameworkFile, load_framework, plan
from ledger.application import Ledger, Recorded
from ledger.domain.framework import FRAMEWORK_STREAM
from ledger.errors import LedgerError
from ledger.keys import KeyPair
from projections.log_reader import LogReader
from verify.errors import VerifyError
from verify.scoring.scoreboard import Scoreboard

framework_app = typer.Typer(help="The KPI framework, as a file.", no_args_is_help=True)


def current_framework(ledger: Ledger) -> Scoreboard | None:
    """The framework the ledger holds now (None before ``framework.created``)."""
    if not ledger.stream_version(FRAMEWORK_STREAM):
        return None
    return LogReader.of(ledger).board([], ledger.log_size())


def apply_framework(ledger: Ledger, key: KeyPair, spec: FrameworkFile) -> list[Recorded]:
    """Sign and record what makes the ledger's framework match ``spec``."""
    version = ledger.stream_version(FRAMEWORK_STREAM)
    current = current_framework(ledger)
    statements = [
        key.sign(key.statement(ledger.origin, FRAMEWORK_STREAM, kind, body, version + i))
        for i, (kind, body) in enumerate(plan(spec, current))
    ]
    return ledger.record_batch(statements) if statements else []


@framework_app.command("apply")
def apply(
    file: Path,
    as_key: As,
    home: Home = None,
    as_json: Json = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the statements; record nothing.")
    ] = False,
) -> None:
    """Turn framework FILE into signed definition statements, signed --as KEY."""
    with opened_ledger(home) as ledger:
        try:
            spec = load_framework(file)
            key = key_for(home, as_key)
            if dry_run:
                board = current_framework(ledger)
                planned = [(kind, body.get("code", "")) for kind, body in plan(spec, board)]
                rows = [{"type": k, "code": c} for k, c in planned]
            else:
                recorded = apply_framework(ledger, key, spec)
                rows = [
                    {
                        "type": r.entry_type,
                        "stream_version": r.stream_version,
                        "log_index": r.log_index,
                    }
                    for r in recorded
                ]
        except FrameworkFileError as exc:
            fail(str(exc), 2)
        except (LedgerError, VerifyError) as exc:
            fail(f"refused ({type(exc).__name__}): {exc}", 1)
    if as_json:
        out.print_json(json.dumps({"dry_run": dry_run, "statements": rows}))
        return
    if not rows:
        err.print(f"nothing to apply: the ledger's framework matches {file}")
        return
    table = Table(*rows[0].keys())
    for row in rows:
        table.add_row(*map(str, row.values()))
    out.print(table)
    verb = "would record" if dry_run else "recorded"
    err.print(f"{verb} {len(rows)} definition statement(s) from {file}", highlight=False)
