"""``pmm serve --workers 2`` really serves, on SQLite and PostgreSQL, and a
browser session opened through one worker holds on the other.

The server runs as a subprocess on a free loopback port, against a home made
by ``pmm init``; each worker builds the app from the environment
(``api.http.factory``). No timing is asserted: performance is measured in
``python -m benchmarks --only http``.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.home import resolve_key
from ledger.keys import KeyPair, with_approvals
from ledger.persistence import DATABASE_URL_VAR, Settings

PMM = str(Path(sys.executable).parent / "pmm")
STARTUP_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PMM_HOME", DATABASE_URL_VAR)}
    if settings.database_url:
        env[DATABASE_URL_VAR] = settings.database_url
    return env


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status), bytes(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    """``pmm init`` a home, then ``pmm serve --workers 2`` it; the base URL."""
    env = _env(settings)
    subprocess.run(
        [PMM, "init", "--home", str(settings.home)],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [PMM, "serve", "--home", str(settings.home), "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert server.poll() is None, (
                server.stderr.read().decode() if server.stderr else ""
            )
            try:
                if _get(f"{base}/checkpoint")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "pmm serve --workers 2 never answered"
            time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            stderr = server.communicate(timeout=30)[1].decode()
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
            raise
    assert server.returncode == 0, stderr
    assert "Application shutdown complete" in stderr


def test_serve_with_two_workers(served: str, settings: Settings) -> None:
    status, schema = _get(f"{served}/openapi.json")
    assert status == 200
    assert "/statements" in json.loads(schema)["paths"]

    # A write through whichever worker takes it; every later read, on a new
    # connection each (so on either worker), sees the log of two entries.
    admin = resolve_key(settings, "admin")
    peer = KeyPair.generate("peer-1")
    body = {
        "member": None,
        "name": "Peer reviewer",
        "principal": "peer-1",
        "public_key": peer.public_key,
        "role": "peer_reviewer",
    }
    _, checkpoint = _get(f"{served}/checkpoint")
    origin = checkpoint.decode().splitlines()[0]
    statement = admin.statement(origin, "registry", "principal.registered", body, 1)
    signed = admin.sign(with_approvals(statement, [resolve_key(settings, "admin-2")]))
    request = urllib.request.Request(
        f"{served}/statements",
        data=signed.to_bytes(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 201
        assert json.loads(answer.read())["tree_size"] == 2
    for _ in range(6):
        status, checkpoint = _get(f"{served}/checkpoint")
        assert status == 200 and checkpoint.decode().splitlines()[1] == "2"


def test_a_browser_session_holds_across_workers(served: str, settings: Settings) -> None:
    """Sign in, read and sign out on a new connection each, so on either worker:
    the challenges and sessions are rows of the ledger's database (decision 30),
    not one process's memory. Which worker answers is the kernel's choice; over
    a dozen connections both take part in practice."""
    admin = resolve_key(settings, "admin")

    def connection(cookie: str | None = None) -> httpx.Client:
        cookies = {"pmm_session": cookie} if cookie else None
        return httpx.Client(base_url=served, timeout=30, cookies=cookies)

    def whoami(cookie: str) -> object:
        with connection(cookie) as one:
            return one.get("/whoami").json()["principal"]

    with connection() as one:
        found = one.post("/auth/challenge").json()
    message = base64.b64decode(found["message"])
    body = {
        "principal": "admin",
        "key_id": admin.key_id,
        "challenge": found["challenge"],
        "signature": base64.b64encode(admin.private_key.sign(message)).decode(),
    }
    with connection() as one:
        opened = one.post("/auth/session", json=body)
    assert opened.status_code == 200, opened.text
    cookie, csrf = opened.cookies["pmm_session"], opened.json()["csrf"]
    for _ in range(4):  # the challenge is used up on every worker
        with connection() as one:
            assert one.post("/auth/session", json=body).status_code == 401
    assert [whoami(cookie) for _ in range(6)] == ["admin"] * 6
    with connection(cookie) as one:
        ended = one.post("/auth/sign-out", headers={"X-CSRF-Token": csrf})
    assert ended.status_code == 204, ended.text
    assert [whoami(cookie) for _ in range(6)] == [None] * 6
