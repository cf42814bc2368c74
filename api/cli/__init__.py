"""The ``pmm`` command line (docs/design.md §8): the command groups, put together.

Each group is a module-level ``typer.Typer`` in its own ``api/cli/*.py``; this
module only assembles them, takes ``pmm --home H`` before any command
(docs/decisions.md decision 47) and turns a driver's storage fault into one line.

Exit codes: 0 success, 1 the ledger refused the statement, 2 usage or input
error (missing home, unreadable file, bad key file), 3 a storage fault (the
database down, locked, full or read-only: decision 34). Every reporting command
takes ``--json``; human output is short and plain.
"""

from __future__ import annotations

import typer

from api.cli.access import access_app, token_app
from api.cli.backup import backup_app, receipt_app
from api.cli.common import STORAGE_EXIT, RootHome, err, storage_message, take_root_home
from api.cli.flags import flags_app
from api.cli.framework import framework_app
from api.cli.imports import import_app
from api.cli.log import log_app, prove_app
from api.cli.log_key import log_key_app
from api.cli.principal import principal_app
from api.cli.projections import projections_app
from api.cli.report import report_app
from api.cli.scores import scores_app
from api.cli.serve import serve_app
from api.cli.setup import setup_app
from api.cli.sign import sign_app
from api.cli.witness import witness_app
from ledger.storage_faults import REQUEST, storage_error

app = typer.Typer(
    help="PMM assessment ledger: signed, verifiable PMM data.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def root(ctx: typer.Context, home: RootHome = None) -> None:
    take_root_home(ctx, home)


# Groups without a name add their commands at the top: `pmm init`, `pmm sign`...
for commands in (
    setup_app,
    sign_app,
    log_app,
    serve_app,
    token_app,
    backup_app,
    scores_app,
):
    app.add_typer(commands)
app.add_typer(projections_app, name="projections")
app.add_typer(principal_app, name="principal")
app.add_typer(log_key_app, name="log-key")
app.add_typer(prove_app, name="prove")
app.add_typer(witness_app, name="witness")
app.add_typer(framework_app, name="framework")
app.add_typer(import_app, name="import")
app.add_typer(access_app, name="access-log")
app.add_typer(flags_app, name="flags")
app.add_typer(report_app, name="report")
app.add_typer(receipt_app, name="receipt")


def main() -> None:
    try:
        app()
    except Exception as exc:
        # A read that met a storage fault in the driver: one line, not a traceback.
        fault = storage_error(exc, REQUEST)
        if fault is None:
            raise
        err.print(f"[bold red]error:[/] {storage_message(fault)}", highlight=False)
        raise SystemExit(STORAGE_EXIT) from None
