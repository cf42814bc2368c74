"""Concurrent POST /statements through ``pmm serve --workers N`` from several
client threads, with readers on /checkpoint, proofs, /scores and /events
throughout.

Each client runs the same rounds as a writer process of ``load_kit``: rival
registrations at one registry version released together by a barrier (one
201, the rest 409 with a problem body), then free-running writes, a 409
signed again at the new version. The server is a subprocess on a free
loopback port; every request is a new connection, so on either worker.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ledger.application import Ledger
from ledger.keys import KeyPair
from ledger.persistence import DATABASE_URL_VAR, Settings
from ledger.tokens import issue_token
from tests.faults.load_kit import (
    BARRIER_SECONDS,
    Outcome,
    Reads,
    check_once,
    log_policy,
    opening,
    read_while,
    registration,
)
from tests.faults.witness_proxy import free_port
from verify.formats.statement import SignedStatement

PMM = str(Path(sys.executable).parent / "pmm")
PROBLEM_JSON = "application/problem+json"


@contextmanager
def serving(settings: Settings, workers: int) -> Iterator[str]:
    """``pmm serve --workers N`` on the home; the base URL. It must stop cleanly."""
    env = {k: v for k, v in os.environ.items() if k not in ("PMM_HOME", DATABASE_URL_VAR)}
    if settings.database_url:
        env[DATABASE_URL_VAR] = settings.database_url
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [PMM, "serve", "--home", str(settings.home), "--workers", str(workers)]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                if httpx.get(f"{base}/checkpoint", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                server.kill()
                raise AssertionError(
                    f"pmm serve never answered: {server.communicate()[1]!r}"
                )
            time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            stderr = server.communicate(timeout=60)[1].decode()
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
            raise
    assert server.returncode == 0, stderr


@dataclass
class Refusals:
    """The 409 answers: each must be a problem body naming the stale version."""

    count: int = 0
    malformed: list[str] = field(default_factory=list)


def post(base: str, statement: SignedStatement, refusals: Refusals) -> str | None:
    """POST one statement: the entry's sha256 on 201, None on a 409."""
    answer = httpx.post(
        f"{base}/statements",
        content=statement.to_bytes(),
        headers={"Content-Type": "application/json"},
        timeout=120,
    )
    if answer.status_code == 201:
        return str(answer.json()["entry_sha256"])
    if answer.status_code != 409:
        raise AssertionError(f"POST /statements: {answer.status_code} {answer.text}")
    refusals.count += 1
    body = answer.json()
    media = answer.headers.get("content-type", "").split(";")[0]
    if (
        media != PROBLEM_JSON
        or body.get("status") != 409
        or "version" not in body["detail"]
    ):
        refusals.malformed.append(f"{media} {answer.text[:200]}")
    return None


@dataclass(frozen=True)
class Client:
    base: str
    ledger: Ledger  # this process's instance: where a client reads stream versions
    sec: KeyPair
    index: int
    rounds: int
    writes: int


def client_writes(
    client: Client, barrier: threading.Barrier, refusals: Refusals
) -> Outcome:
    ledger, settings, origin = client.ledger, client.ledger.settings, client.ledger.origin
    done = Outcome()
    for round_ in range(client.rounds):
        version = ledger.stream_version("registry")
        name = f"c{client.index}-rival-{round_}"
        statement = registration(settings, origin, name, version)
        barrier.wait(BARRIER_SECONDS)
        digest = post(client.base, statement, refusals)
        done.rivals.append((round_, version, digest is not None))
        if digest is not None:
            done.acked.append(digest)
        barrier.wait(BARRIER_SECONDS)
    for n in range(client.writes):
        if n % 2 == 0:
            digest = post(
                client.base, opening(client.sec, origin, f"c{client.index}-{n}"), refusals
            )
            assert digest is not None, "a new stream of its own is never stale"
            done.acked.append(digest)
            continue
        while True:
            version = ledger.stream_version("registry")
            name = f"c{client.index}-free-{n}"
            digest = post(
                client.base, registration(settings, origin, name, version), refusals
            )
            if digest is not None:
                done.acked.append(digest)
                break
            done.conflicts += 1
    return done


def run_clients(clients: list[Client], refusals: Refusals) -> list[Outcome]:
    barrier = threading.Barrier(len(clients))
    outcomes: list[Outcome | BaseException] = [RuntimeError("not run")] * len(clients)

    def run(i: int) -> None:
        try:
            outcomes[i] = client_writes(clients[i], barrier, refusals)
        except BaseException as exc:
            barrier.abort()
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return [o for o in outcomes if isinstance(o, Outcome)]


def http_reader(
    base: str, ledger: Ledger, sec: KeyPair, stop: threading.Event, reads: Reads
) -> threading.Thread:
    """A reader over HTTP: checkpoint, receipt and consistency proof verified
    (entry bytes and the integrated size from the database), /scores and
    /events answered; any other status than 200 is a failure."""
    policy, last = log_policy(ledger), list[tuple[int, bytes]]()
    token = {"Authorization": f"Bearer {issue_token(sec, ledger.origin)}"}

    def text(path: str, headers: dict[str, str] | None = None) -> str:
        answer = httpx.get(f"{base}{path}", headers=headers, timeout=60)
        if answer.status_code != 200:
            raise AssertionError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
        return answer.text

    def look() -> None:
        check_once(
            lambda: text("/checkpoint"),
            ledger.sequencer.size,
            lambda i, size: text(f"/receipts/{i}?size={size}"),
            lambda old, new: [
                base64.b64decode(line)
                for line in text(f"/proofs/consistency?old={old}&new={new}").split()
            ],
            ledger.sequencer.store.entry,
            policy,
            last,
        )
        text("/scores?member=KEN&year=2022")
        page = json.loads(text("/events?limit=20", token))
        if len(page["events"]) > page["log_size"]:
            raise AssertionError(f"/events shows more than its log size: {page}")

    thread = threading.Thread(target=read_while, args=(stop, look, reads), daemon=True)
    thread.start()
    return thread
