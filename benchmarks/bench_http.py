"""HTTP load: ``pmm serve`` under a load generator, against a bare FastAPI app (issue 6).

Makes a demo home (``pmm demo``) in a temporary folder, on SQLite or on a new
PostgreSQL schema, and serves it with ``pmm serve --workers W`` as a
subprocess. Beside it, served the same way (uvicorn, the same worker count, a
subprocess, its own loopback port), a bare FastAPI app defined here
(``bare_app``): ``GET /bare`` answers a fixed JSON body about the size of a
scores answer, ``POST /bare`` reads the body and answers 201 with a small JSON.

A load generator in this process (asyncio, C concurrent keep-alive
connections through aiohttp, or ``httpx.AsyncClient`` with ``--client httpx``)
runs each measurement for D seconds (or a fixed request count) and records
every request's latency and status, and the CPU time the server's processes
and the generator spent:

* reads: anonymous ``GET /scores?member=KEN&year=2022`` against ``GET /bare``;
* writes: ``POST /statements`` of pre-signed canonical statements (signing is
  the client's work, done before the clock starts) against ``POST /bare`` with
  the same bodies. Each connection writes to assessment streams of its own
  (opened during setup by the Secretariat; the Member's NCP submits values),
  in stream order, so no two connections race for one stream's version.

It prints throughput, p50 and p99 latency, errors and CPU a request per
endpoint, the ratio ours/bare for reads and writes, and whether score reads
reach half of the bare endpoint's throughput (the target). Then, with the
servers stopped, it times the same work in-process (no network) to show where
the time goes. Everything it made is removed afterwards (servers stopped, the
temporary folder and the PostgreSQL schema dropped).

    python benchmarks/bench_http.py [--backend sqlite|postgresql]
        [--database-url URL] [--workers W] [--concurrency C] [--duration D]
        [--requests N] [--repeat R] [--client aiohttp|httpx] [--pool P] [--quick]
        [--profile]

See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import math
import os
import platform
import pstats
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import version as package_version
from itertools import cycle
from pathlib import Path
from time import monotonic, perf_counter, process_time, sleep
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import httpx
import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg import sql

from api import demo_data
from api.demo_kit import SEC, sample_value, value_body
from ledger.home import open_ledger, read_config, resolve_key
from ledger.persistence import DATABASE_URL_VAR, HOME_VAR, Settings

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PMM = str(Path(sys.executable).parent / "pmm")
HERE = Path(__file__).resolve().parent
READ_MEMBER, READ_YEAR = "KEN", 2022  # the demo's KEN assessment, reference year 2022
READ_PATH = f"/scores?member={READ_MEMBER}&year={READ_YEAR}"
FIRST_WRITE_YEAR = 2030  # the write streams' reference years: 2030, 2031, ...
WARMUP_PER_CONNECTION = 3  # untimed requests per connection before each endpoint
STARTUP_SECONDS = 120.0
READ_TARGET = 0.5
PROFILE_READS = 40  # in-process score reads timed (and profiled)
PROFILE_WRITES = 50  # in-process records timed, and as many profiled: one stream's 102
ASSUMED_MAX_WRITES = 400.0  # writes/s the default pool of signed statements allows for


# -- the bare app ----------------------------------------------------------------------


def _bare_rows() -> list[dict[str, Any]]:
    """29 rows shaped like the public rows of the demo's KEN 2022 scores."""
    return [
        {
            "member": "KEN",
            "cycle": "1",
            "reference_year": 2022,
            "level": "kpi",
            "code": f"KPI-{i:02d}",
            "score": f"{50 + i}.25",
            "status": "scored",
            "grade": None,
            "method": "linear",
            "method_version": f"v1 (entry {50 + i})",
            "sources": f"{50 + i} {2100 + i}",
            "excluded": "",
            "restated_by": None,
            "disclosure": "public",
            "log_size": 3159,
        }
        for i in range(1, 30)
    ]


BARE_BODY: dict[str, Any] = {
    "stream": "assessment/KEN/1",
    "member": "KEN",
    "cycle": "1",
    "reference_year": 2022,
    "position": {
        "size": 3159,
        "label": "now",
        "recorded_at": "2026-11-22T16:01:11.418721Z",
    },
    "audience": "public",
    "withheld": 50,
    "rows": _bare_rows(),
}


