"""The verifier's worker processes: entries read, signatures checked (docs/design.md §5 1).

For a large log, each entry bundle goes to a pool of processes (``spawn``:
nothing is inherited but what a job carries) *before* the replay reaches it:
``prechecks`` has a worker read every entry and check its signature under
the key its key id names (``verify.check.precheck``), while this process replays
the bundles before. The replay (``verify.check.replay``) decides, entry by entry,
which key must have signed; a signature a worker could not check under that
key is sent back as a ``SignatureJob``, one entry bundle per chunk. At most
about twice as many chunks as workers are in flight, so memory stays flat;
the findings are ordered afterwards by log index (``verify.check.findings``), so the
first failure does not depend on which worker finished first. A bundle or
chunk whose worker died is checked in this process instead, as with one
worker (docs/decisions.md, decision 36).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from verify.check.findings import Finding
from verify.check.precheck import BundleJob, Precheck, precheck_bundle
from verify.errors import BadSignatureError
from verify.formats.statement import SignedStatement, verify_signature

PARALLEL_MIN_ENTRIES = 4096  # below this, starting processes costs more than it saves
MAX_WORKERS = 8


@dataclass(frozen=True)
class SignatureJob:
    """An entry's signature to check: what a worker process needs, no more."""

    index: int
    stream: str
    entry_type: str
    principal: str
    key_id: str
    public_key: bytes
    signature: str
    statement_bytes: bytes


def signature_failure(job: SignatureJob) -> Finding | None:
    """Check one signature (``verify.formats.statement.verify_signature``)."""
    statement = {"principal": job.principal, "key_id": job.key_id}
    signed = SignedStatement(statement, job.signature, job.statement_bytes)
    try:
        verify_signature(signed, job.public_key)
    except BadSignatureError as exc:
        return Finding("signature", str(exc), job.index, job.stream, job.entry_type)
    return None


def check_signatures(jobs: list[SignatureJob]) -> list[Finding]:
    """A chunk of signatures (run in a worker process); the failures."""
    return [found for job in jobs if (found := signature_failure(job)) is not None]


def pool_size(requested: int | None, size: int) -> int:
    """Worker processes: as requested, else one per core (at most 8) for large logs."""
    if requested is not None:
        return max(1, requested)
    if size < PARALLEL_MIN_ENTRIES:
        return 1
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


class SignaturePool:
    """Deferred signature checks, in worker processes, a bounded number in flight."""

    def __init__(self, workers: int, found: Callable[[Finding], None]) -> None:
        self.found = found
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        if workers > 1:
            try:
                context = multiprocessing.get_context("spawn")
                self.pool = ProcessPoolExecutor(workers, mp_context=context)
            except (OSError, NotImplementedError, ImportError):
                self.pool = None  # no process support here: check in this process
        self.pending: deque[tuple[Future[list[Finding]], list[SignatureJob]]] = deque()

    @property
    def parallel(self) -> bool:
        return self.pool is not None

    @property
    def window(self) -> int:
        """Entry bundles read ahead of the replay (0 without workers)."""
        return 2 * self.workers if self.pool is not None else 0

    def prechecks(self, entries: list[bytes], keys: dict[str, bytes]) -> Prechecks:
        """Have a worker read ``entries`` (``verify.check.precheck``); ``keys`` must
        not change afterwards. Without workers, nothing: the replay reads them."""
        if self.pool is None or not entries:
            return Prechecks(None)
        try:
            return Prechecks(self.pool.submit(precheck_bundle, BundleJob(entries, keys)))
        except (BrokenProcessPool, RuntimeError):
            self._broken()
            return Prechecks(None)

    def _broken(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=False)
            self.pool = None

    def submit(self, jobs: list[SignatureJob]) -> None:
        if not jobs:
            return
        if self.pool is not None:
            try:
                self.pending.append((self.pool.submit(check_signatures, jobs), jobs))
            except (BrokenProcessPool, RuntimeError):
                self._broken()
        if self.pool is None:
            self._report(check_signatures(jobs))
            return
        while len(self.pending) > 2 * self.workers:
            self._collect()

    def _collect(self) -> None:
        future, jobs = self.pending.popleft()
        try:
            results = future.result()
        except BrokenProcessPool:  # a worker died: check this chunk here, and the rest
            results = check_signatures(jobs)
            self._broken()
        self._report(results)

    def _report(self, results: list[Finding]) -> None:
        for finding in results:
            self.found(finding)

    def finish(self) -> None:
        while self.pending:
            self._collect()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


class Prechecks:
    """A worker's ``Precheck`` of each entry of one bundle, when it comes."""

    def __init__(self, future: Future[list[Precheck]] | None) -> None:
        self.future = future

    def result(self) -> list[Precheck] | None:
        """The prechecks, or None (no worker, or it died): the replay reads them."""
        if self.future is None:
            return None
        try:
            return self.future.result()
        except BrokenProcessPool:
            return None
