"""``pmm token`` (a bearer token for the HTTP API) and ``pmm access-log``."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import (
    As,
    Home,
    Json,
    err,
    fail,
    key_for,
    opened_ledger,
    out,
    settings_for,
)
from api.cli.statements import print_recorded
from ledger.errors import ConfigurationError, LedgerError
from ledger.home import read_config
from ledger.tokens import DEFAULT_LIFETIME, MAX_LIFETIME, issue_token

token_app = typer.Typer()
access_app = typer.Typer(
    help="The access log: every read of a restricted value.", no_args_is_help=True
)
LIFETIME = re.compile(r"([1-9][0-9]*)([smh])")


def _lifetime(text: str) -> timedelta:
    found = LIFETIME.fullmatch(text)
    if found is None:
        fail(f"--ttl {text!r}: write a number and s, m or h, e.g. 15m", 2)
    unit = {"s": "seconds", "m": "minutes", "h": "hours"}[found[2]]
    return timedelta(**{unit: int(found[1])})


@token_app.command(
    help="Print a bearer token for the HTTP API, signed by KEY's principal."
    "\n\n"
    "Use it as 'Authorization: Bearer <token>'. The server checks it against the "
    "principal registry on every request: rotating the key or revoking the principal "
    "stops it at once."
)
def token(
    key: As,
    ttl: Annotated[
        str,
        typer.Option("--ttl", help=f"Lifetime, e.g. 15m or 2h (at most {MAX_LIFETIME})."),
    ] = f"{int(DEFAULT_LIFETIME.total_seconds()) // 60}m",
    home: Home = None,
) -> None:
    pair = key_for(home, key)
    try:
        origin = read_config(settings_for(home)).origin
        print(issue_token(pair, origin, _lifetime(ttl)))
    except (ConfigurationError, LedgerError) as exc:
        fail(str(exc), 2)


@access_app.command("show")
def show(
    principal: Annotated[str | None, typer.Option(help="Only this principal.")] = None,
    member: Annotated[str | None, typer.Option(help="Only reads of this Member.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time (RFC 3339).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time.")] = None,
    cursor: Annotated[int, typer.Option(help="Start at this seq.")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many records.")] = 100,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Access records, oldest first, with their hash chain."""
    with opened_ledger(home) as ledger:
        page = ledger.access_log.query(
            principal=principal,
            member=member,
            since=since,
            until=until,
            cursor=cursor,
            limit=limit,
        )
    if as_json:
        out.print_json(
            json.dumps({"records": page.records, "next_cursor": page.next_cursor})
        )
        return
    table = Table("seq", "recorded at", "principal", "role", "member", "request", "shown")
    for r in page.records:
        shown = ", ".join(r["shown"][:3]) + (" …" if len(r["shown"]) > 3 else "")
        table.add_row(
            str(r["seq"]),
            r["recorded_at"],
            r["principal"],
            r["role"],
            r["member"] or "",
            r["request"],
            shown,
        )
    out.print(table)
    if page.next_cursor is not None:
        err.print(f"more: --cursor {page.next_cursor}")


@access_app.command(
    "seal",
    help="Seal the access log's head into the integrity log now (every write seals it "
    "too when restricted reads came before); print the seal's receipt.",
)
def seal(home: Home = None, as_json: Json = False) -> None:
    with opened_ledger(home) as ledger:
        try:
            recorded = ledger.seal_access_log()
        except LedgerError as exc:
            fail(f"refused ({type(exc).__name__}): {exc}", 1)
    if recorded is None:
        out.print("nothing to seal: the last seal names the access log's head")
    else:
        print_recorded(recorded, as_json)


@access_app.command(
    "verify",
    help="Walk the hash chain and hold it to every seal in the integrity log; exit 1 at "
    "the first record that breaks it, or the first seal it contradicts.",
)
def verify(home: Home = None, as_json: Json = False) -> None:
    with opened_ledger(home) as ledger:
        result = ledger.access_log.check()
    if as_json:
        out.print_json(json.dumps(result.as_json()))
    elif result.ok:
        out.print(
            f"access log verified: {result.size} records, head {result.head}; "
            f"consistent with {result.seals} seal(s) in the integrity log"
        )
    else:
        err.print(
            f"[bold red]access log broken at record {result.broken_at}:[/] "
            f"{result.problem}",
            highlight=False,
        )
    if not result.ok:
        raise typer.Exit(1)
