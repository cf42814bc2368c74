"""Locks every process respects: one writer at a time, so log order is time
order; and one witnessing round at a time, so witnesses see checkpoints in
order (docs/decisions.md 7 and 31).

``recorded_at`` must never decrease along the log (docs/design.md §2, §5 item 4),
and the log is in commit order. A writer therefore stamps, checks versions,
saves and integrates while holding the ``writer`` lock. Witnessing runs after,
under a lock of its own (``witness``) that a writer waits for only a bounded
time. Each is a PostgreSQL session advisory lock keyed by its name and the
schema, or an exclusive ``flock`` on a file beside the SQLite database.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore

from ledger.errors import StorageBusyError
from ledger.files import open_private

POLL_SECONDS = 0.01  # how often a bounded wait tries the lock again


class WriterLock:
    def __init__(self, datastore: Any, sqlite_path: str | None, name: str = "writer"):
        self.datastore = datastore
        self.postgres = isinstance(datastore, PostgresDatastore)
        self.key = f"pmm-{name}:{datastore.schema}" if self.postgres else ""
        self.path = f"{sqlite_path}.{name}-lock" if sqlite_path else None
        # A SQLite writer stuck while holding the lock (stopped, hung) must not
        # stall every other writer for ever: they wait as long as SQLite waits
        # for its own lock, then are refused as busy (decision 34).
        pool = getattr(datastore, "pool", None)
        self.timeout = float(getattr(pool, "lock_timeout", None) or 30)

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self.hold_within(None if self.postgres else self.timeout) as held:
            if not held:
                raise StorageBusyError(
                    f"another writer held the writer lock for {self.timeout:.0f} s: "
                    "nothing was recorded; submit the same signed statement again "
                    "(a writer process may be stopped or hung: see who holds "
                    f"{os.path.basename(self.path or '')})"
                )
            yield

    @contextmanager
    def hold_within(self, seconds: float | None) -> Iterator[bool]:
        """Hold the lock, waiting at most ``seconds`` for it (None: as long as
        it takes); yields whether it is held."""
        deadline = None if seconds is None else time.monotonic() + seconds
        if self.postgres:
            with self.datastore.get_connection() as conn:
                held = self._wait(
                    lambda: conn.execute(
                        "SELECT pg_try_advisory_lock(hashtext(%s)) AS held", (self.key,)
                    ).fetchone()["held"],
                    lambda: conn.execute(
                        "SELECT pg_advisory_lock(hashtext(%s))", (self.key,)
                    ),
                    deadline,
                )
                try:
                    yield held
                finally:
                    # A session the server ended (a restart, a terminated
                    # backend) took its advisory locks with it: unlocking there
                    # would only fail a write that is complete (decision 34).
                    try:
                        if held:
                            conn.execute(
                                "SELECT pg_advisory_unlock(hashtext(%s))", (self.key,)
                            )
                    except psycopg.OperationalError:
                        if not conn.broken:
                            raise
        elif self.path is None or self.path.startswith(":memory:"):
            yield True  # one process only
        else:
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


def _try_flock(handle: int) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
