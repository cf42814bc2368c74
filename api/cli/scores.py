"""``pmm scores``, ``pmm diff`` and ``pmm history``: the three questions of
docs/design.md §2 — as published then, as corrected now, what changed in between.

Every command reads as a principal (``--as KEY``) or anonymously, and shows
what that reader may see (``api/cli/readers.py``, decision 26): ``--audience``
only narrows it. A read that shows restricted values is in the access log.
Each prints a table or ``--json``, and writes ``--out FILE`` as CSV, Parquet
or Excel by the file's suffix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from api.cli.common import Home, Json, err, fail, opened_ledger, out
from api.cli.readers import As, Audience, audience_of, log_cli_read, reader_for
from ledger.errors import LedgerError
from projections.errors import ProjectionError
from projections.exports import restricted_names, write
from projections.score_query import When, read_diff, read_history, read_scores

Member = Annotated[str, typer.Option("--member", help="Member code, e.g. KEN.")]
Year = Annotated[int, typer.Option("--year", help="Reference year T.")]
Cycle = Annotated[str | None, typer.Option("--cycle", help="The assessment's cycle.")]
Out = Annotated[
    Path | None, typer.Option("--out", help="Also write FILE (.csv, .parquet, .xlsx).")
]


# What fits a terminal; --json and --out carry every column.
SCORE_COLUMNS = ("level", "code", "score", "status", "grade", "method", "method_version")
HISTORY_COLUMNS = (
    *("log_index", "recorded_at", "entry_type", "principal", "kpi", "reference_year"),
    *("value", "disclosure", "supersedes"),
)


def _short(cell: Any) -> Any:
    """A recorded value as a person reads it: 16.4, 3/4, yes, B, not_applicable."""
    if not isinstance(cell, str) or not cell.startswith("{"):
        return cell
    data = json.loads(cell)
    if "status" not in data:
        return cell
    value = data.get("value")
    if data["status"] != "value" or not isinstance(value, dict):
        return data["status"]
    if "numerator" in value:
        return f"{value['numerator']}/{value['denominator']}"
    if "answer" in value:
        return "yes" if value["answer"] else "no"
    return str(next(iter(value.values())))[:40]


def _diff_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """One line per change: what, subject, old -> new, who and why, or caused by."""
    if frame.empty:
        return frame
    lines = pd.DataFrame(
        {
            "what": frame["what"],
            "log index": frame.get("log_index", pd.Series(dtype=float)).astype("Int64"),
            "subject": frame.get("subject", pd.Series(dtype=str)).fillna(
                frame.get("level", "") + " " + frame.get("code", "")
            ),
            "old": frame["old"].map(_short),
            "new": frame["new"].map(_short),
            "by / caused by": frame.get("principal", pd.Series(dtype=str)).fillna(
                frame.get("caused_by", "")
                + frame.get("restated_by", pd.Series(dtype=float)).map(
                    lambda i: "" if pd.isna(i) else f" (restated by T-1 entry {int(i)})"
                )
            ),
            "reason": frame.get("reason"),
        }
    )
    return lines


def _emit(
    frame: pd.DataFrame,
    title: str,
    as_json: bool,
    out_file: Path | None,
    shown: pd.DataFrame | None = None,
) -> None:
    if out_file is not None:
        write(frame, out_file)
        err.print(f"wrote {len(frame)} rows to {out_file}", highlight=False)
    if as_json:
        records = json.loads(frame.to_json(orient="records"))
        out.print_json(json.dumps({"title": title, "rows": records}))
        return
    err.print(title, highlight=False)
    shown = frame if shown is None else shown
    table = Table(*map(str, shown.columns))
    for row in shown.itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else str(v) for v in row))
    out.print(table)


def _withheld(hidden: int) -> str:
    """What a title says of the rows the audience may not see (none: nothing)."""
    return f", {hidden} rows withheld by disclosure" if hidden else ""


def _run(
    home: Path | None, as_key: str | None, member: str, requested: str | None, work: Any
) -> tuple[pd.DataFrame, str]:
    """Read as ``--as``'s principal at ``--audience``; log what it shows at
    restricted."""
    with opened_ledger(home) as ledger:
        try:
            reader = reader_for(ledger, home, as_key)
            audience = audience_of(reader, member, requested)
            frame, title = work(ledger, audience)
            if not reader.anonymous:
                log_cli_read(ledger, reader, member, restricted_names(frame))
            return frame, title
        except (ProjectionError, LedgerError) as exc:
            fail(str(exc), 2)


# No name: `pmm scores`, `pmm diff` and `pmm history` are top-level commands.
scores_app = typer.Typer()


@scores_app.command()
def scores(
    member: Member,
    year: Year,
    cycle: Cycle = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As recorded at TIME (RFC 3339/date).")
    ] = None,
    at_size: Annotated[
        int | None, typer.Option("--at-size", help="As the first N log entries give.")
    ] = None,
    published: Annotated[
        str | None,
        typer.Option("--published", help="As published: CYCLE (latest) or CYCLE@N."),
    ] = None,
    as_key: As = None,
    audience: Audience = None,
    out_file: Out = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Scores of MEMBER for reference YEAR, now or at any record time."""

    def work(ledger: Any, audience: str) -> tuple[pd.DataFrame, str]:
        when = When(cycle, as_of, at_size, published)
        read = read_scores(ledger, member, year, when, audience, live=True)
        found, frame, hidden = read.found, read.frame(), read.withheld
        title = (
            f"{found.table.stream}, reference year {year}, {found.position.label} "
            f"(log size {found.position.size}"
            + (
                f", last entry recorded {found.position.recorded_at}"
                if found.position.recorded_at
                else ""
            )
            + f"); audience {audience}{_withheld(hidden)}"
        )
        return frame, title

    frame, title = _run(home, as_key, member, audience, work)
    _emit(frame, title, as_json, out_file, frame[list(SCORE_COLUMNS)])


