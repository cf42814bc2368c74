"""``pmm projections verify``: the scores view against a replay of the log
(docs/decisions.md 39). Exit 0 when every stored version matches, 1 when one
differs, 2 when the check cannot run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer

from api.cli_common import fail, open_home, out
from ledger.errors import LedgerError
from projections.errors import ProjectionError
from projections.log_reader import LogReader
from projections.runner import LiveScores
from projections.score_check import check_view


def verify_view(home: Path | None, as_json: bool) -> None:
    ledger = open_home(home)
    live = LiveScores(ledger)
    try:
        found = check_view(LogReader.of(ledger), live.view)
    except (ProjectionError, LedgerError) as exc:
        fail(str(exc), 2)
    finally:
        live.close()
        ledger.close()
    if as_json:
        out.print_json(json.dumps(dataclasses.asdict(found) | {"matches": found.matches}))
    elif found.matches:
        out.print(
            f"scores view matches the log at watermark {found.watermark}: "
            f"{found.versions} score versions, {found.publications} publications, "
            f"{found.levels} value levels"
        )
    else:
        out.print(
            f"scores view DIFFERS from the log at watermark {found.watermark}: "
            f"{found.count} difference(s); reads from it cannot be trusted until "
            "`pmm projections rebuild` (and an integrity officer has looked)"
        )
        for line in found.differences:
            out.print(f"  {line}", markup=False)
    if not found.matches:
        raise typer.Exit(1)
