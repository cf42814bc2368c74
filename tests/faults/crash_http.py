"""The HTTP clients of a crash round: signed statements to ``POST /statements``
of a ``pmm serve`` about to be killed (crash_harness.py).

An acknowledgement is a 201 answer: what was recorded, its receipt and the
entry's exact bytes. A post that gets no answer (the server died) is in flight:
after the restart its statement may or may not be in the log.
"""

from __future__ import annotations

import base64
import functools
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ledger.keys import KeyPair
from tests.faults.crash_child import draft_for
from tests.faults.crash_zygote import TIMEOUT, Writer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_served(child: Writer, base: str) -> None:
    """Until the server answers (or its process ended)."""
    deadline = time.monotonic() + TIMEOUT
    while child.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/checkpoint", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"pmm serve never answered (exit {child.returncode})")


@dataclass
class Posted:
    """What the clients saw: 201 bodies (with the entry's bytes), unanswered
    statements' signatures, and any other answer (a problem)."""

    acks: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def post_until_dead(
    base: str,
    key: KeyPair,
    origin: str,
    tag: str,
    lanes: Sequence[range],
    framework_version: int,
) -> Posted:
    """One client per lane, each posting the drafts its numbers name
    (crash_child.draft_for) until the server stops answering. Lanes must not
    share a stream: the even numbers write the framework stream, whose
    version each lane counts from ``framework_version``."""
    posted, lock = Posted(), threading.Lock()

    def lane(numbers: range) -> None:
        version = framework_version
        with httpx.Client(base_url=base, timeout=60) as client:
            for n in numbers:
                draft, _ = draft_for(tag, n)
                framework = draft["stream"] == "framework"
                statement = key.statement(
                    origin, draft["stream"], draft["type"], draft["body"],
                    version if framework else 0,
                )  # fmt: skip
                signed = key.sign(statement)
                try:
                    answer = client.post(
                        "/statements",
                        content=signed.to_bytes(),
                        headers={"Content-Type": "application/json"},
                    )
                except httpx.TransportError:
                    with lock:
                        posted.unanswered.append(signed.signature)
                    return
                with lock:
                    if answer.status_code != 201:
                        posted.problems.append(
                            f"POST {answer.status_code}: {answer.text[:300]}"
                        )
                        return
                    body = answer.json()
                    posted.acks.append((body, base64.b64decode(body["entry"])))
                version += framework

    run_all([functools.partial(lane, numbers) for numbers in lanes])
    return posted


def run_all(tasks: Sequence[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=task) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
