"""Locks every process respects: one writer at a time, so log order is time
order; and one witnessing round at a time, so witnesses see checkpoints in
order (docs/decisions.md 7 and 31).

``recorded_at`` must never decrease along the log (docs/design.md §2, §5 item 4),
and the log is in commit order. A writer therefore stamps, checks versions,
saves and integrates while holding the ``writer`` lock. Witnessing runs after,
under a lock of its own (``witness``) that a writer waits for only a bounded
time. Each is a PostgreSQL session advisory lock keyed by its name and the
schema (``AdvisoryLock``), or an exclusive ``flock`` on a file beside the
SQLite database (``FileLock``); which one, the backend's dialect says
(``ledger.dialect``, docs/decisions.md decision 41).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg

from ledger.errors import StorageBusyError
from ledger.files import open_private

POLL_SECONDS = 0.01  # how often a bounded wait tries the lock again


class WriterLock:
    """A named lock across processes; ``hold`` waits ``timeout`` seconds at most
    (None: as long as it takes)."""

    timeout: float | None = None
    where = ""  # what to look at when the lock stays held

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self.hold_within(self.timeout) as held:
            if not held:
                raise StorageBusyError(
                    f"another writer held the writer lock for {self.timeout:.0f} s: "
                    "nothing was recorded; submit the same signed statement again "
                    f"(a writer process may be stopped or hung: see who holds {self.where})"
                )
            yield

    def hold_within(self, seconds: float | None) -> AbstractContextManager[bool]:
        """Hold the lock, waiting at most ``seconds`` for it (None: as long as
        it takes); yields whether it is held."""
        raise NotImplementedError

    @staticmethod
    def _wait(
        attempt: Callable[[], bool], block: Callable[[], object], deadline: float | None
    ) -> bool:
        """Block for the lock, or try it until ``deadline``."""
        if deadline is None:
            block()
            return True
        while not attempt():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True


class AdvisoryLock(WriterLock):
    """A PostgreSQL session advisory lock. ``hold`` waits as long as it takes:
    a session that ends (its process stopped) takes its advisory locks with it."""

    def __init__(self, datastore: Any, name: str = "writer") -> None:
        self.datastore = datastore
        self.key = f"pmm-{name}:{datastore.schema}"
        self.where = self.key

    @contextmanager
    def hold_within(self, seconds: float | None) -> Iterator[bool]:
        deadline = None if seconds is None else time.monotonic() + seconds
        with self.datastore.get_connection() as conn:
            held = self._wait(
                lambda: conn.execute(
                    "SELECT pg_try_advisory_lock(hashtext(%s)) AS held", (self.key,)
                ).fetchone()["held"],
                lambda: conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (self.key,)),
                deadline,
            )
            try:
                yield held
            finally:
                # A session the server ended (a restart, a terminated backend)
                # took its advisory locks with it: unlocking there would only
                # fail a write that is complete (decision 34).
                try:
                    if held:
                        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (self.key,))
                except psycopg.OperationalError:
                    if not conn.broken:
                        raise


class FileLock(WriterLock):
    """An exclusive ``flock`` on ``DATABASE.NAME-lock`` beside the SQLite file;
    none for no file (or an in-memory database: one process only)."""

    def __init__(
        self, sqlite_path: str | None, name: str = "writer", timeout: float = 30
    ) -> None:
        self.path = f"{sqlite_path}.{name}-lock" if sqlite_path else None
        self.timeout = timeout
        self.where = os.path.basename(self.path or "")

    @contextmanager
    def hold_within(self, seconds: float | None) -> Iterator[bool]:
        if self.path is None or self.path.startswith(":memory:"):
            yield True  # one process only
            return
        deadline = None if seconds is None else time.monotonic() + seconds
        # 0600 in the 0700 home: no other local user can open the file, so
        # none can take the lock and stall the writers (docs/decisions.md 20).
        handle = open_private(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            held = self._wait(
                lambda: _try_flock(handle),
                lambda: fcntl.flock(handle, fcntl.LOCK_EX),
                deadline,
            )
            try:
                yield held
            finally:
                if held:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            os.close(handle)


def _try_flock(handle: int) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
