"""``pmm projections status|rebuild|verify``: the live scores view.

``verify`` checks the view against a replay of the log (docs/decisions.md 39):
exit 0 when every stored version matches, 1 when one differs, 2 when the check
cannot run.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import typer

from api.cli.common import Home, Json, fail, opened_ledger, out
from ledger.application import Ledger
from ledger.errors import LedgerError
from projections.errors import ProjectionError
from projections.log_reader import LogReader
from projections.runner import LiveScores
from projections.score_check import check_view

projections_app = typer.Typer(help="The live scores projection.", no_args_is_help=True)


@contextmanager
def _live(home: Path | None) -> Iterator[tuple[Ledger, LiveScores]]:
    """The home's ledger and its scores view for one block; a refusal is exit 2."""
    with opened_ledger(home) as ledger, closing(LiveScores(ledger)) as live:
        try:
            yield ledger, live
        except (ProjectionError, LedgerError) as exc:
            fail(str(exc), 2)


@projections_app.command("status")
def status(home: Home = None, as_json: Json = False) -> None:
    """Bring the projection up to date; print its watermark and the log size."""
    _projection(home, as_json, rebuild=False)


@projections_app.command("rebuild")
def rebuild(home: Home = None, as_json: Json = False) -> None:
    """Drop the projection and rebuild it from the whole log."""
    _projection(home, as_json, rebuild=True)


def _projection(home: Path | None, as_json: bool, rebuild: bool) -> None:
    with _live(home) as (ledger, live):
        size = live.rebuild() if rebuild else live.catch_up()
        log_size = ledger.log_size()
    if as_json:
        out.print_json(json.dumps({"watermark": size, "log_size": log_size}))
        return
    verb = "rebuilt" if rebuild else "up to date"
    out.print(f"scores projection {verb}: watermark {size} of {log_size} log entries")


@projections_app.command("verify")
def verify_view(home: Home = None, as_json: Json = False) -> None:
    """Check every stored score version against a replay of the log."""
    with _live(home) as (ledger, live):
        found = check_view(LogReader.of(ledger), live.view)
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
