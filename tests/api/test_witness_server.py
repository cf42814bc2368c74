"""The witness's HTTP server (api/witness_server.py) under uvicorn on loopback,
with the raw bytes a hostile client sends: Content-Length that is negative,
not a number or too large, bodies over the limit or longer than declared, a
slow client, too many connections; and the C2SP answers of a normal
add-checkpoint, exactly (docs/decisions.md 18)."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.witness_server import MAX_REQUEST, make_server
from ledger.witness import SIZE_TYPE, Witness
from verify.formats.checkpoint import Checkpoint, sign_checkpoint
from verify.formats.cosignature import CosignatureSigner
from verify.formats.note_keys import Ed25519Signer
from verify.merkle.tree import consistency_proof, leaf_hash, memory_perfect, root_of

ORIGIN = "witness.test/log"
LIFETIME = 1.0  # seconds a connection may live in these tests
LEAVES = [leaf_hash(bytes([i])) for i in range(8)]


@dataclass
class Served:
    port: int
    witness: Witness
    log: Ed25519Signer

    def note(self, size: int) -> str:
        return sign_checkpoint(Checkpoint(ORIGIN, size, root_of(LEAVES[:size])), self.log)

    def request(self, old: int, size: int) -> bytes:
        proof = consistency_proof(old, size, memory_perfect(LEAVES)) if old else []
        lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
        return f"old {old}\n{lines}\n{self.note(size)}".encode()

    def post(self, body: bytes) -> tuple[int, str, str]:
        """POST /add-checkpoint as the ledger does (urllib): status, type, body."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/add-checkpoint", body, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, answer.headers["Content-Type"], answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read().decode()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    log = Ed25519Signer.generate(ORIGIN)
    witness = Witness(
        CosignatureSigner.generate("witness.test/w1"),
        [log.verifier().vkey()],
        tmp_path / "state.json",
    )
    server, sock = make_server(witness, "127.0.0.1", 0, timeout=LIFETIME, max_connections=4)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "the witness server did not start"
    try:
        yield Served(int(sock.getsockname()[1]), witness, log)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes on a new connection; everything the server sends back
    until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        # The server may refuse before reading all of it.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65_536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


def head(length: str, extra: str = "") -> bytes:
    return (
        "POST /add-checkpoint HTTP/1.1\r\nHost: witness\r\nConnection: close\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def test_a_normal_add_checkpoint_is_cosigned_with_the_c2sp_answers(
    served: Served,
) -> None:
    code, kind, body = served.post(served.request(0, 4))
    assert (code, kind) == (200, "text/plain; charset=utf-8")
    assert body.startswith("— witness.test/w1 ") and body.endswith("\n")
    assert served.witness.latest(ORIGIN) == (4, root_of(LEAVES[:4]))
    # Not the size it cosigned: 409 with that size as text/x.tlog.size, exactly.
    assert served.post(served.request(0, 8)) == (409, SIZE_TYPE, "4\n")
    code, _, body = served.post(served.request(4, 8))
    assert code == 200 and body.startswith("— witness.test/w1 ")
    assert served.witness.latest(ORIGIN)[0] == 8
    assert served.post(b"garbage")[0] == 400
    answer = exchange(served.port, b"GET /add-checkpoint HTTP/1.1\r\nHost: w\r\n\r\n")
    assert status(answer) == 405
    answer = exchange(served.port, b"POST /other HTTP/1.1\r\nHost: w\r\n\r\n")
    assert status(answer) == 404 and answer.endswith(b"not found: POST /add-checkpoint\n")


@pytest.mark.parametrize("length", ["-1", "-100", "ten", "1e3", "0x10", "12 34", ""])
def test_a_malformed_content_length_is_400(served: Served, length: str) -> None:
    assert status(exchange(served.port, head(length) + served.request(0, 4))) == 400
    assert served.witness.latest(ORIGIN)[0] == 0


