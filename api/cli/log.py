"""``pmm checkpoint`` and ``pmm prove``: the integrity log from the command line
(docs/design.md §8). Output is exact: a checkpoint note or a
``c2sp.org/tlog-proof@v1`` receipt verbatim, proof hashes one per line."""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import Home, Json, err, fail, opened_ledger
from api.cli.common import out as out_console
from ledger.errors import LedgerError
from ledger.export import export
from ledger.home import current_policy
from ledger.verify_status import status_of, write_status
from verify.__main__ import run as verify_run
from verify.check.verifier import VerifyResult
from verify.errors import VerifyError
from verify.formats.proofs import hash_lines
from verify.formats.statement import format_timestamp
from verify.formats.trust import TRUST_FILE

LIVE_LABEL = "the ledger's stored entries"


def _warn_damage(summary: dict[str, object]) -> None:
    """Say what the database lacked; the export holds it as missing, not hidden."""
    entries, tiles = summary["missing_entries"], summary["missing_tiles"]
    if entries:
        err.print(
            f"warning: the database lacks entries {entries} (exported as zero-length)",
            highlight=False,
        )
    if tiles:
        err.print(
            f"warning: the database lacks the subtree hashes of {tiles} (not exported)",
            highlight=False,
        )


log_app = typer.Typer()
prove_app = typer.Typer(help="Inclusion and consistency proofs.", no_args_is_help=True)


@log_app.command()
def checkpoint(home: Home = None) -> None:
    """Print the latest signed checkpoint note exactly."""
    with opened_ledger(home) as ledger:
        note = ledger.sequencer.checkpoint()
        policy = current_policy(ledger)
    sys.stdout.write(note)
    if policy is not None:
        try:
            policy.verify_checkpoint(note)
        except VerifyError as exc:
            # Reported, never hidden.
            err.print(
                f"warning: checkpoint below the witness quorum: {exc}", highlight=False
            )


@log_app.command("export")
def export_log(
    out: Annotated[Path, typer.Option("--out", help="A new, empty folder.")],
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Write the log as C2SP tlog-tiles, its checkpoint and a trust file."""
    with opened_ledger(home) as ledger:
        try:
            summary = export(ledger, out)
        except LedgerError as exc:
            fail(str(exc), 2)
    if as_json:
        out_console.print_json(json.dumps(summary))
    else:
        out_console.print(
            f"exported {summary['size']} entries ({summary['hash_tiles']} hash tiles) "
            f"to {out}; pin {out}/trust.json to verify",
            highlight=False,
        )
    _warn_damage(summary)


@log_app.command(
    "verify",
    help="Verify an export folder, or (without DIR) the live ledger: its stored events "
    "are exported as they are now and checked against the signed log, so a row edited "
    "or deleted behind the ledger's back is caught. Pin --trust with a trust.json kept "
    "apart from the server; the default is the ledger's own.",
)
def verify_log(
    directory: Annotated[Path | None, typer.Argument(help="An export folder.")] = None,
    trust: Annotated[Path | None, typer.Option(help="Pinned trust.json.")] = None,
    state: Annotated[Path | None, typer.Option(help="Verifier state file.")] = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    if directory is not None:
        pinned = trust or directory / TRUST_FILE
        raise typer.Exit(verify_run(directory, pinned, state, as_json=as_json))
    with tempfile.TemporaryDirectory(prefix="pmm-verify-") as scratch:
        folder = Path(scratch) / "log"
        with opened_ledger(home, integrate=False) as ledger:  # the tables as they are
            export(ledger, folder)
        pinned = trust or folder / TRUST_FILE
        state_file = state or ledger.settings.home / "verifier-state.json"
        # The scratch folder is named by what it holds, never by its path.
        home_folder = ledger.settings.home

        def keep(result: VerifyResult) -> None:
            # The overview page shows the last verdict (docs/pages.md).
            now = format_timestamp(datetime.now(UTC))
            write_status(home_folder, status_of(result, now))

        code = verify_run(
            folder,
            pinned,
            state_file,
            as_json=as_json,
            label=LIVE_LABEL,
            on_result=keep,
        )
    raise typer.Exit(code)


@prove_app.command("inclusion")
def inclusion(
    index: int,
    size: Annotated[
        int | None, typer.Option(help="Tree size.", show_default="latest")
    ] = None,
    home: Home = None,
) -> None:
    """Print a c2sp.org/tlog-proof@v1 receipt for entry INDEX."""
    with opened_ledger(home) as ledger:
        try:
            sys.stdout.write(ledger.receipt(index, size))
        except LedgerError as exc:
            fail(str(exc), 2)


@prove_app.command(
    "consistency",
    help="Print the RFC 9162 consistency proof from tree OLD to tree NEW, base64 hashes "
    "one per line, in RFC order.",
)
def consistency(old: int, new: int, home: Home = None) -> None:
    with opened_ledger(home) as ledger:
        try:
            proof = ledger.sequencer.consistency(old, new)
        except LedgerError as exc:
            fail(str(exc), 2)
    sys.stdout.write(hash_lines(proof))
