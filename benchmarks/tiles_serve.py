"""Serving the log's tiles: ``GET /tile/<L>/<N>`` (hash tiles) and ``GET
/checkpoint`` from ``pmm serve`` against the same exported files served by
``benchmarks.tiles_static`` (Starlette ``StaticFiles``), both under uvicorn with
the same workers, on loopback; the load generator is ``benchmarks.http_client``
(16 keep-alive connections, one request at a time each, ours and static
alternating). Before the clock, every path asked is fetched from both and must
equal the exported file's bytes."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from itertools import cycle, islice
from pathlib import Path

import httpx

from benchmarks.common import Options, Ratio
from benchmarks.http_client import (
    Call,
    Measured,
    compared_figures,
    drive,
    tree_peak_rss_mb,
)
from benchmarks.http_servers import PMM, Server, server_env, start_server, wait_ready
from ledger.persistence import Settings

WORKERS, CONNECTIONS, WARMUP = 2, 16, 3
CHECKED = 100  # paths fetched from both servers and compared, untimed
ROOT = Path(__file__).resolve().parents[1]


def hash_tile_paths(out: Path) -> list[str]:
    """Every hash tile of the export (``/tile/<L>/...``, not entry bundles), shuffled."""
    paths = [
        "/" + path.relative_to(out).as_posix()
        for path in (out / "tile").rglob("*")
        if path.is_file() and path.relative_to(out / "tile").parts[0] != "entries"
    ]
    random.Random(7).shuffle(paths)
    return paths


def _jobs(paths: list[str]) -> list[Iterator[Call]]:
    """Each connection cycles over the paths from its own offset."""
    return [
        (
            ("GET", p, None)
            for p in islice(cycle(paths), c * len(paths) // CONNECTIONS, None)
        )
        for c in range(CONNECTIONS)
    ]


def _same_bytes(servers: list[Server], out: Path, paths: list[str]) -> str:
    """Each path from each server equals the exported file; what was compared."""
    with httpx.Client(timeout=30) as client:
        for path in paths:
            expected = (out / path.lstrip("/")).read_bytes()
            for server in servers:
                answer = client.get(server.base_url + path)
                if answer.status_code != 200 or answer.content != expected:
                    raise RuntimeError(
                        f"{server.name} GET {path}: {answer.status_code}, "
                        f"{len(answer.content)} bytes, not the exported {len(expected)}"
                    )
    return f"{len(paths)} paths on both: ok"


def measure_serving(
    backend: str, options: Options, settings: Settings, out: Path, count: int, size: int
) -> list[Ratio]:
    """The two rows (hash tiles, checkpoint): ours against static, req/s."""
    env = server_env(settings, ROOT)
    serve = [PMM, "serve", "--home", str(settings.home), "--workers", str(WORKERS)]
    static_command = [sys.executable, "-m", "benchmarks.tiles_static", "--folder", str(out)]
    static_command += ["--workers", str(WORKERS)]
    tiles = hash_tile_paths(out)
    servers: list[Server] = []
    folder = out.parent
    try:
        ours = start_server("pmm-serve", serve, env, folder)
        servers.append(ours)
        static = start_server("static", static_command, env, folder)
        servers.append(static)
        wait_ready(ours, "/checkpoint", WORKERS)
        wait_ready(static, "/checkpoint", WORKERS)
        checked = _same_bytes(servers, out, ["/checkpoint", *tiles[:CHECKED]])
        measured: dict[str, list[Measured]] = {}
        for what, paths in (("tiles", tiles), ("checkpoint", ["/checkpoint"])):
            for server in servers:
                drive(server, "warm", _jobs(paths), None, WARMUP * CONNECTIONS)
            for _ in range(options.repeat):
                for server in servers:
                    got = drive(server, what, _jobs(paths), None, count)
                    measured.setdefault(f"{server.name} {what}", []).append(got)
        peaks = {s.name: tree_peak_rss_mb(s.process.pid) for s in servers}
        problems = [line for s in servers for line in s.problems()]
    finally:
        for server in servers:
            server.stop()
    if problems:
        raise RuntimeError(f"the servers logged errors: {problems[:3]}")
    best = {key: max(runs, key=lambda m: m.rate) for key, runs in measured.items()}
    rows = []
    for what, label in (
        ("tiles", f"GET /tile/<L>/<N> ({len(tiles):,} hash tiles), pmm serve"),
        ("checkpoint", "GET /checkpoint, pmm serve"),
    ):
        ours_m, static_m = best[f"pmm-serve {what}"], best[f"static {what}"]
        figures = compared_figures(ours_m, static_m, "static") | {
            "answers equal the exported files": checked,
            "static server peak RSS MB": peaks["static"],
        }
        rows.append(
            Ratio(
                *("tiles", backend, size, label, ours_m.rate, static_m.rate),
                *("the exported files, Starlette StaticFiles req/s", "req/s", "higher"),
                peaks["pmm-serve"],
                figures=figures,
            )
        )
    return rows
