"""The ``pmm`` command line (docs/design.md §8).

Exit codes: 0 success, 1 the ledger refused the statement, 2 usage or input
error (missing home, unreadable file, bad key file), 3 a storage fault (the
database down, locked, full or read-only: decision 34). Every reporting command
takes ``--json``; human output is short and plain.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from api.cli_access import access_app, token
from api.cli_backup import backup, receipt_app, restore
from api.cli_common import (
    STORAGE_EXIT,
    As,
    Home,
    Json,
    err,
    fail,
    key_for,
    open_home,
    out,
    settings_for,
    storage_message,
)
from api.cli_flags import flags_app
from api.cli_framework import framework_app
from api.cli_import import import_app
from api.cli_log import add_log_commands
from api.cli_log_key import log_key_app
from api.cli_principal import principal_app
from api.cli_report import report_app
from api.cli_scores import add_score_commands
from api.cli_serve import serve
from api.cli_statements import (
    Approval,
    Approve,
    draft_statement,
    load_json,
    record,
    sign_draft,
)
from api.cli_witness import witness_app
from api.demo import STEPS, run_demo
from ledger.errors import ConfigurationError, LedgerError
from ledger.files import write_private
from ledger.home import CONFIG_FILE, admin_names, init_ledger, new_origin
from ledger.keys import KeyPair
from ledger.storage_faults import REQUEST, storage_error
from verify.errors import VerifyError
from verify.formats.statement import parse_signed_statement

app = typer.Typer(
    help="PMM assessment ledger: signed, verifiable PMM data.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(principal_app, name="principal")
app.add_typer(log_key_app, name="log-key")
add_log_commands(app)
add_score_commands(app)
app.add_typer(witness_app, name="witness")
app.add_typer(framework_app, name="framework")
app.add_typer(import_app, name="import")
app.command("serve")(serve)
app.command("token")(token)
app.add_typer(access_app, name="access-log")
app.add_typer(flags_app, name="flags")
app.add_typer(report_app, name="report")
app.command("backup")(backup)
app.command("restore")(restore)
app.add_typer(receipt_app, name="receipt")
DEMO_MARKER = "demo.json"


@app.command()
def init(
    home: Home = None,
    origin: Annotated[
        str | None,
        typer.Option(
            help="The log's origin line [default: a new pmm-ledger.invalid/<16 hex>]."
        ),
    ] = None,
    admin: Annotated[str, typer.Option(help="The first genesis admin's id.")] = "admin",
    admins: Annotated[
        int, typer.Option(min=1, max=100, help="Genesis admins (ADMIN, ADMIN-2, ...).")
    ] = 3,
    threshold: Annotated[
        int,
        typer.Option(
            min=1, help="Admins who must agree to register, revoke or recover a principal."
        ),
    ] = 2,
    as_json: Json = False,
) -> None:
    """Create a new ledger: genesis admins' keys and threshold, the ledger's own
    key, the log key, the origin and the genesis entry."""
    settings = settings_for(home)
    # Each ledger its own origin: two ledgers with one origin would make each
    # other's statements and checkpoints look valid (docs/decisions.md 21).
    origin = origin or new_origin()
    try:
        init_ledger(settings, origin, admin, admins=admins, threshold=threshold).close()
    except ConfigurationError as exc:
        fail(str(exc), 2)
    names = admin_names(admin, admins)
    result = {
        "home": str(settings.home),
        "origin": origin,
        "admins": names,
        "threshold": threshold,
        "backend": settings.backend,
    }
    if as_json:
        out.print_json(json.dumps(result))
    else:
        out.print(
            f"new ledger {origin} in {settings.home} ({settings.backend}); "
            f"{threshold} of {admins} genesis admins ({', '.join(names)}) change the "
            f"registry; their keys are in {settings.home}/keys/",
            highlight=False,
        )


@app.command()
def keygen(name: str, out_file: Annotated[Path, typer.Option("--out")]) -> None:
    """Make an Ed25519 key pair for principal NAME (file readable by owner only)."""
    key = KeyPair.generate(name)
    try:
        key.save(out_file)
    except ConfigurationError as exc:
        fail(str(exc), 2)
    out.print(
        f"{out_file}: principal {name}, key id {key.key_id}\npublic key {key.public_key}",
        highlight=False,
    )


@app.command()
def sign(
    file: Path,
    as_key: As,
    approve: Approve = None,
    approval: Approval = None,
    home: Home = None,
) -> None:
    """Sign a draft statement FILE; print the signed statement (canonical JSON)."""
    ledger = open_home(home)
    try:
        key = key_for(home, as_key)
        signed = sign_draft(ledger, home, key, load_json(file), file, approve, approval)
    finally:
        ledger.close()
    sys.stdout.write(signed.to_bytes().decode("utf-8") + "\n")


@app.command()
def approve(file: Path, as_key: As, home: Home = None) -> None:
    """Approve a draft registry change FILE as another admin; print the approval.

    The draft must name its expected_version (pmm principal add|revoke|recover
    --draft prints one); the signer attaches approvals with --approval FILE."""
    ledger = open_home(home)
    try:
        draft = load_json(file)
        if not isinstance(draft, dict) or "expected_version" not in draft:
            fail(f"{file}: approve a draft that names its expected_version", 2)
        key = key_for(home, as_key)
        statement = draft_statement(ledger, key, draft, file)
    finally:
        ledger.close()
    out.print_json(json.dumps(key.approve(statement)))


@app.command()
def submit(
    file: Path,
    as_key: Annotated[str | None, typer.Option("--as")] = None,
    approve: Approve = None,
    approval: Approval = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Record FILE: a signed statement as is, or a draft signed with --as KEY."""
    ledger = open_home(home)
    try:
        raw = file.read_bytes().rstrip(b"\n")
    except OSError as exc:
        ledger.close()
        fail(f"cannot read {file}: {exc.strerror}", 2)
    if as_key is None:
        try:
            signed = parse_signed_statement(raw)
        except VerifyError as exc:
            ledger.close()
            fail(f"refused ({type(exc).__name__}): {exc}", 1)
    else:
        key = key_for(home, as_key)
        signed = sign_draft(ledger, home, key, load_json(file), file, approve, approval)
    record(ledger, signed, as_json)


