"""The HTTP load generator: asyncio, one aiohttp keep-alive connection per task,
each sending one request at a time; every request's latency and status, and the
CPU seconds the server's processes (from /proc) and the generator spent."""

from __future__ import annotations

import asyncio
import math
import os
import resource
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from time import perf_counter

import aiohttp

from benchmarks.common import Figure, peak_rss_mb, percentile
from benchmarks.http_servers import Server

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
        return percentile(self.latencies, p / 100) if self.latencies else math.nan


def compared_figures(ours: Measured, other: Measured, label: str) -> dict[str, Figure]:
    """Latency, errors and server CPU of ours beside the baseline's (``label``:
    "bare", "static"), and the ratio of server CPU a request."""
    return {
        "p50 ms": ours.percentile(50) * 1000,
        "p99 ms": ours.percentile(99) * 1000,
        f"{label} p50 ms": other.percentile(50) * 1000,
        f"{label} p99 ms": other.percentile(99) * 1000,
        "errors": ours.errors,
        f"{label} errors": other.errors,
        "server CPU ms a request": ours.server_cpu_ms,
        f"{label} server CPU ms a request": other.server_cpu_ms,
        f"ratio by server CPU ({label} ms / ours ms)": other.server_cpu_ms
        / ours.server_cpu_ms,
    }


JSON_HEADERS = {"Content-Type": "application/json"}
TRANSPORT_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


class AiohttpConnection:
    """One keep-alive connection through aiohttp (httpx's client spent several times
    the CPU a request, which the servers on the same cores then lacked)."""

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
    endpoint: str,
    jobs: list[Iterator[Call]],
    duration: float | None,
    count: int | None,
) -> Measured:
    """Run every job on its own task (one connection each) until the time is up,
    ``count`` requests are done, or the job is exhausted."""
    measured = Measured(endpoint, 0.0)
    left = [count if count is not None else -1]
    start = perf_counter()
    deadline = start + duration if duration is not None else math.inf

    async def connection(job: Iterator[Call]) -> None:
        client = AiohttpConnection(base_url)
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


def tree_pids(pid: int) -> list[int]:
    """``pid`` and its live descendants (uvicorn's workers), from /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def tree_peak_rss_mb(pid: int) -> float:
    """The largest peak RSS among a server's processes (its parent and workers)."""
    return max(peak_rss_mb(p) for p in tree_pids(pid))


def drive(
    server: Server,
    endpoint: str,
    jobs: list[Iterator[Call]],
    duration: float | None,
    count: int | None,
) -> Measured:
    """One measurement, with the CPU time the server and the generator spent."""
    server_before, own_before = process_tree_cpu(server.process.pid), _own_cpu()
    measured = asyncio.run(_drive(server.base_url, endpoint, jobs, duration, count))
    measured.server_cpu = process_tree_cpu(server.process.pid) - server_before
    measured.generator_cpu = _own_cpu() - own_before
    return measured


def reads(path: str, connections: int) -> list[Iterator[Call]]:
    return [cycle([("GET", path, None)]) for _ in range(connections)]


def writes(path: str, pools: list[Iterator[bytes]]) -> list[Iterator[Call]]:
    return [(("POST", path, raw) for raw in pool) for pool in pools]
