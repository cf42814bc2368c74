"""``pmm report`` and ``pmm report verify``: the signed audit report (docs/report.md).

``pmm report --member M --year T --as KEY`` reads the assessment as KEY's
principal (an integrity officer or the Secretariat: the report shows every
value, and the read is in the access log), writes an HTML and a PDF file and
records their SHA-256 in the log as ``report.issued``, signed by KEY.
``pmm report verify FILE`` hashes a copy and proves, with an inclusion proof
against the latest checkpoint, that the log records that digest: exit 0 when
it does, 1 when it does not.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import Home, Json, err, fail, key_for, opened_ledger, out
from api.cli.readers import reader_for
from api.flag_defaults import packaged
from api.report import check_copy, issue, render_html
from api.report_charts import report_charts
from ledger.errors import LedgerError
from projections.errors import ProjectionError
from projections.report import build_report
from verify.errors import VerifyError

report_app = typer.Typer(
    help="Signed audit reports: write one (pmm report --member M --year T --as KEY), "
    "or check a copy against the log (pmm report verify FILE).",
    invoke_without_command=True,
)
Trust = Annotated[
    Path | None,
    typer.Option(
        help="Pinned trust.json to verify against.", show_default="the ledger's own"
    ),
]


@report_app.callback(
    help="Write the audit report of MEMBER's year-T assessment (HTML and PDF) and record "
    "its digests in the log, signed with --as KEY."
)
def write(
    ctx: typer.Context,
    member: Annotated[str | None, typer.Option(help="Member code, e.g. KEN.")] = None,
    year: Annotated[int | None, typer.Option(help="Reference year T.")] = None,
    as_key: Annotated[
        str | None, typer.Option("--as", help="Key file, or a key name in HOME/keys.")
    ] = None,
    cycle: Annotated[str | None, typer.Option(help="Cycle, when T has several.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Record time, RFC 3339.")] = None,
    at_size: Annotated[int | None, typer.Option(help="Record time as a log size.")] = None,
    published: Annotated[
        str | None, typer.Option(help="As published: CYCLE or CYCLE@N.")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the files.")] = Path(
        "."
    ),
    trust: Trust = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if member is None or year is None or as_key is None:
        fail("pmm report needs --member, --year and --as KEY (or: pmm report verify F)", 2)
    with opened_ledger(home) as ledger:
        try:
            key = key_for(home, as_key)
            reader = reader_for(ledger, home, as_key)
            report = build_report(
                ledger,
                reader,
                member,
                year,
                cycle=cycle,
                as_of=as_of,
                at_size=at_size,
                published=published,
                packaged=packaged(),
                trust=trust,
            )
            charts = report_charts(ledger, reader, report)
            html = render_html(report, ledger.origin, charts)
            issued = issue(ledger, key, report, out_dir, html)
        except (LedgerError, ProjectionError, VerifyError) as exc:
            fail(f"refused ({type(exc).__name__}): {exc}", 1)
    summary = {
        "html": str(issued.html),
        "pdf": str(issued.pdf),
        "html_sha256": issued.html_sha256,
        "pdf_sha256": issued.pdf_sha256,
        "log_index": issued.recorded.log_index,
        "verified": report.verification.verified,
        "cut": report.cut,
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    verdict = "verified" if report.verification.verified else "VERIFICATION FAILED"
    out.print(
        f"{issued.pdf} and {issued.html}: {report.title}, {report.label} "
        f"(log size {report.cut}); the log {verdict} at size {report.verification.size}.\n"
        f"Recorded as report.issued at log index {issued.recorded.log_index}: "
        f"PDF sha256 {issued.pdf_sha256}, HTML sha256 {issued.html_sha256}.",
        highlight=False,
    )


@report_app.command(
    "verify",
    help="Check that the log records FILE's SHA-256 as an issued report, and prove that "
    "entry's inclusion against the latest checkpoint.",
)
def verify_copy(
    file: Annotated[Path, typer.Argument(help="A report file, HTML or PDF.")],
    trust: Trust = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    if not file.is_file():
        fail(f"{file}: no such file", 2)
    with opened_ledger(home) as ledger:
        try:
            found = check_copy(ledger, file, trust)
        except VerifyError as exc:
            fail(f"cannot check {file}: {exc}", 2)
    ok = found.found and found.problem is None
    if as_json:
        out.print_json(json.dumps(asdict(found)))
    elif ok and found.body is not None:
        out.print(
            f"{file}: recorded. sha256 {found.sha256} is {found.body['title']!r}, read at "
            f"log size {found.body['cut']}, issued by {found.principal} ({found.role}) at "
            f"{found.recorded_at} (log index {found.log_index}); its inclusion is proven "
            f"against the checkpoint of size {found.proven_at_size}.",
            highlight=False,
        )
    else:
        err.print(f"{file}: NOT a recorded report: {found.problem}", highlight=False)
    raise typer.Exit(0 if ok else 1)
