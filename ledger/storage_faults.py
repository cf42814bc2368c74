"""Storage faults as ledger errors: the database down, restarted, locked, full
or read-only (docs/decisions.md 34).

A driver's exception says what failed, not what it means for the statement.
``guarded_write`` wraps one write and turns a storage fault into a
``StorageError`` that also says where the write was when it failed: before
the events were saved (nothing recorded), while saving (the commit's answer
was lost: recorded at most once, so submit the same signed statement again),
or after (recorded, and added to the integrity log at the next write or open).
Every other exception passes unchanged: a bug is not a storage fault.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, PersistenceError

from ledger.errors import (
    LedgerError,
    StorageBusyError,
    StorageError,
    StorageFullError,
    StorageReadOnlyError,
    StorageUnavailableError,
)

T = TypeVar("T")
BEFORE, SAVING, SAVED, REQUEST = "before", "saving", "saved", "request"

WHAT: dict[type[StorageError], str] = {
    StorageUnavailableError: "the database is unavailable (the server is down or "
    "restarting, or it dropped the connection)",
    StorageBusyError: "the database stayed locked by another process past the timeout",
    StorageFullError: "the disk that holds the database is full",
    StorageReadOnlyError: "the database or the home folder is read-only",
}
OUTCOME = {
    BEFORE: "nothing was recorded; submit the same signed statement again once it is fixed",
    SAVING: "the statement may or may not have been recorded: submit the same "
    "signed statement again once it is fixed; it is recorded at most once (a "
    "statement already recorded is refused as a duplicate)",
    SAVED: "the statement was recorded, but not yet added to the integrity log; "
    "it is added at the next write or when the ledger opens again: do not "
    "submit it again",
    REQUEST: "the request did not complete; try it again once it is fixed",
}
# What a read may meet in the drivers, unwrapped (the edges translate these).
DRIVER_ERRORS = (PersistenceError, psycopg.Error, sqlite3.Error)
FULL = (errno.ENOSPC, errno.EDQUOT)
READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def fault_kind(exc: BaseException) -> type[StorageError] | None:
    """The kind of storage fault ``exc`` is (or was caused by), or None."""
    for link in _chain(exc):
        if isinstance(link, StorageError):
            return type(link)
        text = str(link).lower()
        if isinstance(link, OSError) and link.errno is not None:
            if link.errno in FULL:
                return StorageFullError
            if link.errno in READ_ONLY:
                return StorageReadOnlyError
        if isinstance(link, psycopg.errors.DiskFull) or "no space left" in text:
            return StorageFullError
        if isinstance(link, psycopg.errors.ReadOnlySqlTransaction):
            return StorageReadOnlyError
        if isinstance(link, sqlite3.Error):
            if "disk is full" in text:
                return StorageFullError
            if "readonly" in text or "read-only" in text:
                return StorageReadOnlyError
            if "locked" in text:
                return StorageBusyError
            if isinstance(link, sqlite3.OperationalError):
                return StorageUnavailableError  # cannot open, disk I/O error
        if isinstance(link, psycopg.OperationalError | psycopg.InterfaceError):
            return StorageUnavailableError
    # The library's own wrappers, for a cause that was not chained.
    if isinstance(exc, OperationalError | InterfaceError):
        return StorageUnavailableError
    return None


def storage_error(exc: BaseException, phase: str = BEFORE) -> StorageError | None:
    """The ledger error for ``exc``, if it is a storage fault."""
    kind = fault_kind(exc)
    if kind is None:
        return None
    if isinstance(exc, StorageError):
        return exc
    if kind is not StorageUnavailableError and phase == SAVING:
        # The database answered, with a refusal: the transaction did not
        # commit. Only a lost connection leaves the commit's outcome unknown.
        phase = BEFORE
    cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return kind(f"{WHAT[kind]}: {OUTCOME[phase]}", cause)


class Write:
    """Where one write is: before, during or after saving its events."""

    def __init__(self) -> None:
        self.phase = BEFORE

    def save(self, save: Callable[..., T], *args: object) -> T:
        self.phase = SAVING
        saved = save(*args)
        self.phase = SAVED
        return saved


@contextmanager
def guarded_write() -> Iterator[Write]:
    """One write, its storage faults raised as ``StorageError``."""
    write = Write()
    try:
        yield write
    except LedgerError:
        raise
    except Exception as exc:
        error = storage_error(exc, write.phase)
        if error is None:
            raise
        raise error from exc


@contextmanager
def guarded_open(folder: Path | None = None) -> Iterator[None]:
    """Opening (or creating) a ledger, its storage faults as ``StorageError``.
    ``folder`` holds the SQLite database: SQLite says only "unable to open
    database file" when it cannot create its WAL files beside a read-only one."""
    try:
        yield
    except LedgerError:
        raise
    except Exception as exc:
        kind = fault_kind(exc)
        if kind is None:
            raise
        if kind is StorageUnavailableError and folder and not os.access(folder, os.W_OK):
            kind = StorageReadOnlyError
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise kind(f"cannot open the ledger: {WHAT[kind]}", cause) from exc