def bare_app() -> FastAPI:
    """The baseline: FastAPI under the same uvicorn, doing no work of its own."""
    app = FastAPI(title="bare")

    @app.get("/bare")
    async def get_bare() -> dict[str, Any]:
        return BARE_BODY

    @app.post("/bare", status_code=201)
    async def post_bare(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"received": len(body), "ok": True}, status_code=201)

    return app


def serve_bare(host: str, port: int, workers: int) -> None:
    """Serve ``bare_app`` exactly as ``pmm serve`` serves the ledger's app."""
    import uvicorn

    if workers == 1:
        uvicorn.run(bare_app(), host=host, port=port)
    else:
        uvicorn.run(
            "bench_http:bare_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            app_dir=str(HERE),
        )


# -- the home, its database and the statements ---------------------------------------


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _pg_execute(base_url: str, statement: sql.Composed) -> None:
    with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (HOME_VAR, DATABASE_URL_VAR)}
    if settings.database_url:
        env[DATABASE_URL_VAR] = settings.database_url
    return env


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_demo(settings: Settings) -> int:
    """``pmm demo`` in the home; the log size it made."""
    done = subprocess.run(
        [PMM, "demo", "--home", str(settings.home), "--json"],
        env=_env(settings),
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    name: str, command: list[str], env: dict[str, str], folder: Path
) -> Server:
    port = _free_port()
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


# -- the load generator -----------------------------------------------------------------


Call = tuple[str, str, bytes | None]  # method, path, body


@dataclass
class Measured:
    endpoint: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # transport errors
    exhausted: int = 0  # connections that ran out of statements before the end
    first_error: str = ""
    server_cpu: float = math.nan  # CPU seconds of the server's processes meanwhile
    generator_cpu: float = math.nan  # CPU seconds of this process meanwhile

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        bad = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return bad + sum(self.failures.values())

    @property
    def server_cpu_ms(self) -> float:
        return 1000 * self.server_cpu / self.requests if self.requests else math.nan

    @property
    def generator_cpu_ms(self) -> float:
        return 1000 * self.generator_cpu / self.requests if self.requests else math.nan

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


JSON_HEADERS = {"Content-Type": "application/json"}
TRANSPORT_ERRORS = (httpx.HTTPError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


class HttpxConnection:
    """A request at a time through the shared ``httpx.AsyncClient`` (its pool keeps
    one keep-alive connection per concurrent task)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(
        self, method: str, path: str, body: bytes | None
    ) -> tuple[int, bytes]:
        answer = await self.client.request(
            method, path, content=body, headers=JSON_HEADERS if body else None
        )
        return answer.status_code, answer.content

    async def close(self) -> None:
        pass


class AiohttpConnection:
    """One keep-alive connection through aiohttp (``--client aiohttp``, the
    default): the same requests for a fraction of httpx's CPU."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session: aiohttp.ClientSession | None = None

    async def request(
        self, method: str, path: str, body: bytes | None
    ) -> tuple[int, bytes]:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                self.base_url,
                connector=aiohttp.TCPConnector(limit=1),
                timeout=aiohttp.ClientTimeout(total=120),
            )
        async with self.session.request(
            method, path, data=body, headers=JSON_HEADERS if body else None
        ) as answer:
            return answer.status, await answer.read()

    async def close(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            await session.close()


async def _drive(
    base_url: str,
    client_kind: str,
    endpoint: str,
    jobs: list[Iterator[Call]],
    duration: float | None,
    count: int | None,
) -> Measured:
    """Run every job on its own task (one connection each) until the time is up,
    ``count`` requests are done, or the job is exhausted."""
    limits = httpx.Limits(max_connections=len(jobs), max_keepalive_connections=len(jobs))
    measured = Measured(endpoint, 0.0)
    left = [count if count is not None else -1]
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as shared:
        start = perf_counter()
        deadline = start + duration if duration is not None else math.inf

        async def connection(job: Iterator[Call]) -> None:
            client: HttpxConnection | AiohttpConnection = (
                HttpxConnection(shared)
                if client_kind == "httpx"
                else AiohttpConnection(base_url)
            )
            try:
                while perf_counter() < deadline and left[0] != 0:
                    call = next(job, None)
                    if call is None:
                        measured.exhausted += 1
                        return
                    left[0] -= 1
                    method, path, body = call
                    began = perf_counter()
                    try:
                        status, content = await client.request(method, path, body)
                    except TRANSPORT_ERRORS as exc:
                        measured.failures[type(exc).__name__] += 1
                        measured.first_error = measured.first_error or repr(exc)
                    else:
                        measured.statuses[status] += 1
                        if not 200 <= status < 300 and not measured.first_error:
                            text = content[:300].decode("utf-8", "replace")
                            measured.first_error = f"{status} {text}"
                    measured.latencies.append(perf_counter() - began)
            finally:
                await client.close()

        await asyncio.gather(*(connection(job) for job in jobs))
        measured.seconds = perf_counter() - start
    return measured


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its live descendants (uvicorn's
    workers), from /proc; NaN where /proc is not available."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    try:
        while todo:
            current = todo.pop()
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError, IndexError):
        return math.nan
    return total


