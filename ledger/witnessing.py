"""The ledger's side of witnessing: send the newest checkpoint to the witnesses
of the tlog-policy, attach the cosignatures they return, and say whether the
quorum is met (docs/design.md §4; docs/formats.md §2.4, §2.6; docs/decisions.md 31).

Witnessing runs after a write, outside the writer lock: a slow or hung witness
never holds back another writer's stamp, save and integration. Rounds take a
witnessing lock of their own (per process, and across processes a PostgreSQL
advisory lock or a ``flock`` beside the SQLite file), and each round sends the
newest stored checkpoint. Stored checkpoints only grow (the writer lock
integrates them in size order), so the sizes the witnesses are sent never
decrease; a writer whose own checkpoint is older is covered by the newer one
and gets its receipt against it. A witness whose cosignature the stored
checkpoint already carries is not asked again, and the cosignatures a round
gathers are stored with the checkpoint.

A witness that is down, slow or refuses leaves the checkpoint without its
cosignature: the checkpoint is then reported as below quorum, never hidden
or held back. So is a round that cannot start because another writer's round
has waited on the witnesses longer than ``WAIT_SECONDS``: that writer returns
at once, its entry recorded, and the next round covers it. A 409 answer tells
the size the witness last cosigned; the client retries once from that size
with the matching consistency proof.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ledger.log_store import LogStore
from ledger.writer_lock import WriterLock
from verify.errors import VerifyError
from verify.formats.checkpoint import parse_checkpoint
from verify.formats.note import Note, Signature, parse_note, parse_signature_lines
from verify.formats.policy_text import PolicyWitness, TrustPolicy
from verify.formats.proofs import AddCheckpoint

TIMEOUT_SECONDS = 5.0  # one request to one witness
# How long a writer waits for another writer's round: a round with witnesses
# that answer takes milliseconds, so one that holds the lock this long is
# waiting on a slow or hung witness, and the writer returns without it.
WAIT_SECONDS = 1.0
# What a witness's refusal means for the operator (docs/backup.md).
ROLLED_BACK = (
    "the log was rolled back (restored from an older backup?); the witness will "
    "never cosign it again"
)
FORKED = (
    "this log does not extend what the witness cosigned: it forked (restored from "
    "an older backup, then written to?)"
)


@dataclass(frozen=True)
class Witnessed:
    size: int  # the tree size of the checkpoint below
    note: str  # the checkpoint with the log signature and every cosignature
    cosigners: frozenset[str]
    quorum_met: bool
    refusals: tuple[str, ...]


class WitnessClient:
    def __init__(self, policy: TrustPolicy, proof: Callable[[int, int], list[bytes]]):
        self.policy = policy
        self.proof = proof  # consistency proof (old, new) from the sequencer
        self.cosigned: dict[str, int] = {}  # witness name -> size it last cosigned
        self.timeout = TIMEOUT_SECONDS
        self._proof_lock = threading.Lock()

    def witness(self, note: str, *, ask: bool = True) -> Witnessed:
        """Ask every witness with a URL whose cosignature ``note`` lacks (none
        when not ``ask``); the note with every cosignature that verifies."""
        parsed = parse_note(note)
        size = parse_checkpoint(parsed.text).size
        signatures = list(parsed.signatures)
        names: set[str] = set()
        refusals: list[str] = []
        to_ask: list[PolicyWitness] = []
        for witness in self.policy.witnesses:
            if _cosigns(witness, parsed.text, signatures):
                names.add(witness.name)
            elif witness.url is not None and ask:
                to_ask.append(witness)
        # The witnesses are asked at once, so a round costs the slowest witness,
        # not their sum; each answer is still verified, in the policy's order.
        answers = self._ask_all(to_ask, parsed.text, note, size)
        for witness, answer in zip(to_ask, answers, strict=True):
            if isinstance(answer, Exception):
                refusals.append(f"{witness.name}: {answer}")
                continue
            try:
                cosignature = parse_signature_lines(answer)[0]
                if not _cosigns(witness, parsed.text, [cosignature]):
                    raise VerifyError("its cosignature does not verify under its key")
            except (OSError, VerifyError, ValueError) as exc:
                refusals.append(f"{witness.name}: {exc}")
                continue
            self.cosigned[witness.name] = size
            signatures.append(cosignature)
            names.add(witness.name)
        full = Note(parsed.text, tuple(signatures)).format()
        return Witnessed(
            size, full, frozenset(names), self.policy.satisfied_by(names), tuple(refusals)
        )

    def _ask_all(
        self, witnesses: list[PolicyWitness], body: str, note: str, size: int
    ) -> list[str | Exception]:
        """Each witness's answer line, or the error that stopped it."""

        def one(witness: PolicyWitness) -> str | Exception:
            assert witness.url is not None
            try:
                return self._ask(witness.name, witness.url, body, note, size)
            except (OSError, VerifyError, ValueError) as exc:
                return exc

        if len(witnesses) < 2:
            return [one(w) for w in witnesses]
        with ThreadPoolExecutor(len(witnesses), thread_name_prefix="witness") as pool:
            return list(pool.map(one, witnesses))

    def _ask(self, name: str, url: str, body: str, note: str, size: int) -> str:
        old = self.cosigned.get(name, 0)
        for _ in range(2):
            with self._proof_lock:  # the sequencer's store, from several threads
                proof = self.proof(old, size) if 0 < old < size else []
            request = AddCheckpoint(old, tuple(proof), note).format()
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(
                        url.rstrip("/") + "/add-checkpoint", request.encode(), method="POST"
                    ),
                    timeout=self.timeout,
                ) as response:
                    return str(response.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                answer = exc.read().decode("utf-8", "replace").strip()
                if exc.code == 422 and "consistency proof" in answer:
                    raise ValueError(f"HTTP 422: {answer}: {FORKED}") from None
                if exc.code != 409 or not answer.isdigit():
                    raise ValueError(f"HTTP {exc.code}: {answer}") from None
                seen = int(answer)
                if seen > size:
                    raise ValueError(
                        f"it cosigned a checkpoint of size {seen}, larger than this "
                        f"log's {size}: {ROLLED_BACK}"
                    ) from None
                if seen == old:  # it was sent its own size, and still refuses
                    raise ValueError(
                        f"it cosigned another tree of size {seen}: {FORKED}"
                    ) from None
                old = seen
        raise ValueError(f"witness keeps answering 409 (last size {old})")


def _cosigns(witness: PolicyWitness, text: str, signatures: list[Signature]) -> bool:
    verifier = witness.verifier
    return any(
        s.key_id == verifier.key_id and verifier.verify(text.encode(), s.signature)
        for s in signatures
    )


class Witnessing:
    """Witnessing rounds after writes, one at a time across processes."""

    def __init__(self, client: WitnessClient, store: LogStore, lock: WriterLock) -> None:
        self.client = client
        self.store = store
        self.lock = lock  # the cross-process witnessing lock
        self.local = threading.Lock()  # the threads of this process
        self.wait = WAIT_SECONDS

    def after_write(self, size: int) -> Witnessed:
        """A round for the newest checkpoint, whose size is at least ``size``
        (the log's size after the write); or, when another round keeps the
        witnesses longer than ``wait``, checkpoint ``size`` as it is stored."""
        deadline = time.monotonic() + self.wait
        if self.local.acquire(timeout=self.wait):
            try:
                left = max(0.0, deadline - time.monotonic())
                with self.lock.hold_within(left) as held:
                    if held:
                        return self._round()
            finally:
                self.local.release()
        found = self.store.checkpoint(size)
        assert found is not None, f"checkpoint {size} was stored by its write"
        as_stored = self.client.witness(found[1], ask=False)
        busy = (
            f"not witnessed yet: another writer's witnessing round has taken over "
            f"{self.wait:g} s (a slow or hung witness); checkpoint {size} is recorded "
            "and the next round's checkpoint covers it"
        )
        return Witnessed(
            size,
            as_stored.note,
            as_stored.cosigners,
            as_stored.quorum_met,
            (*as_stored.refusals, busy),
        )

    def _round(self) -> Witnessed:
        """Under the witnessing lock: send the newest stored checkpoint, store
        what it gathered."""
        newest = self.store.checkpoint()
        assert newest is not None, "a write stores its checkpoint before witnessing"
        size, note = newest
        witnessed = self.client.witness(note)
        if witnessed.note != note:
            self.store.replace_checkpoint(size, witnessed.note)
        return witnessed