@scores_app.command()
def diff(
    member: Member,
    year: Year,
    start: Annotated[
        str, typer.Option("--from", help="Record time R1 (RFC 3339, date or size:N).")
    ],
    end: Annotated[
        str | None, typer.Option("--to", help="Record time R2 [default: now].")
    ] = None,
    cycle: Cycle = None,
    as_key: As = None,
    audience: Audience = None,
    out_file: Out = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """What changed in MEMBER's YEAR between two record times: by whom, why."""

    def work(ledger: Any, audience: str) -> tuple[pd.DataFrame, str]:
        read = read_diff(ledger, member, year, start, end, cycle, audience)
        found, frame = read.found, read.frame
        title = (
            f"{found.stream}, reference year {year}: {found.start.label} (size "
            f"{found.start.size}) to {found.end.label} (size {found.end.size}); "
            f"{len(found.changes)} entries, {len(found.score_changes)} scores moved; "
            f"audience {audience}"
        )
        return frame, title

    frame, title = _run(home, as_key, member, audience, work)
    _emit(frame, title, as_json, out_file, _diff_rows(frame))


@scores_app.command()
def history(
    member: Member,
    year: Year,
    cycle: Cycle = None,
    as_key: As = None,
    audience: Audience = None,
    out_file: Out = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Every value recorded in MEMBER's assessment, superseded ones included."""

    def work(ledger: Any, audience: str) -> tuple[pd.DataFrame, str]:
        frame, hidden = read_history(ledger, member, year, cycle, audience)
        title = f"value history of {member} for {year}; audience {audience}"
        return frame, title + _withheld(hidden)

    frame, title = _run(home, as_key, member, audience, work)
    shown = frame[list(HISTORY_COLUMNS)] if not frame.empty else frame
    _emit(frame, title, as_json, out_file, shown)
