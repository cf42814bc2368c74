"""``pmm import databank CSV --as KEY --cycle C --year T``: external data → signed values.

Reads a World Bank DataBank long-format export (``intake.databank``) and
records its values for reference years T and T−1 in the assessments
``assessment/<MEMBER>/<C>`` (opened with reference year T where missing),
signed by KEY, a Secretariat principal, with the file's SHA-256 as source and
evidence. Reports what it recorded, what was already there, what was missing,
skipped and refused, and why (docs/import.md).

Exit codes: 0 every value that could be recorded was (values refused before
signing are reported, not failures); 1 the ledger refused a value (or the
signer); 2 usage or input error (wrong header, no framework...), nothing recorded.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from api.cli.common import As, Home, Json, err, fail, key_for, opened_ledger, out
from intake.databank import DataBankImport
from intake.databank_file import read_databank
from intake.databank_report import ImportReport
from intake.errors import IntakeError
from ledger.errors import LedgerError
from verify.errors import VerifyError
from verify.formats.schema import ASSESSMENT_STREAM_RE, MEMBER_RE, assessment_stream

import_app = typer.Typer(help="Values from external sources.", no_args_is_help=True)
SHOWN = 20  # refused rows listed in the human report (--json lists all)


def _members(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    codes = [c.strip().upper() for c in text.split(",") if c.strip()]
    wrong = [c for c in codes if not MEMBER_RE.fullmatch(c)]
    if wrong or not codes:
        fail(f"--members: {', '.join(wrong) or 'nothing'}: list ISO alpha-3 codes", 2)
    return frozenset(codes)


def report_json(report: ImportReport) -> dict[str, Any]:
    counts = report.counts
    return {
        "file": report.file,
        "sha256": report.sha256,
        "source": report.source,
        "signer": report.signer,
        "cycle": report.cycle,
        "reference_year": report.reference_year,
        "years": list(report.years),
        "rows": report.rows,
        "values": {
            k: counts[k]
            for k in ("submitted", "corrected", "unchanged", "missing", "refused")
        },
        "refused_by_reason": dict(Counter(r.reason for r in report.refused)),
        "skipped_columns": report.skipped,
        "not_selected_rows": counts["not_selected_rows"],
        "opened": report.opened,
        "streams": {s: dict(c) for s, c in report.streams.items()},
        "refused": [r.__dict__ for r in report.refused],
        "batches": report.batches,
        "seconds": round(report.seconds, 3),
        "log_size": report.log_size,
        "exit_code": report.exit_code,
    }


def _print_report(report: ImportReport) -> None:
    counts, years = report.counts, "-".join(map(str, sorted({*report.years})))
    recorded = counts["submitted"] + counts["corrected"]
    rate = recorded / report.seconds if report.seconds else 0.0
    lines = [
        f"{report.file}: sha256 {report.sha256}, {report.rows} rows; signed by "
        f"{report.signer}",
        f"source: {report.source}",
        f"cycle {report.cycle}, reference year {report.reference_year}: values for "
        f"{years} in {len(report.streams)} assessment(s), {len(report.opened)} opened",
        f"recorded {recorded} value(s) ({counts['submitted']} submitted, "
        f"{counts['corrected']} corrected) in {report.batches} batch(es), "
        f"{report.seconds:.1f} s ({rate:.0f} values/s); log size {report.log_size}",
        f"unchanged {counts['unchanged']}, missing (..) {counts['missing']}, "
        f"refused {counts['refused']}",
    ]
    lines += [
        f"skipped column {column}: {n} value(s) outside reference years {years}"
        for column, n in report.skipped.items()
    ]
    if counts["not_selected_rows"]:
        lines.append(f"not selected (--members): {counts['not_selected_rows']} row(s)")
    for text in lines:
        out.print(text, highlight=False, soft_wrap=True)
    if not report.refused:
        return
    by_reason = Counter(r.reason for r in report.refused)
    out.print(
        "refused by reason: " + ", ".join(f"{k} {n}" for k, n in by_reason.most_common()),
        highlight=False,
    )
    # One line per Member, reason and message: lines, series and years gathered.
    groups: dict[tuple[str, str, str], list[tuple[int, str, int | None]]] = {}
    for r in report.refused:
        groups.setdefault((r.member, r.reason, r.message), []).append(
            (r.line, r.series, r.year)
        )
    table = Table("line", "member", "series", "year", "reason", "why")
    for (member, reason, message), found in list(groups.items())[:SHOWN]:
        lines_of = sorted({line for line, _, _ in found})
        series = sorted({s for _, s, _ in found})
        table.add_row(
            str(lines_of[0]) if len(lines_of) == 1 else f"{lines_of[0]}-{lines_of[-1]}",
            member,
            series[0] if len(series) == 1 else f"{len(series)} series",
            ", ".join(sorted({str(y) for _, _, y in found if y is not None})),
            reason,
            message,
        )
    out.print(table)
    if len(groups) > SHOWN:
        out.print(f"… and {len(groups) - SHOWN} more; --json lists every refused value")


@import_app.command("databank")
def databank(
    csv_file: Annotated[Path, typer.Argument(metavar="CSV", help="DataBank export.")],
    as_key: As,
    cycle: Annotated[str, typer.Option(help="PMM cycle, e.g. 1.")],
    year: Annotated[
        int, typer.Option(help="Reference year T: values for T and T-1 are recorded.")
    ],
    members: Annotated[
        str | None, typer.Option(help="Only these Members, e.g. KEN,ZAF.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=5000, help="Values per transaction.")
    ] = 500,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Record a World Bank DataBank CSV's values as signed statements, signed --as KEY."""
    selected = _members(members)
    if not ASSESSMENT_STREAM_RE.fullmatch(assessment_stream("KEN", cycle)):
        fail(f"--cycle {cycle!r}: 1-16 letters, digits or '-'", 2)
    if not 1901 <= year <= 2200:
        fail(f"--year {year}: a reference year from 1901 to 2200", 2)
    try:
        data = read_databank(csv_file)
    except IntakeError as exc:
        fail(f"{exc}; nothing recorded", 2)
    with opened_ledger(home) as ledger:
        try:
            key = key_for(home, as_key)
            job = DataBankImport(ledger, key, data, cycle, year, selected, batch_size)
            # A progress bar on a terminal, quiet in pipes (docs/design.md §8).
            with Progress(console=err, disable=not err.is_terminal, transient=True) as bar:
                task = bar.add_task(f"importing {csv_file.name}", total=None)
                report = job.run(
                    lambda done, total: bar.update(task, completed=done, total=total)
                )
        except IntakeError as exc:
            fail(f"{exc}; nothing recorded", 2)
        except (LedgerError, VerifyError) as exc:
            fail(f"refused ({type(exc).__name__}): {exc}; nothing recorded", 1)
    if as_json:
        out.print_json(json.dumps(report_json(report)))
    else:
        _print_report(report)
    if report.exit_code:
        raise typer.Exit(report.exit_code)
