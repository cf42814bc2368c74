"""Every walk in these tests is checked against the parallel schedule too.

The verifier's reference is its serial path (one worker: the replay reads
every entry and checks every signature itself). For a large log the walk
instead has workers read entries and check signatures ahead of the replay
(``verify.check.precheck``, docs/decisions.md decision 36). So that every hostile
bundle of this suite shows the two agree, the ``Walk`` each test runs is
shadowed by two more over the same folder, with the worker pool replaced by
threads running the very same jobs (processes would cost seconds a test):
one reading ahead as a large log does, one with no read-ahead (so the workers
know every key the registry names before each bundle, and check the
signatures themselves). Their findings, counts, trees and hand-over roots
must equal the serial walk's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from verify.check import signatures, walk
from verify.check.findings import Findings
from verify.check.publications import Publications
from verify.check.replay import Replay
from verify.formats.statement import key_id


class _Threads(ThreadPoolExecutor):
    """``ProcessPoolExecutor(workers, mp_context=...)``, in threads."""

    def __init__(self, workers: int, mp_context: Any = None) -> None:
        del mp_context
        super().__init__(workers)


def outcome(run: walk.Walk) -> tuple[Any, ...]:
    """What a walk leaves behind for the rest of the verification."""
    replay = run.replay
    return (
        run.findings.ordered(),
        run.findings.omitted,
        run.read,
        run.first_unusable,
        run.first_mismatch,
        run.handover_roots,
        run.entries_tree.root(),
        run.entries_tree.prefix_roots,
        run.tiles_tree.root(),
        run.tile_check.substituted,
        run.publications.found,
        replay.versions,
        replay.by_type,
        replay.recoveries,
        replay.principals,
        replay.registry.log_keys,
    )


def _all_keys(real: walk.Walk, shift: int) -> dict[str, bytes]:
    """Every key the log's registry ever named (revoked, rotated out, or named
    later than it signs, included), each under the key id of the key ``shift``
    places on: 0 is the truth, 1 sends each key id with another key."""
    raws = [base64.b64decode(encoded) for encoded in real.replay.registry.owners]
    return {key_id(raw): raws[(n + shift) % len(raws)] for n, raw in enumerate(raws)}


def _shadow(
    real: walk.Walk, workers: int, window: int | None, keys: int | None = None
) -> walk.Walk:
    """The same walk over the same folder, from scratch, with ``workers``; with
    ``keys``, the workers are sent ``_all_keys(real, keys)`` for every bundle."""
    origin, genesis = real.replay.origin, real.replay.genesis_sha256
    prefixes = [*real.entries_tree.prefix_roots, *real.entries_tree._wanted]
    shadow = walk.Walk(
        real.bundle,
        real.size,
        Replay(origin, genesis),
        Findings(real.findings.limit),
        Publications(),
        prefixes,
    )
    if keys is not None:
        sent = _all_keys(real, keys)
        shadow._known_keys = lambda: sent  # type: ignore[method-assign]
    pool = signatures.SignaturePool
    original = pool.window
    if window is not None:
        pool.window = property(lambda self: window)  # type: ignore[assignment,method-assign]
    try:
        shadow.run(workers)
    finally:
        pool.window = original  # type: ignore[method-assign]
    return shadow


# (workers, read-ahead, keys sent): the serial reference; threads reading ahead
# as for a large log; threads with no read-ahead, so they know every key the
# registry named before a bundle; threads sent every key of the whole log,
# then every key id with another key (a key id two keys share, or a worker's
# wrong table): whatever the workers were sent, the replay decides the key.
SCHEDULES = ((1, None), (2, None), (2, 0), (2, None, 0), (2, None, 1))


@pytest.fixture(autouse=True)
def parallel_walks_agree(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_run = walk.Walk.run

    def run(self: walk.Walk, workers: int | None) -> None:
        real_run(self, workers)
        if self.size == 0:
            return
        with monkeypatch.context() as patched:
            patched.setattr(signatures, "ProcessPoolExecutor", _Threads)
            patched.setattr(walk.Walk, "run", real_run)
            for schedule in SCHEDULES:
                shadow = _shadow(self, *schedule)
                assert outcome(shadow) == outcome(self), f"schedule {schedule}"

    run.__wrapped__ = real_run  # type: ignore[attr-defined]
    monkeypatch.setattr(walk.Walk, "run", run)
    yield
