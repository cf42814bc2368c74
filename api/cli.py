"""The ``pmm`` command line (DESIGN.md §8).

Exit codes: 0 success, 1 the ledger refused the statement, 2 usage or input
error (missing home, unreadable file, bad key file). Every reporting command
takes ``--json``; human output is short and plain.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from api.cli_access import access_app, token
from api.cli_common import (
    As,
    Home,
    Json,
    err,
    fail,
    key_for,
    open_home,
    out,
    settings_for,
)
from api.cli_framework import framework_app
from api.cli_import import import_app
from api.cli_log import add_log_commands
from api.cli_scores import add_score_commands
from api.cli_serve import serve
from api.cli_witness import witness_app
from api.demo import STEPS, run_demo
from ledger.application import Ledger, Recorded
from ledger.errors import ConfigurationError, LedgerError
from ledger.files import write_private
from ledger.home import CONFIG_FILE, init_ledger, new_origin
from ledger.keys import KeyPair
from verify.canonical import parse_json
from verify.errors import VerifyError
from verify.statement import SignedStatement, parse_signed_statement

app = typer.Typer(
    help="PMM assessment ledger: signed, verifiable PMM data.",
    no_args_is_help=True,
    add_completion=False,
)
principal_app = typer.Typer(
    help="Register, rotate and revoke principals.", no_args_is_help=True
)
app.add_typer(principal_app, name="principal")
add_log_commands(app)
add_score_commands(app)
app.add_typer(witness_app, name="witness")
app.add_typer(framework_app, name="framework")
app.add_typer(import_app, name="import")
app.command("serve")(serve)
app.command("token")(token)
app.add_typer(access_app, name="access-log")
DEMO_MARKER = "demo.json"


def _print_recorded(recorded: Recorded, as_json: bool) -> None:
    """The receipt (c2sp.org/tlog-proof@v1) on stdout, verbatim, so it can be
    saved as a .tlog-proof file; a one-line summary on stderr."""
    if as_json:
        out.print_json(json.dumps(recorded.__dict__))
        return
    err.print(
        f"recorded {recorded.entry_type} as {recorded.stream} version "
        f"{recorded.stream_version}, log index {recorded.log_index}, entry sha256 "
        f"{recorded.entry_sha256}; receipt follows",
        highlight=False,
    )
    sys.stdout.write(recorded.receipt or "")


def _record(ledger: Ledger, signed: SignedStatement, as_json: bool) -> None:
    try:
        _print_recorded(ledger.record(signed), as_json)
    except (LedgerError, VerifyError) as exc:
        fail(f"refused ({type(exc).__name__}): {exc}", 1)
    finally:
        ledger.close()


def _load_json(path: Path) -> Any:
    try:
        return parse_json(path.read_bytes())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", 2)
    except VerifyError as exc:
        fail(f"{path}: {exc}", 2)


def _draft_signed(ledger: Ledger, key: KeyPair, draft: Any, path: Path) -> SignedStatement:
    """Sign a draft ``{"type", "stream", "body"[, "expected_version"]}``."""
    if not isinstance(draft, dict) or not {"type", "stream", "body"} <= set(draft):
        fail(f"{path}: a draft needs 'type', 'stream' and 'body'", 2)
    version = draft.get("expected_version", ledger.stream_version(str(draft["stream"])))
    statement = key.statement(
        ledger.origin, draft["stream"], draft["type"], draft["body"], version
    )
    try:
        return key.sign(statement)
    except VerifyError as exc:
        fail(f"{path}: {exc}", 2)


@app.command()
def init(
    home: Home = None,
    origin: Annotated[
        str | None,
        typer.Option(
            help="The log's origin line [default: a new pmm-ledger.invalid/<16 hex>]."
        ),
    ] = None,
    admin: Annotated[str, typer.Option(help="Genesis admin principal.")] = "admin",
    as_json: Json = False,
) -> None:
    """Create a new ledger: genesis admin key, log key, origin, genesis entry."""
    settings = settings_for(home)
    # Each ledger its own origin: two ledgers with one origin would make each
    # other's statements and checkpoints look valid (docs/decisions.md 18).
    origin = origin or new_origin()
    try:
        init_ledger(settings, origin, admin).close()
    except ConfigurationError as exc:
        fail(str(exc), 2)
    result = {
        "home": str(settings.home),
        "origin": origin,
        "admin": admin,
        "backend": settings.backend,
    }
    if as_json:
        out.print_json(json.dumps(result))
    else:
        out.print(
            f"new ledger {origin} in {settings.home} ({settings.backend}); "
            f"genesis admin key in {settings.home}/keys/{admin}.key",
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


def _public_key(value: str) -> str:
    path = Path(value)
    return KeyPair.load(path).public_key if path.exists() else value


def _registry_statement(
    home: Path | None, as_key: str, kind: str, body: dict[str, Any], as_json: bool
) -> None:
    ledger = open_home(home)
    key = key_for(home, as_key)
    statement = key.statement(
        ledger.origin, "registry", kind, body, ledger.stream_version("registry")
    )
    try:
        signed = key.sign(statement)
    except VerifyError as exc:
        ledger.close()
        fail(str(exc), 2)
    _record(ledger, signed, as_json)


@principal_app.command("add")
def principal_add(
    principal: str,
    as_key: As,
    role: Annotated[
        str, typer.Option(help="admin|secretariat|ncp|peer_reviewer|integrity_officer")
    ],
    public_key: Annotated[str, typer.Option(help="Key file or base64 public key.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    member: Annotated[str | None, typer.Option(help="ISO alpha-3, NCPs only.")] = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Register PRINCIPAL with a role (and Member, for an NCP)."""
    _registry_statement(
        home,
        as_key,
        "principal.registered",
        {
            "member": member,
            "name": name or principal,
            "principal": principal,
            "public_key": _public_key(public_key),
            "role": role,
        },
        as_json,
    )


