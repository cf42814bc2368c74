"""``pmm init``, ``pmm keygen`` and ``pmm demo``: a new ledger, a key, a demo cycle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from api.cli.common import Home, Json, err, fail, out, settings_for
from api.demo import STEPS, run_demo
from ledger.errors import ConfigurationError, LedgerError
from ledger.files import write_private
from ledger.home import CONFIG_FILE, admin_names, init_ledger, new_origin
from ledger.keys import KeyPair
from verify.errors import VerifyError

setup_app = typer.Typer()
DEMO_MARKER = "demo.json"


@setup_app.command(
    help="Create a new ledger: genesis admins' keys and threshold, the ledger's own key, "
    "the log key, the origin and the genesis entry."
)
def init(
    home: Home = None,
    origin: Annotated[
        str | None,
        typer.Option(
            help="The log's origin line.",
            show_default="a new pmm-ledger.invalid/<16 hex>",
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


@setup_app.command()
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


@setup_app.command()
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
