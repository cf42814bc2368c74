"""``pmm flags``: the integrity officer's red flags, their handling, their thresholds.

``pmm flags --as KEY`` lists the flags the log raises now (docs/flags.md),
read as KEY's principal: integrity officers and the Secretariat only, and the
flags that name restricted entries go to the access log first.
``acknowledge`` and ``escalate`` record a signed ``integrity.flag_handled``
statement and print its receipt, as ``pmm submit`` does; ``thresholds apply``
records a thresholds file as ``integrity.thresholds_set``.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Column, Table

from api.cli.common import As, Home, Json, fail, key_for, opened_ledger, out
from api.cli.readers import As as ReadAs
from api.cli.readers import reader_for
from api.cli.statements import record
from api.flag_defaults import load_thresholds, packaged
from ledger.domain.integrity import INTEGRITY_STREAM
from ledger.errors import LedgerError
from projections.access import log_restricted_reads
from projections.errors import ProjectionError
from projections.flags import (
    HANDLED,
    THRESHOLDS_SET,
    Flag,
    FlagFilter,
    FlagReport,
    find_flag,
    handling_text,
    read_flags,
)
from verify.errors import VerifyError

flags_app = typer.Typer(
    help="Red flags: irregularities the log shows, for integrity officers.",
    invoke_without_command=True,
)
thresholds_app = typer.Typer(help="The red flags' thresholds.", no_args_is_help=True)
flags_app.add_typer(thresholds_app, name="thresholds")
Reason = Annotated[str, typer.Option("--reason", help="Why, in a sentence.")]


def flag_json(flag: Flag) -> dict[str, Any]:
    """A flag as JSON: what every output of a flag holds."""
    found = asdict(flag)
    found["entries"] = list(flag.entries)
    found["principals"] = list(flag.principals)
    found["reference_years"] = list(flag.reference_years)
    return found


def report_json(report: FlagReport) -> dict[str, Any]:
    return {**report.header(), "flags": [flag_json(f) for f in report.flags]}


@flags_app.callback()
def flags(
    ctx: typer.Context,
    member: Annotated[str | None, typer.Option(help="Only this Member's flags.")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule's flags.")] = None,
    status: Annotated[
        str | None, typer.Option(help="open, acknowledged or escalated.")
    ] = None,
    severity: Annotated[str | None, typer.Option(help="low, medium or high.")] = None,
    at_size: Annotated[
        int | None, typer.Option("--at-size", help="As the first N log entries raise them.")
    ] = None,
    as_key: ReadAs = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """List the red flags (integrity officers and the Secretariat: --as KEY)."""
    if ctx.invoked_subcommand is not None:
        return
    if as_key is None:
        fail(
            "the red flags are for integrity officers and the Secretariat: read them "
            "with --as KEY of such a principal",
            2,
        )
    with opened_ledger(home) as ledger:
        try:
            reader = reader_for(ledger, home, as_key)
            flt = FlagFilter(member, rule, status, severity)
            report = read_flags(ledger, reader, packaged(), flt, at_size)
            # Before anything is printed: a read that cannot be logged is not shown.
            asked: dict[str, object] = {"--member": member, "--rule": rule}
            asked |= {"--status": status, "--severity": severity}
            asked |= {"--at-size": at_size, "--as": as_key}
            given = [str(p) for pair in asked.items() if pair[1] is not None for p in pair]
            command = "pmm flags " + shlex.join(given)
            log_restricted_reads(
                ledger.access_log, reader, command, report.restricted_shown
            )
        except (ProjectionError, LedgerError) as exc:
            fail(str(exc), 2)
    if as_json:
        out.print_json(json.dumps(report_json(report)))
        return
    out.print(
        f"{len(report.flags)} flag(s) of {report.total} raised at log size {report.size}; "
        f"{report.thresholds.label}",
        highlight=False,
    )
    # The id in full (it is what acknowledge and escalate take), folded if it must be.
    # Member, KPI and years open each summary, so they need no columns of their own.
    table = Table(Column("flag", overflow="fold"), "severity")
    table.add_column("status", ratio=1)
    table.add_column("summary", ratio=2)
    for flag in report.flags:
        table.add_row(flag.id, flag.severity, handling_text(flag), flag.summary)
    out.print(table)


def _handle(
    flag_name: str,
    action: str,
    reason: str,
    key_name: str,
    home: Path | None,
    as_json: bool,
) -> None:
    """Sign and record an ``integrity.flag_handled`` for a flag raised now."""
    with opened_ledger(home) as ledger:
        try:
            flag = find_flag(ledger, packaged(), flag_name)
        except ProjectionError as exc:
            fail(str(exc), 2)
        key = key_for(home, key_name)
        body: dict[str, Any] = {"action": action, "flag": flag.id, "reason": reason}
        if flag.member is not None:
            body["member"] = flag.member
        try:
            statement = key.statement(
                ledger.origin,
                INTEGRITY_STREAM,
                HANDLED,
                body,
                ledger.stream_version(INTEGRITY_STREAM),
            )
            signed = key.sign(statement)
        except (VerifyError, LedgerError) as exc:
            fail(f"refused ({type(exc).__name__}): {exc}", 1)
        record(ledger, signed, as_json)


@flags_app.command("acknowledge")
def acknowledge(
    flag: str, reason: Reason, as_key: As, home: Home = None, as_json: Json = False
) -> None:
    """Record that FLAG was looked at and needs nothing more (signed, with a reason)."""
    _handle(flag, "acknowledged", reason, as_key, home, as_json)


@flags_app.command("escalate")
def escalate(
    flag: str, reason: Reason, as_key: As, home: Home = None, as_json: Json = False
) -> None:
    """Record that FLAG goes to the integrity committee (signed, with a reason)."""
    _handle(flag, "escalated", reason, as_key, home, as_json)


@thresholds_app.command("apply")
def apply(
    file: Path,
    as_key: As,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why.", show_default="the file's reason")
    ] = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Record the thresholds FILE in the ledger (integrity.thresholds_set)."""
    try:
        thresholds, file_reason = load_thresholds(file)
    except ProjectionError as exc:
        fail(str(exc), 2)
    why = reason or file_reason
    if not why:
        fail(f'{file}: give a reason (--reason, or reason = "..." in the file)', 2)
    with opened_ledger(home) as ledger:
        key = key_for(home, as_key)
        body = {
            "reason": why,
            "thresholds": thresholds.as_body(),
            "version": thresholds.version,
        }
        try:
            signed = key.sign(
                key.statement(
                    ledger.origin,
                    INTEGRITY_STREAM,
                    THRESHOLDS_SET,
                    body,
                    ledger.stream_version(INTEGRITY_STREAM),
                )
            )
        except (VerifyError, LedgerError) as exc:
            fail(f"refused ({type(exc).__name__}): {exc}", 1)
        record(ledger, signed, as_json)