def drive(
    server: Server,
    client_kind: str,
    endpoint: str,
    jobs: list[Iterator[Call]],
    duration: float | None,
    count: int | None,
) -> Measured:
    """One measurement, with the CPU time the server and the generator spent."""
    server_before, own_before = process_tree_cpu(server.process.pid), _own_cpu()
    measured = asyncio.run(
        _drive(server.base_url, client_kind, endpoint, jobs, duration, count)
    )
    measured.server_cpu = process_tree_cpu(server.process.pid) - server_before
    measured.generator_cpu = _own_cpu() - own_before
    return measured


def reads(path: str, connections: int) -> list[Iterator[Call]]:
    return [cycle([("GET", path, None)]) for _ in range(connections)]


def writes(path: str, pools: list[Iterator[bytes]]) -> list[Iterator[Call]]:
    return [(("POST", path, raw) for raw in pool) for pool in pools]


# -- in-process: where the time goes ------------------------------------------------------


@dataclass
class InProcess:
    """(CPU ms, wall ms) of each call."""

    query: list[tuple[float, float]]  # projections.timetravel.scores
    frame: list[tuple[float, float]]  # + the public frame and its JSON records
    asgi_read: list[tuple[float, float]]  # GET /scores through the app, no uvicorn
    record: list[tuple[float, float]]  # Ledger.record of wire bytes
    asgi_write: list[tuple[float, float]]  # POST /statements through the app
    profiles: list[str]


def _profile(title: str, action: Callable[[], object]) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    action()
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(25)
    return f"cProfile: {title}\n{text.getvalue()}"


def _cpu_ms(action: Callable[[], object]) -> tuple[float, float]:
    """CPU and wall milliseconds of ``action``. The CPU time is this process's (all
    its threads): on a busy machine steadier than the wall clock, and comparable
    with the servers' CPU a request; the wall clock adds waits (fsync, the
    database server, other processes)."""
    cpu, wall = process_time(), perf_counter()
    action()
    return (process_time() - cpu) * 1000, (perf_counter() - wall) * 1000


def in_process(settings: Settings, statements: list[bytes], profile: bool) -> InProcess:
    """The servers' work without the network and uvicorn, on the same home:
    the score query, plus what ``GET /scores`` adds to it (the public rows and
    their JSON), the whole app in-process (``TestClient``, one request at a
    time); ``Ledger.record`` of wire bytes and ``POST /statements`` likewise."""
    with warnings.catch_warnings():  # starlette's note about httpx versions
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from api.http import create_app
    from projections.exports import score_rows
    from projections.timetravel import scores as scores_query

    def query() -> object:
        return scores_query(ledger, READ_MEMBER, READ_YEAR)

    def framed() -> object:  # what GET /scores does: public rows, one json.dumps
        found = scores_query(ledger, READ_MEMBER, READ_YEAR)
        return json.dumps(score_rows(found.table, found.position, "public"))

    quarter = len(statements) // 4
    direct, through_app, profiled = (
        statements[:quarter],
        statements[quarter : 2 * quarter],
        statements[2 * quarter :],
    )
    profiles = []
    ledger = open_ledger(settings)
    try:
        framed()  # warm: imports, caches
        queries = [_cpu_ms(query) for _ in range(PROFILE_READS)]
        frames = [_cpu_ms(framed) for _ in range(PROFILE_READS)]
        records = [_cpu_ms(partial(ledger.record, raw)) for raw in direct]
        with TestClient(create_app(settings, ledger=ledger)) as client:

            def get() -> None:
                answer = client.get(READ_PATH)
                if answer.status_code != 200:
                    raise RuntimeError(f"GET {READ_PATH}: {answer.status_code}")

            def post(raw: bytes) -> None:
                answer = client.post("/statements", content=raw, headers=JSON_HEADERS)
                if answer.status_code != 201:
                    raise RuntimeError(f"POST /statements: {answer.status_code}")

            get()
            asgi_reads = [_cpu_ms(get) for _ in range(PROFILE_READS)]
            asgi_writes = [_cpu_ms(partial(post, raw)) for raw in through_app]
        if profile:
            profiles.append(
                _profile(
                    f"{PROFILE_READS} score reads (query, public frame, JSON; no HTTP)",
                    lambda: [framed() for _ in range(PROFILE_READS)],
                )
            )
            profiles.append(
                _profile(
                    f"{len(profiled)} Ledger.record of wire bytes (no HTTP)",
                    lambda: [ledger.record(raw) for raw in profiled],
                )
            )
    finally:
        ledger.close()
    return InProcess(queries, frames, asgi_reads, records, asgi_writes, profiles)