@app.command()
def demo(home: Home = None, as_json: Json = False) -> None:
    """Build a realistic first PMM cycle in a fresh home and summarise it."""
    settings = settings_for(home)
    if (settings.home / CONFIG_FILE).exists():
        if not (settings.home / DEMO_MARKER).exists():
            fail(f"{settings.home} holds a ledger that is not a demo; pass --home", 2)
        if settings.database_url:
            fail("a demo already ran here; use an empty PostgreSQL schema", 2)
        shutil.rmtree(settings.home)
    # A progress bar on a terminal, quiet in pipes (docs/design.md §8).
    with Progress(console=err, disable=not err.is_terminal, transient=True) as bar:
        task = bar.add_task("demo", total=len(STEPS))

        def step(name: str) -> None:
            bar.update(task, description=name, completed=STEPS.index(name))

        try:
            summary = run_demo(settings, step=step)
        except (ConfigurationError, LedgerError, VerifyError) as exc:
            fail(f"{type(exc).__name__}: {exc}", 2)
    write_private(
        settings.home / DEMO_MARKER, (json.dumps(summary, indent=2) + "\n").encode()
    )
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(
        f"Demo ledger {summary['origin']} in {summary['home']} "
        f"({summary['backend']}): {summary['log_size']} entries, all signed.",
        highlight=False,
    )
    out.print(
        f"Framework: {summary['dimensions']} dimensions, "
        f"{summary['expected_outcomes']} expected outcomes, {summary['kpis']} KPIs; "
        f"{summary['principals']} principals for {summary['members']} Members.",
        highlight=False,
    )
    table = Table("entry type", "count")
    for kind, count in summary["entries"].items():
        table.add_row(kind, str(count))
    out.print(table)
    for refusal in summary["refused"]:
        out.print(f"refused, as it must be: {refusal}", highlight=False)


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
