"""A private PostgreSQL primary and streaming standby for the standby benchmark:
``initdb`` under the temporary folder, run as the ``postgres`` user through
``runuser`` when we are root (initdb refuses root), the standby made from the
private primary by ``pg_basebackup -R``; each on a free loopback port. The
shared server is never touched. ``synchronous_standby_names`` is switched on
the primary by ``ALTER SYSTEM`` and a reload."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
from pathlib import Path
from time import monotonic, sleep

import psycopg

from benchmarks.common import free_port

STANDBY_NAME = "pmm_standby"
TOOLS = ("initdb", "pg_ctl", "pg_basebackup")


def pg_bin() -> Path | None:
    """The folder of the PostgreSQL server tools, or None."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if all((folder / tool).exists() for tool in TOOLS):
            return folder
    return None


def missing_tools() -> str | None:
    """Why the pair cannot be made here, or None."""
    if pg_bin() is None:
        return (
            "no PostgreSQL server tools (initdb, pg_ctl, pg_basebackup in "
            "/usr/lib/postgresql/*/bin): install the server package to measure a standby"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user for initdb to run as"
    return None


class Pair:
    """Primary and standby in ``root`` (which the caller removes)."""

    def __init__(self, root: Path) -> None:
        found = pg_bin()
        assert found is not None, "missing_tools() says why"
        self.bin, self.root = found, root
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        self.ports = {"primary": free_port(), "standby": free_port()}
        self.started: list[str] = []

    def url(self, which: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports[which]}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {(done.stderr or done.stdout).strip()}")

    def _start(self, which: str, extra: str = "") -> None:
        options = (
            f"-p {self.ports[which]} -k {self.root} -c listen_addresses=127.0.0.1 {extra}"
        )
        data, log = str(self.root / which), str(self.root / f"{which}.log")
        self._run("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "start")
        self.started.append(which)

    def start(self) -> None:
        """initdb and start the primary, base-backup and start the standby, and
        wait until the standby streams."""
        primary = str(self.root / "primary")
        self._run("initdb", "-D", primary, "-A", "trust", "-U", "postgres", "-N")
        self._start("primary", "-c wal_level=replica -c max_wal_senders=4")
        self._run(
            "pg_basebackup",
            *("-D", str(self.root / "standby"), "-R", "-X", "stream"),
            *("-h", "127.0.0.1", "-p", str(self.ports["primary"]), "-U", "postgres"),
            "-d",
            f"application_name={STANDBY_NAME}",
        )
        self._start("standby", "-c hot_standby=on")
        deadline = monotonic() + 60
        while not self.streaming():
            if monotonic() > deadline:
                raise RuntimeError("the standby did not start streaming in 60 s")
            sleep(0.2)

    def streaming(self) -> bool:
        with psycopg.connect(self.url("primary"), autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_replication "
                "WHERE application_name = %s AND state = 'streaming'",
                (STANDBY_NAME,),
            ).fetchone()
        return bool(row and row[0] == 1)

    def synchronous(self, on: bool) -> str:
        """Make the standby synchronous (or not); the primary's sync_state for it."""
        names = STANDBY_NAME if on else ""
        with psycopg.connect(self.url("primary"), autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{names}'")
            conn.execute("ALTER SYSTEM SET synchronous_commit = 'on'")
            conn.execute("SELECT pg_reload_conf()")
            deadline = monotonic() + 30
            while True:
                row = conn.execute(
                    "SELECT sync_state FROM pg_stat_replication "
                    "WHERE application_name = %s",
                    (STANDBY_NAME,),
                ).fetchone()
                state = str(row[0]) if row else "absent"
                if (state == "sync") == on or monotonic() > deadline:
                    return state
                sleep(0.1)

    def close(self) -> None:
        for which in reversed(self.started):
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.root / which), "-m", "immediate", "stop")
        self.started.clear()
        shutil.rmtree(self.root, ignore_errors=True)
