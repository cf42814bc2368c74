"""What the resource-fault tests share: the tally of writes per fault kind, the
checks every recovery must pass, and a private PostgreSQL server to stop.

A ``Tally`` counts, per kind of fault, the faults injected and the writes
attempted, acknowledged (a ``Recorded`` came back) and refused with a clear
``StorageError``; ``recovered`` then proves that nothing acknowledged was
lost, nothing was recorded twice, the log is gapless and ``pmm verify``
passes. The figures go to the lead's report (``python -m tests.faults.resource_run``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from ledger.application import Ledger, Recorded
from ledger.errors import StorageError
from ledger.storage_faults import storage_error
from tests.faults.resource_run import FIGURES_VAR
from verify.formats.entry import parse_entry
from verify.formats.statement import SignedStatement

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


@dataclass
class Tally:
    """One fault kind's figures."""

    kind: str
    faults: int = 0
    attempted: int = 0
    acknowledged: int = 0
    refused: int = 0  # a clear StorageError, never a raw driver error
    lost: int = 0  # acknowledged, then missing after recovery
    duplicated: int = 0  # one signed statement recorded twice
    acked: list[str] = field(default_factory=list, repr=False)

    def write(self, call: Callable[[], Recorded]) -> Recorded | StorageError:
        """Attempt one write: its receipt, or the StorageError it was refused with."""
        self.attempted += 1
        try:
            recorded = call()
        except StorageError as exc:
            self.refused += 1
            return exc
        self.acknowledged += 1
        self.acked.append(recorded.entry_sha256)
        return recorded

    def recovered(self, ledger: Ledger, *statements: SignedStatement) -> None:
        """Nothing acknowledged lost, each of ``statements`` recorded exactly
        once, the log gapless, and ``pmm verify`` passing."""
        size = ledger.log_size()
        entries = ledger.sequencer.store.entries(0, size)
        assert [index for index, _ in entries] == list(range(size)), "the log has a gap"
        digests = {hashlib.sha256(raw).hexdigest() for _, raw in entries}
        self.lost += sum(1 for sha in self.acked if sha not in digests)
        signed = [parse_entry(raw).signed.digest() for _, raw in entries]
        for statement in statements:
            self.duplicated += max(0, signed.count(statement.digest()) - 1)
            assert statement.digest() in signed, "a statement is missing"
        assert (self.lost, self.duplicated) == (0, 0), self
        code, output = pmm_verify(ledger)
        assert code == 0 and output.startswith("verified "), output
        add_figures(self)


def pmm_verify(ledger: Ledger) -> tuple[int, str]:
    """``pmm verify`` of the live ledger, in process (typer's runner)."""
    settings = ledger.settings
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["verify", "--home", str(settings.home)], env=env)
    return result.exit_code, result.output


def add_figures(tally: Tally) -> None:
    """Add ``tally`` to the figures file, when one is named."""
    path = os.environ.get(FIGURES_VAR)
    if not path:
        return
    figures = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    mine = {k: v for k, v in asdict(tally).items() if k not in ("kind", "acked")}
    total = figures.setdefault(tally.kind, dict.fromkeys(mine, 0))
    for key, value in mine.items():
        total[key] += value
    Path(path).write_text(json.dumps(figures, indent=2) + "\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateServer:
    """A PostgreSQL server of our own, in a scratch folder, on a free port: the
    tests stop and restart it for real, and never touch the shared one."""

    def __init__(self) -> None:
        if not PG_BIN:
            raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql")
        self.bin = PG_BIN[-1]
        self.root = Path(tempfile.mkdtemp(prefix="pmm-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        # initdb refuses to run as root: the server runs as the postgres user.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``immediate`` ends every backend at once, as a crash would."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def answering(ledger: Ledger) -> bool:
    """Whether the ledger's database answers a read: False on a storage fault,
    which the pool outlives by reconnecting in the background (its backoff
    doubles from one second while the server is away)."""
    try:
        ledger.log_size()
    except Exception as exc:
        if storage_error(exc) is None:
            raise
        return False
    return True


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    """Poll ``condition`` (a state to reach, not a duration to measure)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class SmallDisk:
    """A tmpfs of ``size`` mounted at a scratch folder: a disk we can fill and
    remount read-only (root only; the tests skip elsewhere, saying why)."""

    def __init__(self, size: str = "8m") -> None:
        self.path = Path(tempfile.mkdtemp(prefix="pmm-faults-disk-"))
        mounted = subprocess.run(
            [
                "mount",
                "-t",
                "tmpfs",
                "-o",
                f"size={size},mode=0700",
                "tmpfs",
                str(self.path),
            ],
            capture_output=True,
            text=True,
        )
        if mounted.returncode != 0:
            self.path.rmdir()
            raise PermissionError(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")

    def remount(self, mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True)

    def fill(self) -> Path:
        """Write a file until the disk is full; the file, to delete later."""
        filler = self.path / "filler"
        with filler.open("wb") as handle:
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        return filler

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)
        shutil.rmtree(self.path, ignore_errors=True)
