"""HTTP: ``pmm serve`` under load against a bare FastAPI app under the same uvicorn.

``pmm demo`` makes a home in a temporary folder (on PostgreSQL in a new schema);
``pmm serve --workers 2`` and the bare app (``benchmarks.http_bare``, served the
same way) run as subprocesses on loopback ports. 16 keep-alive connections send
N requests per measurement (``benchmarks.http_client``), ours and bare
alternating:

* reads: anonymous ``GET /scores?member=KEN&year=2022`` against ``GET /bare``;
* writes: ``POST /statements`` of canonical signed statements against
  ``POST /bare`` with the same bodies. Each connection writes to assessment
  streams of its own, opened during set-up, signed before the clock starts, in
  stream order (no 409). The log must then hold exactly the 201s announced.

Then, servers stopped, the same work in-process on the same home: the query, the
public rows and their JSON, the app through ASGI, ``Ledger.record``. Target:
score reads at least 0.5 of bare's throughput. The steadiest figure is the
server CPU a request (it does not depend on who else wanted the cores).
"""

from __future__ import annotations

import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from itertools import cycle
from pathlib import Path
from time import perf_counter, process_time

from benchmarks.common import (
    POSTGRESQL,
    Figure,
    Options,
    Ratio,
    Section,
    backends,
    create_schema,
    drop_schema,
    progress,
)
from benchmarks.http_client import (
    JSON_HEADERS,
    Measured,
    compared_figures,
    drive,
    reads,
    tree_peak_rss_mb,
    writes,
)
from benchmarks.http_servers import (
    PMM,
    READ_MEMBER,
    READ_YEAR,
    Server,
    make_demo,
    open_write_streams,
    server_env,
    sign_values,
    start_server,
    wait_ready,
)
from ledger.home import open_ledger, read_config
from ledger.persistence import Settings

NAME = "http"
DEFAULT_SIZE, QUICK_SIZE = 3000, 300  # requests per measurement
READ_PATH = f"/scores?member={READ_MEMBER}&year={READ_YEAR}"
WORKERS, CONNECTIONS, WARMUP = 2, 16, 3
IN_PROCESS = 40  # in-process reads, and writes of each kind, timed
READ_TARGET = 0.5
READS = "GET /scores:"
ROOT = Path(__file__).resolve().parents[1]


def log_size(settings: Settings) -> int:
    ledger = open_ledger(settings)
    try:
        return ledger.log_size()
    finally:
        ledger.close()


def _cpu_ms(action: Callable[[], object]) -> tuple[float, float]:
    """CPU and wall milliseconds of ``action`` (CPU: this process's, all threads)."""
    cpu, wall = process_time(), perf_counter()
    action()
    return (process_time() - cpu) * 1000, (perf_counter() - wall) * 1000


def in_process(settings: Settings, statements: list[bytes]) -> dict[str, Figure]:
    """The servers' work without the network and uvicorn, one call at a time
    (median CPU ms): the query, + the public rows and JSON (what ``GET /scores``
    does), the app through ASGI; ``Ledger.record`` and ``POST /statements``."""
    with warnings.catch_warnings():  # starlette's note about httpx versions
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from api.http import create_app
    from projections.exports import score_rows
    from projections.timetravel import scores

    def framed() -> object:
        found = scores(ledger, READ_MEMBER, READ_YEAR)
        return json.dumps(score_rows(found.table, found.position, "public"))

    half = len(statements) // 2
    timings: dict[str, list[tuple[float, float]]] = {}
    ledger = open_ledger(settings)
    try:
        framed()  # warm: imports, caches
        query = partial(scores, ledger, READ_MEMBER, READ_YEAR)
        timings[f"{READS} timetravel.scores (the query)"] = [
            _cpu_ms(query) for _ in range(IN_PROCESS)
        ]
        timings[f"{READS} + public rows and JSON"] = [
            _cpu_ms(framed) for _ in range(IN_PROCESS)
        ]
        records = [_cpu_ms(partial(ledger.record, raw)) for raw in statements[:half]]
        timings["POST: Ledger.record of wire bytes"] = records
        with TestClient(create_app(settings, ledger=ledger)) as client:

            def get() -> None:
                if (answer := client.get(READ_PATH)).status_code != 200:
                    raise RuntimeError(f"GET {READ_PATH}: {answer.status_code}")

            def post(raw: bytes) -> None:
                answer = client.post("/statements", content=raw, headers=JSON_HEADERS)
                if answer.status_code != 201:
                    raise RuntimeError(f"POST /statements: {answer.status_code}")

            get()
            timings[f"{READS} the app through ASGI"] = [
                _cpu_ms(get) for _ in range(IN_PROCESS)
            ]
            posts = [_cpu_ms(partial(post, raw)) for raw in statements[half:]]
            timings["POST: the app through ASGI"] = posts
    finally:
        ledger.close()
    return {
        f"in-process CPU ms: {what}": statistics.median(c for c, _ in calls)
        for what, calls in timings.items()
    }


