"""``pmm checkpoint`` and ``pmm prove``: the integrity log from the command line
(DESIGN.md §8, issue 3 item 6). Output is exact: a checkpoint note or a
``c2sp.org/tlog-proof@v1`` receipt verbatim, proof hashes one per line."""

from __future__ import annotations

import base64
import sys
from typing import Annotated

import typer

from api.cli_common import Home, fail, open_home
from ledger.errors import LedgerError


def add_log_commands(app: typer.Typer) -> None:
    prove = typer.Typer(help="Inclusion and consistency proofs.", no_args_is_help=True)
    app.add_typer(prove, name="prove")

    @app.command()
    def checkpoint(home: Home = None) -> None:
        """Print the latest signed checkpoint note exactly."""
        ledger = open_home(home)
        try:
            sys.stdout.write(ledger.sequencer.checkpoint())
        finally:
            ledger.close()

    @prove.command("inclusion")
    def inclusion(
        index: int,
        size: Annotated[
            int | None, typer.Option(help="Tree size [default: latest]")
        ] = None,
        home: Home = None,
    ) -> None:
        """Print a c2sp.org/tlog-proof@v1 receipt for entry INDEX."""
        ledger = open_home(home)
        try:
            sys.stdout.write(ledger.receipt(index, size))
        except LedgerError as exc:
            fail(str(exc), 2)
        finally:
            ledger.close()

    @prove.command("consistency")
    def consistency(old: int, new: int, home: Home = None) -> None:
        """Print the RFC 9162 consistency proof from tree OLD to tree NEW, base64
        hashes one per line, in RFC order."""
        ledger = open_home(home)
        try:
            proof = ledger.sequencer.consistency(old, new)
        except LedgerError as exc:
            fail(str(exc), 2)
        finally:
            ledger.close()
        sys.stdout.write("".join(base64.b64encode(h).decode() + "\n" for h in proof))
