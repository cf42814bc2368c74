"""The HTTP benchmark's set-up: the demo home, the write streams and their signed
statements, and the two servers (``pmm serve`` and the bare app) as subprocesses."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from time import monotonic, sleep

import httpx

from api import demo_data
from api.demo_kit import SEC, sample_value, value_body
from benchmarks.common import free_port
from ledger.home import open_ledger, resolve_key
from ledger.persistence import DATABASE_URL_VAR, HOME_VAR, Settings

PMM = str(Path(sys.executable).parent / "pmm")
READ_MEMBER, READ_YEAR = "KEN", 2022  # the demo's KEN assessment, reference year 2022
FIRST_WRITE_YEAR = 2030  # the write streams' reference years: 2030, 2031, ...
STARTUP_SECONDS = 120.0


def server_env(settings: Settings, root: Path) -> dict[str, str]:
    """The environment of the servers and ``pmm demo``: the home's database, and
    the repository on the path (``benchmarks`` is not an installed package)."""
    env = {k: v for k, v in os.environ.items() if k not in (HOME_VAR, DATABASE_URL_VAR)}
    if settings.database_url:
        env[DATABASE_URL_VAR] = settings.database_url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return env


def make_demo(settings: Settings) -> int:
    """``pmm demo`` in the home; the log size it made."""
    done = subprocess.run(
        [PMM, "demo", "--home", str(settings.home), "--json"],
        env=server_env(settings, Path.cwd()),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pmm demo failed: {done.stderr.strip()}")
    return int(json.loads(done.stdout)["log_size"])


@dataclass(frozen=True)
class Stream:
    """A write stream, opened during setup: its Member and reference year."""

    name: str
    member: str
    year: int


@dataclass(frozen=True)
class Plan:
    """The write streams: each connection's own, opened during setup."""

    streams: list[list[Stream]]  # per connection
    profile_stream: Stream  # for the in-process records


def _write_members() -> list[str]:
    return [m.code for m in demo_data.MEMBERS if m.code != READ_MEMBER]


def open_write_streams(settings: Settings, connections: int, per_connection: int) -> Plan:
    """Open ``per_connection`` assessments per connection, plus one for profiling.

    The read Member gets none (its reads must not change); every stream has
    its own reference year for its Member, so lookups by year stay unique.
    """
    members = _write_members()
    total = connections * per_connection + 1
    if total > len(members) * (2200 - FIRST_WRITE_YEAR + 1):
        raise SystemExit("too many write streams: lower --concurrency or --pool")
    ledger = open_ledger(settings)
    try:
        secretariat = resolve_key(settings, SEC)
        opened, statements = [], []
        for g in range(total):
            member, k = members[g % len(members)], g // len(members)
            stream = Stream(f"assessment/{member}/bench-{k}", member, FIRST_WRITE_YEAR + k)
            body = {"cycle": f"bench-{k}", "member": member, "reference_year": stream.year}
            statement = secretariat.statement(
                ledger.origin, stream.name, "assessment.opened", body, 0
            )
            statements.append(secretariat.sign(statement))
            opened.append(stream)
        for start in range(0, len(statements), 500):
            ledger.record_batch(statements[start : start + 500])
    finally:
        ledger.close()
    streams = [
        opened[i : connections * per_connection : connections] for i in range(connections)
    ]
    return Plan(streams, opened[-1])


def sign_values(
    settings: Settings, origin: str, stream: Stream, rng: random.Random
) -> list[bytes]:
    """Every value the new stream can take (51 KPIs, years T-1 and T), signed in
    order by the Member's NCP, as canonical wire bytes (what ``pmm sign`` prints)."""
    key = resolve_key(settings, f"ncp-{stream.member.lower()}")
    wire, version = [], 1  # the stream holds its assessment.opened
    for value_year in (stream.year - 1, stream.year):
        for kpi in demo_data.KPIS:
            body = value_body(kpi, value_year, sample_value(kpi, rng), stream.member)
            statement = key.statement(origin, stream.name, "value.submitted", body, version)
            wire.append(key.sign(statement).to_bytes())
            version += 1
    return wire


# -- servers -----------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """SIGTERM to the uvicorn parent (it stops its workers), then wait."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: ours only
            self.process.wait(timeout=10)

    def problems(self) -> list[str]:
        """Tracebacks and errors the server logged (its stderr)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return [line for line in lines if line.startswith(("ERROR", "Traceback"))]


def start_server(
    name: str, command: list[str], env: dict[str, str], folder: Path
) -> Server:
    port = free_port()
    log = folder / f"{name}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,  # the access log, one line a request, on both sides
            stderr=handle,
            start_new_session=True,
            cwd=folder,
        )
    return Server(name, f"http://127.0.0.1:{port}", process, log)


def wait_ready(server: Server, ready_path: str, workers: int) -> None:
    """Until every worker has started and ``ready_path`` answers 200."""
    deadline = monotonic() + STARTUP_SECONDS
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited: {server.log.read_text()[-2000:]}")
        started = server.log.read_text(errors="replace").count(
            "Application startup complete"
        )
        if started >= workers:
            try:
                if httpx.get(server.base_url + ready_path, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        if monotonic() > deadline:
            raise RuntimeError(f"{server.name} did not start in {STARTUP_SECONDS:.0f} s")
        sleep(0.2)