def measure(
    backend: str, options: Options, count: int, section: Section, folder: Path
) -> None:
    base = options.database_url
    schema = create_schema(base, "bench_http") if backend == POSTGRESQL else None
    settings = Settings(folder / "home", f"{base}?schema={schema}" if schema else None)
    servers: list[Server] = []
    try:
        progress(f"{NAME} {backend}: pmm demo, write streams, signing (untimed)")
        make_demo(settings)
        pool = math.ceil(count * options.repeat / CONNECTIONS * 1.2) + WARMUP
        per_connection = math.ceil(pool / (2 * 51))
        plan = open_write_streams(settings, CONNECTIONS, per_connection)
        rng, origin = random.Random(6), read_config(settings).origin
        pools = [
            [
                raw
                for stream in streams
                for raw in sign_values(settings, origin, stream, rng)
            ]
            for streams in plan.streams
        ]
        spare = sign_values(settings, origin, plan.profile_stream, rng)[: 2 * IN_PROCESS]
        setup_size = log_size(settings)
        env = server_env(settings, ROOT)
        # Score reads come from the score index when the scores view has reached
        # the log (docs/decisions.md 37), as a deployment that runs the
        # projection keeps it; otherwise each read replays its assessment.
        subprocess.run(
            [PMM, "projections", "status", "--home", str(settings.home)],
            env=env,
            capture_output=True,
            check=True,
        )
        serve = [PMM, "serve", "--home", str(settings.home), "--workers", str(WORKERS)]
        bare_command = [
            sys.executable,
            "-m",
            "benchmarks.http_bare",
            "--workers",
            str(WORKERS),
        ]
        ours = start_server("pmm-serve", serve, env, folder)
        servers.append(ours)
        bare = start_server("bare", bare_command, env, folder)
        servers.append(bare)
        wait_ready(ours, "/checkpoint", WORKERS)
        wait_ready(bare, "/bare", WORKERS)
        warm = WARMUP * CONNECTIONS
        drive(ours, "warm", reads(READ_PATH, CONNECTIONS), None, warm)
        drive(bare, "warm", reads("/bare", CONNECTIONS), None, warm)
        measured: dict[str, list[Measured]] = {}
        for _ in range(options.repeat):
            for server, endpoint, path in (
                (ours, "ours", READ_PATH),
                (bare, "bare", "/bare"),
            ):
                got = drive(server, f"GET {path}", reads(path, CONNECTIONS), None, count)
                measured.setdefault(f"{endpoint} reads", []).append(got)
        ours_pools: list[Iterator[bytes]] = [iter(p) for p in pools]
        bare_pools: list[Iterator[bytes]] = [cycle(p) for p in pools]
        warmed = drive(ours, "warm", writes("/statements", ours_pools), None, warm)
        drive(bare, "warm", writes("/bare", bare_pools), None, warm)
        for _ in range(options.repeat):
            for server, side, path, jobs in (
                (ours, "ours", "/statements", ours_pools),
                (bare, "bare", "/bare", bare_pools),
            ):
                got = drive(server, f"POST {path}", writes(path, jobs), None, count)
                measured.setdefault(f"{side} writes", []).append(got)
        peaks = {s.name: tree_peak_rss_mb(s.process.pid) for s in servers}
        for server in servers:
            server.stop()
        recorded = sum(m.statuses[201] for m in [warmed, *measured["ours writes"]])
        final = log_size(settings)
        progress(f"{NAME} {backend}: the same work in-process (servers stopped)")
        inside = in_process(settings, spare)
        problems = [line for s in servers for line in s.problems()]
    finally:
        for server in servers:
            server.stop()
        if schema:
            drop_schema(base, schema)
    best = {key: max(runs, key=lambda m: m.rate) for key, runs in measured.items()}
    check = "ok" if final == setup_size + recorded else "MISMATCH"
    for kind, what, target in (
        ("reads", f"GET {READ_PATH}", READ_TARGET),
        ("writes", "POST /statements", None),
    ):
        ours_m, bare_m = best[f"ours {kind}"], best[f"bare {kind}"]
        figures = compared_figures(ours_m, bare_m, "bare") | {
            "client CPU ms a request": ours_m.generator_cpu_ms,
            "bare server peak RSS MB": peaks["bare"],
        }
        if kind == "writes":
            figures["log: entries before + 201s == after"] = (
                f"{setup_size:,} + {recorded:,} -> {final:,}: {check}"
            )
        figures |= {k: v for k, v in inside.items() if (kind == "reads") == (READS in k)}
        section.rows.append(
            Ratio(
                *(NAME, backend, count, what, ours_m.rate, bare_m.rate),
                *(f"bare FastAPI {bare_m.endpoint} req/s", "req/s", "higher"),
                peaks["pmm-serve"],
                target=target,
                figures=figures,
            )
        )
    if problems:
        section.notes.append(f"{backend}: the servers logged {len(problems)} error lines")
    section.notes.append(
        f"{backend}: score reads with the scores view current (`pmm projections "
        "status` after the set-up), so they come from the score index"
    )
    section.notes.append(
        f"{backend}: peak RSS is the largest process of each server (uvicorn's parent "
        f"or one of its {WORKERS} workers), over reads and writes together"
    )


def run(options: Options, size: int) -> Section:
    section = Section(NAME)
    for backend in backends(options, section):
        with tempfile.TemporaryDirectory(prefix="pmm-bench-http-") as tmp:
            measure(backend, options, max(size, CONNECTIONS), section, Path(tmp))
    return section
