"""``pg_dump`` and ``pg_restore`` for the ledger's schema (docs/backup.md).

The client tools must be present and of at least the server's major version:
``pg_dump`` refuses a newer server, and ``pg_restore`` cannot read an archive
from a newer ``pg_dump``. Both are checked before anything is run, so the
operator reads which version to install rather than a tool's own message.
The password goes through ``PGPASSWORD``, never on a command line (which
every local user can read in the process list).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from ledger.dialect import persistence_env
from ledger.errors import BackupError, ConfigurationError, LedgerError
from ledger.persistence import Settings

VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")
TIMEOUT = 3600.0  # seconds one dump or restore may take


@dataclass(frozen=True)
class Target:
    """Where the ledger's PostgreSQL schema is."""

    host: str
    port: str
    user: str
    password: str
    dbname: str
    schema: str

    @classmethod
    def of(cls, settings: Settings) -> Target:
        env = persistence_env(settings)
        return cls(
            env["POSTGRES_HOST"],
            env["POSTGRES_PORT"],
            env["POSTGRES_USER"],
            env["POSTGRES_PASSWORD"],
            env["POSTGRES_DBNAME"],
            env.get("POSTGRES_SCHEMA", "").strip() or "public",
        )

    def connect(self, **options: Any) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                dbname=self.dbname,
                connect_timeout=5,
                **options,
            )
        except psycopg.OperationalError as exc:
            raise ConfigurationError(
                f"cannot connect to PostgreSQL at {self.host}:{self.port}: {exc}"
            ) from None

    def tool_args(self) -> list[str]:
        return ["-h", self.host, "-p", self.port, "-U", self.user, "-d", self.dbname]

    def tool_env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "5"}


def major_of(version_output: str, tool: str) -> int:
    """The major version in ``pg_dump --version`` output ("pg_dump (PostgreSQL) 15.2")."""
    found = VERSION.search(version_output)
    if found is None:
        raise ConfigurationError(f"cannot tell the version of {tool}: {version_output!r}")
    return int(found[1])


def check_versions(tool: str, tool_major: int, server_major: int) -> None:
    """The rule: the client tool at least the server's major version."""
    if tool_major < server_major:
        raise ConfigurationError(
            f"{tool} is version {tool_major}, older than the PostgreSQL {server_major} "
            f"server: install the PostgreSQL {server_major} client tools "
            f"(postgresql-client-{server_major}) and put them first on PATH"
        )


def tool(name: str) -> tuple[str, int]:
    """The path and major version of client tool ``name``."""
    path = shutil.which(name)
    if path is None:
        raise ConfigurationError(
            f"{name} is not on PATH: install the PostgreSQL client tools "
            "(Debian: postgresql-client) to back up or restore a PostgreSQL ledger"
        )
    done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    return path, major_of(done.stdout + done.stderr, name)


def server_major(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0]) // 10000


def run(
    args: list[str],
    target: Target,
    what: str,
    error: type[LedgerError] = ConfigurationError,
) -> None:
    done = subprocess.run(
        args, env=target.tool_env(), capture_output=True, text=True, timeout=TIMEOUT
    )
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip()[-600:]
        raise error(f"{what} failed (exit {done.returncode}): {message}")


def dump(target: Target, snapshot: str, out: Path, conn: psycopg.Connection[Any]) -> int:
    """Dump the schema as of ``snapshot`` (custom format) to ``out``; return
    pg_dump's major version (the manifest names it)."""
    path, major = tool("pg_dump")
    check_versions("pg_dump", major, server_major(conn))
    run(
        [
            path,
            "--format=custom",
            f"--schema={target.schema}",
            f"--snapshot={snapshot}",
            "--no-owner",
            "--no-privileges",
            f"--file={out}",
            *target.tool_args(),
        ],
        target,
        "pg_dump",
    )
    return major


def restore(
    target: Target, archive: Path, archive_major: int, conn: psycopg.Connection[Any]
) -> None:
    """Restore ``archive`` in one transaction: all of it, or nothing."""
    path, major = tool("pg_restore")
    check_versions("pg_restore", major, server_major(conn))
    if major < archive_major:
        raise ConfigurationError(
            f"pg_restore is version {major}; the backup was made by pg_dump "
            f"{archive_major}: install the PostgreSQL {archive_major} client tools"
        )
    run(
        [
            path,
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            *target.tool_args(),
            str(archive),
        ],
        target,
        "pg_restore",
        # The tool is there and of the right version: what it refuses is the
        # payload (nothing was restored: one transaction).
        BackupError,
    )


# What a ledger's schema dump holds (``pg_restore --list``); anything else, or
# anything outside the backup's schema, is refused before it is restored.
TOC_TYPES = (
    "SEQUENCE OWNED BY",
    "SEQUENCE SET",
    "TABLE DATA",
    "FK CONSTRAINT",
    "CONSTRAINT",
    "SEQUENCE",
    "FUNCTION",
    "TRIGGER",
    "DEFAULT",
    "SCHEMA",
    "INDEX",
    "TABLE",
    "TYPE",
)
TOC_LINE = re.compile(r"\d+; \d+ \d+ (.*)")


def check_archive(archive: Path, schema: str) -> None:
    """Refuse an archive that would create anything but the objects of a
    ledger's schema, or anything in another schema (a PostgreSQL archive is
    SQL: restored as is, it could reach beyond the ledger's schema)."""
    path, _ = tool("pg_restore")
    done = subprocess.run(
        [path, "--list", str(archive)], capture_output=True, text=True, timeout=TIMEOUT
    )
    if done.returncode != 0:
        message = done.stderr.strip()[-300:]
        raise BackupError(f"the payload is not a pg_dump archive: {message}")
    for line in done.stdout.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        found = TOC_LINE.fullmatch(line)
        kind = next((t for t in TOC_TYPES if found and found[1].startswith(t + " ")), None)
        if found is None or kind is None:
            raise BackupError(f"the payload holds an unexpected object: {line[:120]!r}")
        fields = found[1][len(kind) + 1 :].split(" ")
        owner = schema if kind != "SCHEMA" else "-"
        if fields[0] != owner or (kind == "SCHEMA" and fields[1:2] != [schema]):
            raise BackupError(
                f"the payload reaches beyond the schema {schema!r}: {line[:120]!r}"
            )
