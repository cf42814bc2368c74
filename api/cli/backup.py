"""``pmm backup``, ``pmm restore`` and ``pmm receipt check`` (docs/backup.md).

Exit codes as everywhere (api/cli/__init__.py): 0 done, 1 refused (a backup that is
corrupted, of another ledger, or would overwrite one; a receipt that shows a
rollback or a fork), 2 usage or configuration (missing tools, keys, home).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import Home, Json, fail, opened_ledger, out, settings_for
from ledger.application import Ledger
from ledger.backup import make_backup
from ledger.errors import BackupError, ConfigurationError
from ledger.home import read_policy
from ledger.receipt_check import HttpSource, LedgerSource, LogSource, Trust, check_receipt
from ledger.restore import restore_backup
from verify.errors import InputError
from verify.formats.note_keys import Ed25519Verifier
from verify.formats.policy_text import parse_policy
from verify.formats.trust import load_trust

backup_app = typer.Typer()
receipt_app = typer.Typer(help="Check a receipt against the ledger.", no_args_is_help=True)


@backup_app.command(
    help="Write a consistent backup of the ledger (database, ledger.json, witness "
    "policy; never the keys) to a new 0600 file."
)
def backup(
    out_file: Annotated[Path, typer.Option("--out", help="The backup file (new).")],
    home: Home = None,
    as_json: Json = False,
) -> None:
    try:
        manifest = make_backup(settings_for(home), out_file)
    except BackupError as exc:
        fail(str(exc), 1)
    except ConfigurationError as exc:
        fail(str(exc), 2)
    summary = {
        "file": str(out_file),
        "origin": manifest.origin,
        "backend": manifest.backend,
        "log_size": manifest.log_size,
        "payload_sha256": manifest.payload_sha256,
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(
        f"backed up {manifest.origin} ({manifest.backend}, log size "
        f"{manifest.log_size}) to {out_file}; keys are not in it: keep "
        "HOME/keys backed up apart",
        highlight=False,
    )


@backup_app.command(
    help="Restore a backup FILE into the home (an empty one, or with --force). Stop "
    "`pmm serve` and every writer first; run `pmm verify` after."
)
def restore(
    file: Path,
    home: Home = None,
    force: Annotated[
        bool, typer.Option(help="Replace a ledger that is not empty (kept aside).")
    ] = False,
    keys: Annotated[
        Path | None, typer.Option(help="A folder of the ledger's key files to copy in.")
    ] = None,
    as_json: Json = False,
) -> None:
    try:
        done = restore_backup(settings_for(home), file, force=force, keys=keys)
    except BackupError as exc:
        fail(f"refused: {exc}", 1)
    except ConfigurationError as exc:
        fail(str(exc), 2)
    summary = {
        "origin": done.manifest.origin,
        "backend": done.manifest.backend,
        "log_size": done.manifest.log_size,
        "backed_up_at": done.manifest.created_at,
        "replaced": done.replaced,
        "home_written": list(done.home_written),
        "keys_copied": list(done.keys_copied),
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    kept = f"; the ledger it replaced is kept as {done.replaced}" if done.replaced else ""
    out.print(
        f"restored {done.manifest.origin} at log size {done.manifest.log_size} "
        f"(backed up {done.manifest.created_at}){kept}. Run `pmm verify`.",
        highlight=False,
    )
    out.print(
        "If this backup is older than the ledger's last checkpoint, witnesses, verifier "
        "state files and receipts will report a rollback (docs/backup.md).",
        highlight=False,
    )


@receipt_app.command(
    "check",
    help="Verify RECEIPT offline, then ask the ledger for a consistency proof from its "
    "checkpoint to the latest one: exit 1 on a rollback or a fork.",
)
def check(
    receipt: Annotated[Path, typer.Argument(help="A receipt (.tlog-proof) to check.")],
    trust: Annotated[
        Path | None, typer.Option(help="Pinned trust.json.", show_default="the home's keys")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Ask a served ledger (pmm serve) at this URL.")
    ] = None,
    entry: Annotated[
        Path | None, typer.Option(help="The entry's bytes, to check inclusion offline.")
    ] = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    try:
        text = receipt.read_bytes()
        entry_bytes = entry.read_bytes() if entry is not None else None
    except OSError as exc:
        fail(f"cannot read {exc.filename}: {exc.strerror}", 2)
    pinned = _pinned(trust)
    if url is not None:
        if pinned is None:
            fail("--url needs --trust: pin the ledger's trust.json", 2)
        result = check_receipt(text, pinned, HttpSource(url, entry_bytes))
    else:
        with opened_ledger(home) as ledger:
            source: LogSource = LedgerSource(ledger)
            result = check_receipt(text, pinned or _home_trust(ledger), source)
    if as_json:
        out.print_json(json.dumps({**result.__dict__, "ok": result.ok}))
    else:
        out.print(result.message, highlight=False)
        if result.quorum:
            out.print(f"the receipt's witness quorum: {result.quorum}", highlight=False)
    raise typer.Exit(0 if result.ok else 1)


def _pinned(path: Path | None) -> Trust | None:
    if path is None:
        return None
    try:
        roots = load_trust(path)
    except InputError as exc:
        fail(str(exc), 2)
    return Trust(roots.origin, roots.log, roots.policy)


def _home_trust(ledger: Ledger) -> Trust:
    vkey = ledger.log_vkey()
    policy = read_policy(ledger.settings) or parse_policy(f"log {vkey}\nquorum none\n")
    return Trust(ledger.origin, Ed25519Verifier.from_vkey(vkey), policy)