@principal_app.command("rotate")
def principal_rotate(
    principal: str,
    as_key: As,
    public_key: Annotated[str, typer.Option(help="Key file or base64 public key.")],
    reason: Annotated[str, typer.Option()],
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Replace PRINCIPAL's key; the old key signs nothing from now on."""
    _registry_statement(
        home,
        as_key,
        "principal.key_rotated",
        {"principal": principal, "public_key": _public_key(public_key), "reason": reason},
        as_json,
    )


@principal_app.command("revoke")
def principal_revoke(
    principal: str,
    as_key: As,
    reason: Annotated[str, typer.Option()],
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Revoke PRINCIPAL: none of its keys sign anything from now on."""
    _registry_statement(
        home,
        as_key,
        "principal.revoked",
        {"principal": principal, "reason": reason},
        as_json,
    )


@principal_app.command("list")
def principal_list(home: Home = None, as_json: Json = False) -> None:
    """List registered principals."""
    ledger = open_home(home)
    registry = ledger.registry()
    ledger.close()
    rows = [p.__dict__ for p in (registry.principals.values() if registry else [])]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("principal", "role", "member", "status", "name")
    for row in rows:
        table.add_row(
            row["id"],
            row["role"],
            row["member"] or "",
            "revoked" if row["revoked"] else "active",
            row["name"],
        )
    out.print(table)


@app.command()
def sign(file: Path, as_key: As, home: Home = None) -> None:
    """Sign a draft statement FILE; print the signed statement (canonical JSON)."""
    ledger = open_home(home)
    try:
        signed = _draft_signed(ledger, key_for(home, as_key), _load_json(file), file)
    finally:
        ledger.close()
    sys.stdout.write(signed.to_bytes().decode("utf-8") + "\n")


@app.command()
def submit(
    file: Path,
    as_key: Annotated[str | None, typer.Option("--as")] = None,
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
        signed = _draft_signed(ledger, key_for(home, as_key), _load_json(file), file)
    _record(ledger, signed, as_json)


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
    # A progress bar on a terminal, quiet in pipes (DESIGN.md §8).
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
    app()
