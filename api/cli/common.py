"""What every ``pmm`` command shares: consoles, options, failing, opening."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from ledger.application import Ledger
from ledger.errors import ConfigurationError, StorageError
from ledger.home import open_ledger, resolve_key
from ledger.keys import KeyPair
from ledger.persistence import HOME_VAR, Settings

out = Console()
err = Console(stderr=True)

# Where the home is taken, and which wins (docs/decisions.md decision 47): the
# command's own --home, then `pmm --home`, then PMM_HOME, then ./pmm-home. So the
# command's option has no envvar of its own: PMM_HOME would otherwise beat an
# explicit `pmm --home`.
HOME_DEFAULT = "./pmm-home"
Home = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help=f"Home folder; wins over `pmm --home` and {HOME_VAR}.",
        show_default=HOME_DEFAULT,
    ),
]
RootHome = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar=HOME_VAR,
        help="Home folder of every command; a command's own --home wins over it.",
        show_default=HOME_DEFAULT,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
As = Annotated[str, typer.Option("--as", help="Key file, or a key name in HOME/keys.")]


# Exit code of a storage fault: the database down, locked, full or read-only
# (decision 34); 1 is a refusal by the ledger, 2 a usage or input error.
STORAGE_EXIT = 3


def fail(message: str, code: int) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


# `pmm --home H` (or PMM_HOME through it) for the one command it comes before:
# set by api/cli/__init__.py's callback, and reset when that command's run ends.
ROOT_HOME: ContextVar[Path | None] = ContextVar("ROOT_HOME", default=None)


def take_root_home(ctx: typer.Context, home: Path | None) -> None:
    """Keep ``pmm --home H`` for the command that follows, until it ends."""
    token = ROOT_HOME.set(home)
    ctx.call_on_close(lambda: ROOT_HOME.reset(token))


def home_of(home: Path | None) -> Path | None:
    """The command's own ``--home``, else the one given before the command
    (``pmm --home H COMMAND``, or PMM_HOME through it): decision 47."""
    return home if home is not None else ROOT_HOME.get()


def settings_for(home: Path | None) -> Settings:
    return Settings.from_env(home_of(home))


def _open_home(home: Path | None, *, integrate: bool = True) -> Ledger:
    try:
        return open_ledger(settings_for(home), integrate=integrate)
    except ConfigurationError as exc:
        fail(str(exc), 2)
    except StorageError as exc:
        fail_storage(exc)


@contextmanager
def opened_ledger(home: Path | None, *, integrate: bool = True) -> Iterator[Ledger]:
    """The home's ledger for one block, closed however the block ends (a refusal,
    ``fail``, an error): the one way a command holds a ledger open."""
    ledger = _open_home(home, integrate=integrate)
    try:
        yield ledger
    finally:
        ledger.close()


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
