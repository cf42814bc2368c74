"""One writer at a time across processes, so log order is time order.

``recorded_at`` must never decrease along the log (DESIGN.md §2, §5 item 4),
and the log is in commit order. A writer therefore stamps, checks versions,
saves and integrates while holding a lock every process respects: a
PostgreSQL session advisory lock keyed by the schema, or an exclusive
``flock`` on a file beside the SQLite database.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore

from ledger.errors import StorageBusyError
from ledger.files import open_private


class WriterLock:
    def __init__(self, datastore: Any, sqlite_path: str | None) -> None:
        self.datastore = datastore
        self.postgres = isinstance(datastore, PostgresDatastore)
        self.key = f"pmm-writer:{datastore.schema}" if self.postgres else ""
        self.path = f"{sqlite_path}.writer-lock" if sqlite_path else None
        # A writer stuck while holding the lock (stopped, hung) must not stall
        # every other writer for ever: wait as long as SQLite waits for its own.
        pool = getattr(datastore, "pool", None)
        self.timeout = float(getattr(pool, "lock_timeout", None) or 30)

    @contextmanager
    def hold(self) -> Iterator[None]:
        if self.postgres:
            with self.datastore.get_connection() as conn:
                conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (self.key,))
                try:
                    yield
                finally:
                    # A session the server ended (a restart, a terminated
                    # backend) took its advisory locks with it: unlocking there
                    # would only fail a write that is complete (decision 34).
                    try:
                        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (self.key,))
                    except psycopg.OperationalError:
                        if not conn.broken:
                            raise
        elif self.path is None or self.path.startswith(":memory:"):
            yield  # one process only
        else:
            # 0600 in the 0700 home: no other local user can open the file, so
            # none can take the lock and stall the writers (docs/decisions.md 20).
            handle = open_private(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                self._flock(handle)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            finally:
                os.close(handle)

    def _flock(self, handle: int) -> None:
        """Take the lock, or refuse the write as busy after ``timeout``."""
        deadline, pause = time.monotonic() + self.timeout, 0.001
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StorageBusyError(
                        f"another writer held the writer lock for {self.timeout:.0f} s: "
                        "nothing was recorded; submit the same signed statement again "
                        "(a writer process may be stopped or hung: see who holds "
                        f"{os.path.basename(self.path or '')})"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.02)  # prompt when the holder is quick
