"""What every ``pmm`` command shares: consoles, options, failing, opening."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from ledger.application import Ledger
from ledger.errors import ConfigurationError, StorageError
from ledger.home import open_ledger, resolve_key
from ledger.keys import KeyPair
from ledger.persistence import Settings

out = Console()
err = Console(stderr=True)

Home = Annotated[
    Path | None,
    typer.Option("--home", envvar="PMM_HOME", help="Home folder [default: ./pmm-home]"),
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
As = Annotated[str, typer.Option("--as", help="Key file, or a key name in HOME/keys.")]


# Exit code of a storage fault: the database down, locked, full or read-only
# (decision 34); 1 is a refusal by the ledger, 2 a usage or input error.
STORAGE_EXIT = 3


def fail(message: str, code: int) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def settings_for(home: Path | None) -> Settings:
    return Settings.from_env(home)


def open_home(home: Path | None, *, integrate: bool = True) -> Ledger:
    try:
        return open_ledger(settings_for(home), integrate=integrate)
    except ConfigurationError as exc:
        fail(str(exc), 2)
    except StorageError as exc:
        fail_storage(exc)


def storage_message(exc: StorageError) -> str:
    """One line for a storage fault, with the driver's words for the operator."""
    cause = f" ({exc.cause})" if exc.cause else ""
    return f"{type(exc).__name__}: {exc}{cause}"


def fail_storage(exc: StorageError) -> NoReturn:
    fail(storage_message(exc), STORAGE_EXIT)


def key_for(home: Path | None, name: str) -> KeyPair:
    """The key file ``name`` (a path, or a key name in HOME/keys)."""
    try:
        return resolve_key(settings_for(home), name)
    except ConfigurationError as exc:
        fail(str(exc), 2)