def test_two_content_lengths_are_400(served: Served) -> None:
    data = head("10", "Content-Length: 20\r\n") + b"x" * 20
    assert status(exchange(served.port, data)) == 400


def test_an_oversized_content_length_is_413_before_the_body_is_sent(
    served: Served,
) -> None:
    started = time.monotonic()
    answer = exchange(served.port, head(str(MAX_REQUEST + 1)))  # no body at all
    assert status(answer) == 413
    assert time.monotonic() - started < LIFETIME  # answered, not timed out
    assert status(exchange(served.port, head(str(10**15)))) == 413
    assert status(exchange(served.port, head(str(10**30)))) == 400  # h11: not a length


def test_a_chunked_body_over_the_limit_is_413(served: Served) -> None:
    chunk = b"%x\r\n%s\r\n" % (4096, b"o" * 4096)
    data = head("0").replace(b"Content-Length: 0", b"Transfer-Encoding: chunked")
    answer = exchange(served.port, data + chunk * (MAX_REQUEST // 4096 + 2) + b"0\r\n\r\n")
    assert status(answer) == 413
    assert served.witness.latest(ORIGIN)[0] == 0


def test_a_body_longer_than_declared_is_read_only_as_declared(served: Served) -> None:
    request = served.request(0, 4)
    answer = exchange(served.port, head(str(len(request) - 10)) + request)
    assert status(answer) == 400  # the first len - 10 bytes: a malformed request
    assert served.witness.latest(ORIGIN)[0] == 0


def _closed_after(port: int, data: bytes, trickle: bool = False) -> float:
    """Seconds until the server closes a connection that sent ``data`` (then,
    with ``trickle``, one more header byte every 0.2 s) and nothing else."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.settimeout(0.2)
        while time.monotonic() - started < 10:
            try:
                if sock.recv(65_536) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                if trickle:
                    sock.sendall(b"x")
            except ConnectionResetError:
                return time.monotonic() - started
    raise AssertionError("the server kept a slow connection open for 10 s")


@pytest.mark.parametrize(
    ("name", "data", "trickle"),
    [
        ("sends nothing", b"", False),
        ("half a request line", b"POST /add-check", False),
        ("headers one byte at a time", b"POST /add-checkpoint HTTP/1.1\r\nX-Slow: ", True),
        ("a body that never comes", head("100") + b"old 0\n", False),
    ],
)
def test_a_slow_client_is_cut_off(
    served: Served, name: str, data: bytes, trickle: bool
) -> None:
    elapsed = _closed_after(served.port, data, trickle)
    assert LIFETIME * 0.8 <= elapsed < LIFETIME + 2, f"{name}: closed after {elapsed}"
    assert served.witness.latest(ORIGIN)[0] == 0


def test_connections_beyond_the_cap_get_503_until_idle_ones_are_cut(
    served: Served,
) -> None:
    idle = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(3)]
    try:
        time.sleep(0.1)  # let the server accept them
        assert status(exchange(served.port, head("7") + b"garbage")) == 503
        time.sleep(LIFETIME + 0.5)  # the idle connections are cut at their deadline
        assert served.post(served.request(0, 4))[0] == 200
    finally:
        for sock in idle:
            sock.close()


def test_refusals_quote_the_request_in_short(served: Served) -> None:
    other = Ed25519Signer.generate("o" * 30_000)
    foreign = sign_checkpoint(Checkpoint("o" * 30_000, 1, LEAVES[0]), other)
    for body, code in [
        (f"old 0\n\n{foreign}".encode(), 404),
        (f"old 0\n\n{ORIGIN}\n1\n{'A' * 40_000}\n\n— x y\n".encode(), 400),
        (b"old 0\n" + b"A" * 50_000 + b"\n\n" + served.note(4).encode(), 422),
        (b"old 0\n" + b"!" * 50_000 + b"\n\n" + served.note(4).encode(), 400),
    ]:
        answer = served.post(body)
        assert answer[0] == code and len(answer[2]) < 500, answer[2][:500]