# -- the run ------------------------------------------------------------------------------


@dataclass
class Options:
    backend: str
    base_url: str | None
    workers: int
    connections: int
    duration: float | None
    count: int | None
    repeat: int
    pool: int
    profile: bool
    client: str
    seed: int


def best(results: list[Measured]) -> Measured:
    return max(results, key=lambda m: m.rate)


def run(options: Options, folder: Path) -> None:
    schema = f"bench_http_{uuid.uuid4().hex[:12]}" if options.base_url else None
    url = f"{options.base_url}?schema={schema}" if schema else None
    settings = Settings(folder / "home", url)
    servers: list[Server] = []
    if schema and options.base_url:
        _pg_execute(
            options.base_url, sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema))
        )
    try:
        progress(f"pmm demo in {settings.home} ({options.backend})")
        demo_size = make_demo(settings)
        streams_per_connection = math.ceil(options.pool / (2 * len(demo_data.KPIS)))
        progress(
            f"opening {options.connections} x {streams_per_connection} write streams; "
            "signing their statements (untimed)"
        )
        plan = open_write_streams(settings, options.connections, streams_per_connection)
        rng = random.Random(options.seed)
        origin = read_config(settings).origin
        pools = [
            [
                raw
                for stream in streams
                for raw in sign_values(settings, origin, stream, rng)
            ]
            for streams in plan.streams
        ]
        spare = sign_values(settings, origin, plan.profile_stream, rng)
        spare = spare[: 2 * PROFILE_WRITES]
        signed = sum(len(p) for p in pools) + len(spare)
        setup_size = demo_size + len(plan.streams) * streams_per_connection + 1

        env = _env(settings)
        workers = str(options.workers)
        ours = start_server(
            "pmm-serve",
            [PMM, "serve", "--home", str(settings.home), "--workers", workers],
            env,
            folder,
        )
        servers.append(ours)
        bare = start_server(
            "bare",
            [
                sys.executable,
                str(HERE / "bench_http.py"),
                "--serve-bare",
                "--workers",
                workers,
            ],
            env,
            folder,
        )
        servers.append(bare)
        wait_ready(ours, "/checkpoint", options.workers)
        wait_ready(bare, "/bare", options.workers)
        progress(f"servers up: pmm serve at {ours.base_url}, bare at {bare.base_url}")

        c, d, n = options.connections, options.duration, options.count
        k = options.client
        warm = WARMUP_PER_CONNECTION * c
        load_before = os.getloadavg()
        drive(ours, k, "warm", reads(READ_PATH, c), None, warm)
        drive(bare, k, "warm", reads("/bare", c), None, warm)
        ours_reads, bare_reads = [], []
        for round_ in range(options.repeat):
            progress(f"reads, round {round_ + 1}/{options.repeat}")
            ours_reads.append(drive(ours, k, "GET /scores", reads(READ_PATH, c), d, n))
            bare_reads.append(drive(bare, k, "GET /bare", reads("/bare", c), d, n))

        ours_pools: list[Iterator[bytes]] = [iter(pool) for pool in pools]
        bare_pools: list[Iterator[bytes]] = [cycle(pool) for pool in pools]
        warmed = drive(ours, k, "warm", writes("/statements", ours_pools), None, warm)
        drive(bare, k, "warm", writes("/bare", bare_pools), None, warm)
        ours_writes, bare_writes = [], []
        for round_ in range(options.repeat):
            progress(f"writes, round {round_ + 1}/{options.repeat}")
            ours_writes.append(
                drive(
                    ours,
                    k,
                    "POST /statements",
                    writes("/statements", ours_pools),
                    d,
                    n,
                )
            )
            bare_writes.append(
                drive(bare, k, "POST /bare", writes("/bare", bare_pools), d, n)
            )
        load_after = os.getloadavg()
        for server in servers:
            server.stop()

        recorded = sum(m.statuses[201] for m in [warmed, *ours_writes])
        ledger = open_ledger(settings)
        try:
            final_size = ledger.log_size()
        finally:
            ledger.close()
        progress("timing the same work in-process (servers stopped)")
        inside = in_process(settings, spare, options.profile)
        problems = {s.name: s.problems() for s in servers}
    finally:
        for server in servers:
            server.stop()
        if schema and options.base_url:
            _pg_execute(
                options.base_url,
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)),
            )

    report(
        options,
        demo_size,
        setup_size,
        signed,
        [best(ours_reads), best(bare_reads), best(ours_writes), best(bare_writes)],
        [*ours_reads, *bare_reads, *ours_writes, *bare_writes],
        (setup_size, recorded, final_size),
        inside,
        problems,
        (load_before, load_after),
    )


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def report(
    options: Options,
    demo_size: int,
    setup_size: int,
    signed: int,
    rows: list[Measured],
    every: list[Measured],
    sizes: tuple[int, int, int],
    inside: InProcess,
    problems: dict[str, list[str]],
    loads: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> None:
    how = f"{options.duration:g} s" if options.duration else f"{options.count} requests"
    client = (
        f"httpx {package_version('httpx')} AsyncClient"
        if options.client == "httpx"
        else f"aiohttp {package_version('aiohttp')}, one keep-alive connection each"
    )
    print()
    print(
        f"PMM HTTP benchmark: pmm serve --workers {options.workers} on {options.backend} "
        f"(demo ledger, {demo_size:,} entries; {setup_size:,} with the write streams "
        f"opened) against a bare FastAPI app, both under uvicorn "
        f"{package_version('uvicorn')} with {options.workers} workers; FastAPI "
        f"{package_version('fastapi')}, Python "
        f"{platform.python_version()}"
    )
    print(
        f"load: asyncio + {client}, {options.connections} "
        f"connections, {how} per measurement, best of {options.repeat}; "
        f"{signed:,} statements signed before the clock"
    )
    print()
    header = (
        f"{'endpoint':<18} {'requests':>9} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} "
        f"{'errors':>7} {'server CPU':>11} {'client CPU':>11}"
    )
    print(header)
    print(f"{'':<66} {'ms/request':>11} {'ms/request':>11}")
    for m in rows:
        print(
            f"{m.endpoint:<18} {m.requests:>9,} {m.rate:>9,.1f} "
            f"{m.percentile(50) * 1000:>9.1f} {m.percentile(99) * 1000:>9.1f} "
            f"{m.errors:>7,} {m.server_cpu_ms:>11.2f} {m.generator_cpu_ms:>11.2f}"
        )
    ours_read, bare_read, ours_write, bare_write = rows
    read_ratio = ours_read.rate / bare_read.rate
    write_ratio = ours_write.rate / bare_write.rate
    print()
    print(f"ratio ours/bare, throughput: reads {read_ratio:.3f}, writes {write_ratio:.3f}")
    print(
        "ratio ours/bare, by server CPU a request (bare ms / ours ms: the throughput "
        "ratio if the servers had the cores to themselves): reads "
        f"{bare_read.server_cpu_ms / ours_read.server_cpu_ms:.3f}, writes "
        f"{bare_write.server_cpu_ms / ours_write.server_cpu_ms:.3f}"
    )
    print(
        f"target: score reads >= {READ_TARGET} of bare: "
        f"{_verdict(read_ratio >= READ_TARGET)} ({read_ratio:.3f})"
    )
    for m in every:
        if m.errors or m.exhausted:
            statuses = ", ".join(f"{s}: {n}" for s, n in sorted(m.statuses.items()))
            failures = ", ".join(f"{k}: {n}" for k, n in m.failures.items())
            print(
                f"  {m.endpoint}: statuses {statuses}"
                + (f"; transport errors {failures}" if failures else "")
                + (
                    f"; {m.exhausted} connections ran out of signed statements (raise "
                    "--pool)"
                    if m.exhausted
                    else ""
                )
            )
            if m.first_error:
                print(f"    first error: {m.first_error}")
    setup, recorded, final = sizes
    check = "ok" if final == setup + recorded else "MISMATCH"
    print(
        f"log: {setup:,} entries before the writes, {recorded:,} statements answered 201 "
        f"(warm-up included), {final:,} after: {check}"
    )
    for name, lines in problems.items():
        if lines:
            print(f"{name} logged {len(lines)} error lines, first: {lines[0]}")
    print()
    cores = os.cpu_count() or 1
    used = min(options.workers, cores)

    def cpu(calls: list[tuple[float, float]]) -> float:
        return statistics.median(c for c, _ in calls)

    def wall(calls: list[tuple[float, float]]) -> float:
        return statistics.median(w for _, w in calls)

    print(
        "where the time goes: the same work in-process on the same home, no network, "
        "one request at a time (medians)"
    )
    print(f"  {'':<48} {'CPU ms':>8} {'wall ms':>8}")
    for what, calls in (
        ("GET /scores  timetravel.scores (the query)", inside.query),
        ("             + public rows and their JSON", inside.frame),
        ("             the app through ASGI (TestClient)", inside.asgi_read),
        ("POST         Ledger.record of the wire bytes", inside.record),
        ("             the app through ASGI (TestClient)", inside.asgi_write),
    ):
        print(f"  {what:<48} {cpu(calls):>8.2f} {wall(calls):>8.2f}")
    print(
        f"  a score read's CPU allows at most {1000 / cpu(inside.frame) * used:,.0f} "
        f"req/s on {used} cores"
    )
    print(
        f"  over HTTP, server CPU a request: GET /scores {ours_read.server_cpu_ms:.2f} "
        f"(bare {bare_read.server_cpu_ms:.2f}), POST /statements "
        f"{ours_write.server_cpu_ms:.2f} (bare {bare_write.server_cpu_ms:.2f}); the "
        "bare figures are uvicorn, FastAPI and JSON alone"
    )
    (b1, _, _), (a1, _, _) = loads
    print()
    print(
        f"load average before {b1:.2f}, after {a1:.2f} (1 min); {cores} cores, shared by "
        f"the load generator and both servers' {options.workers} workers: compare ratios, "
        "not rates"
    )
    for text in inside.profiles:
        print()
        print(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="pmm serve under load against a bare FastAPI app (issue 6)."
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default=DEFAULT_PG_URL)
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn workers, both sides"
    )
    parser.add_argument(
        "--concurrency", type=int, default=16, help="concurrent connections (C)"
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per measurement (D)"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=None,
        help="a fixed number of requests per measurement instead of --duration",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds, best kept")
    parser.add_argument("--quick", action="store_true", help="--duration 2")
    parser.add_argument(
        "--pool",
        type=int,
        default=None,
        help="signed statements per connection (default: enough for "
        f"{ASSUMED_MAX_WRITES:g} writes/s over every round)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the in-process read and record"
    )
    parser.add_argument(
        "--client",
        choices=("aiohttp", "httpx"),
        default="aiohttp",
        help="the generator's HTTP client: aiohttp (default), or httpx.AsyncClient "
        "(several times the CPU a request, which the servers then lack)",
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.host, args.port, args.workers)
        return 0
    if args.workers < 1 or args.concurrency < 1 or args.repeat < 1:
        parser.error("--workers, --concurrency and --repeat must be at least 1")
    duration = None if args.requests else (2.0 if args.quick else args.duration)
    if args.pool is None:
        span = duration if duration is not None else 0.0
        wanted = ASSUMED_MAX_WRITES * span * args.repeat / args.concurrency
        if args.requests:
            wanted = args.requests * args.repeat / args.concurrency
        args.pool = math.ceil(wanted * 1.2) + WARMUP_PER_CONNECTION
    base_url = _without_query(args.database_url) if args.backend == "postgresql" else None
    if base_url is not None:
        try:
            with psycopg.connect(base_url, autocommit=True, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            print(f"PostgreSQL not reachable at {base_url}: {exc}".strip(), file=sys.stderr)
            return 2
    options = Options(
        backend=args.backend,
        base_url=base_url,
        workers=args.workers,
        connections=args.concurrency,
        duration=duration,
        count=args.requests,
        repeat=args.repeat,
        pool=args.pool,
        profile=args.profile,
        client=args.client,
        seed=args.seed,
    )
    folder = Path(tempfile.mkdtemp(prefix="pmm-bench-http-"))
    try:
        run(options, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
