"""A real witness (``pmm witness serve``, its own process) behind a proxy that
can hold requests back: a slow or hung witness, as the ledger sees it over
HTTP (docs/decisions.md 31).

The proxy notes the checkpoint size of every request in the order the ledger
sent them; while ``gate`` is clear it holds each request (a hung witness),
and it waits ``delay`` seconds before forwarding each one (a slow witness).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PMM = str(Path(sys.executable).parent / "pmm")
HOLD_SECONDS = 120.0  # a hung request is let go at the latest then


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proxy:
    def __init__(self, target: str) -> None:
        self.target = target
        self.sizes: list[int] = []  # each request's checkpoint size, as sent
        self.arrived = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.delay = 0.0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                note = body.split(b"\n\n", 1)[1]
                with proxy.lock:
                    proxy.sizes.append(int(note.split(b"\n")[1]))
                proxy.arrived.set()
                proxy.gate.wait(HOLD_SECONDS)
                time.sleep(proxy.delay)
                request = urllib.request.Request(
                    proxy.target + self.path, body, method="POST"
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, data = answer.status, answer.read()
                        kind = answer.headers.get("Content-Type", "text/plain")
                except urllib.error.HTTPError as exc:
                    status, data = exc.code, exc.read()
                    kind = exc.headers.get("Content-Type", "text/plain")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the ledger gave up waiting (its timeout)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def witness_behind_proxy(
    log_vkey: str, folder: Path, name: str
) -> Iterator[tuple[str, Proxy]]:
    """``pmm witness serve`` for the log, and a proxy in front of it; yields the
    witness's verifier key and the proxy."""
    key = folder / f"{name}.key"
    vkey = subprocess.run(
        [PMM, "witness", "keygen", f"witness.test/{name}", "--out", str(key)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [
            PMM,
            "witness",
            "serve",
            "--key",
            str(key),
            "--state",
            str(folder / f"{name}.json"),
            "--log",
            log_vkey,
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "no witness"
            time.sleep(0.05)
    proxy = Proxy(f"http://127.0.0.1:{port}")
    try:
        yield vkey, proxy
    finally:
        proxy.close()
        server.terminate()
        server.wait(timeout=10)
