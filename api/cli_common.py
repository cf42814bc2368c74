"""What every ``pmm`` command shares: consoles, options, failing, opening."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from ledger.application import Ledger
from ledger.errors import ConfigurationError
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


def key_for(home: Path | None, name: str) -> KeyPair:
    """The key file ``name`` (a path, or a key name in HOME/keys)."""
    try:
        return resolve_key(settings_for(home), name)
    except ConfigurationError as exc:
        fail(str(exc), 2)
