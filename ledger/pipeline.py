"""The write pipeline: from signed statements to integrated entries.

Every use case takes signed statements and records them in one transaction
or refuses them with a specific ``LedgerError`` (or ``verify`` format error),
leaving nothing recorded. Outside the writer lock, the stateless work: read
the bytes and check each signature against the key its signer had at this
process's last write (``ledger.admission.precheck``). Under the lock, all that
depends on state (docs/decisions.md 35): admit the signer at the record time
(``ledger.admission.admit``, which verifies again any signature whose key is
not the one pre-checked), check the stream is at the expected version (a
replay of a recorded statement is named as such), build the entry bytes, run
the domain command on the writer's own copy of the stream
(``ledger.work``), save every new event at once and integrate them.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from eventsourcing.persistence import EventStore, IntegrityError, Recording

from ledger import use_cases
from ledger.access_log import AccessLog
from ledger.admission import Prechecked, Statement, admit, precheck, read_statement
from ledger.domain.events import LedgerEvent, Signed
from ledger.domain.registry import REGISTRY_STREAM, PrincipalRegistry
from ledger.domain.seals import SEALS_STREAM, AccessLogSeals
from ledger.errors import (
    AccessLogIntegrityError,
    DuplicateStatementError,
    NotFoundError,
    StaleVersionError,
)
from ledger.keys import KeyPair
from ledger.log_keys import KeyedLog
from ledger.recorded import NewestProofs, Recorded, results
from ledger.sequencer import Integrated
from ledger.storage_faults import BEFORE, guarded_write
from ledger.witnessing import Witnessed, Witnessing
from ledger.work import Head, Streams, UnitOfWork, WriterCopies
from ledger.writer_lock import WriterLock
from verify.errors import VerifyError
from verify.formats.entry import entry_bytes, parse_entry
from verify.formats.statement import SignedStatement, parse_timestamp
from verify.rules.seals import SealState

NEVER = datetime.min.replace(tzinfo=UTC)
Prepared = tuple[SignedStatement, Prechecked | None]


class Writing(KeyedLog, Streams, Protocol):
    """What the pipeline uses of the ledger (``ledger.application.Ledger``): a
    protocol, so that nothing below the ledger imports it (docs/decisions.md
    decision 40)."""

    last_witnessed: Witnessed | None

    @property
    def sealer(self) -> KeyPair | None: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def writer(self) -> WriterLock: ...

    @property
    def access_log(self) -> AccessLog: ...

    @property
    def witnessing(self) -> Witnessing | None: ...

    @property
    def events(self) -> EventStore[str]: ...

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[str]]: ...

    def follow_log_key(self, work: UnitOfWork) -> None: ...


class Pipeline:
    """One per ledger: the writer's copies, and the record time of the write."""

    def __init__(self, ledger: Writing) -> None:
        self.ledger = ledger
        self.lock = threading.Lock()  # this process's writers, one at a time
        self.copies = WriterCopies()
        self.recorded_at = NEVER
        self.proofs = NewestProofs()
        # A registry no write will change (a deep copy): which key each signer
        # had at the last write, read outside the lock by ``precheck``.
        self.key_hint: PrincipalRegistry | None = None

    def record_all(
        self,
        statements: list[Statement],
        *,
        seal_only: bool = False,
    ) -> list[Recorded]:
        if not statements and not seal_only:
            return []  # an empty batch records nothing, not even a seal
        ledger = self.ledger
        self.proofs.remember(None)
        prepared = self._prepare(statements)
        with guarded_write() as write, self.lock, ledger.writer.hold():
            work, access_head = self._begin()
            try:
                signed_events: list[Signed] = []
                for item in prepared:
                    if isinstance(item, VerifyError):
                        raise item
                    signed, checked = item
                    signed_events.append(self._apply(work, signed, checked))
                seal = self._seal(work, access_head)
                if seal is not None:
                    signed_events.append(self._apply(work, seal, None))
                if not signed_events:
                    return []
                aggregates = [a for a in work.loaded.values() if a and a.pending_events]
                try:
                    recordings = write.save(ledger.save, *aggregates)
                except IntegrityError:
                    # A writer that ignores the writer lock took a version first.
                    for signed_event in signed_events:
                        self.check_version(UnitOfWork(ledger), signed_event.statement)
                    raise StaleVersionError(
                        "a concurrent write changed a stream; re-read and sign again"
                    ) from None
                ledger.follow_log_key(work)
                integrated = ledger.sequencer.integrate()
            except BaseException:
                if write.phase == BEFORE:
                    self.copies.discard(work)  # what the write changed, no more
                else:
                    self.copies.clear()  # the commit's outcome may be unknown
                raise
            alone = self._keep(work, integrated, recordings)
        size = integrated.size
        # Outside the writer lock, so a slow witness holds back no other write;
        # the receipt is against the checkpoint the round sent, which covers
        # this write's (decision 31).
        witnessing = ledger.witnessing
        witnessed = None if witnessing is None else witnessing.after_write(size)
        ledger.last_witnessed = witnessed or ledger.last_witnessed
        # Only this write's entries were integrated, and no witness round
        # moved its receipt to a later checkpoint: its newest leaf's proof is
        # what the integration computed.
        self.proofs.remember(integrated if alone and witnessed is None else None)
        return results(statements, signed_events, recordings, size, witnessed)

    def _prepare(self, statements: list[Statement]) -> list[Prepared | VerifyError]:
        """Outside every lock: parse each statement and pre-check its signature.
        A statement that cannot be read ends the list; the lock raises its error
        at its place, after whatever the statements before it raise."""
        hint = self.key_hint
        prepared: list[Prepared | VerifyError] = []
        for statement in statements:
            try:
                signed = read_statement(statement)
            except VerifyError as exc:
                prepared.append(exc)
                break
            prepared.append((signed, precheck(signed, hint)))
        return prepared

    def _begin(self) -> tuple[UnitOfWork, tuple[int, str]]:
        """Under the lock: the record time, and a unit of work on the writer's
        copies if the log's newest event is still this process's last; with
        the access log's head, read at the same time."""
        ledger = self.ledger
        newest, access_head = ledger.access_log.heads()
        kept = self.copies.valid_at(newest)
        if kept is None:
            # Another process wrote (or this is the first write): the floor is
            # the newest stored entry's recorded_at, whoever wrote it.
            tail = parse_timestamp(parse_entry(newest[1]).recorded_at) if newest else NEVER
            size = None
        else:
            tail, size = kept.recorded_at, kept.size
        # One record time for the whole batch: the events are stored grouped
        # by stream, not in statement order, so per-statement times could
        # decrease along the log (docs/design.md §2: recorded_at never decreases).
        self.recorded_at = max(ledger.clock(), tail)
        return UnitOfWork(ledger, self.copies, size), access_head

    def _keep(
        self, work: UnitOfWork, integrated: Integrated, recordings: list[Recording[str]]
    ) -> bool:
        """Keep the copies if the integration added exactly this write's entries
        (no event of another writer came in between); whether it did."""
        last = max(recordings, key=lambda r: r.notification.id)
        if (
            integrated.added != len(recordings)
            or integrated.last_id != last.notification.id
        ):
            self.copies.clear()
            return False
        event = last.domain_event
        assert isinstance(event, LedgerEvent)
        entry = event.entry
        head = Head(integrated.last_id, entry, self.recorded_at, integrated.size)
        self.copies.keep(work, head)
        registry = work.loaded.get(REGISTRY_STREAM)
        if isinstance(registry, PrincipalRegistry) and (
            self.key_hint is None or self.key_hint.version != registry.version
        ):
            self.key_hint = copy.deepcopy(registry)
        return True

    def _seal(
        self, work: UnitOfWork, access_head: tuple[int, str]
    ) -> SignedStatement | None:
        """A seal of the access log's head, when it moved since the last seal:
        so every checkpoint that follows restricted reads covers them."""
        ledger = self.ledger
        if ledger.sealer is None:
            return None
        size, head = access_head
        seals: AccessLogSeals | None = work.get(SEALS_STREAM)
        state = seals.state if seals is not None else SealState()
        if (state.last.size, state.last.head) == (size, head):
            return None
        body = {"head": head, "size": size}
        contradiction = state.refusal(body)
        if contradiction is not None:
            raise AccessLogIntegrityError(
                f"the access log contradicts its last seal: {contradiction.reason}; "
                "nothing is recorded until an integrity officer has looked "
                "(pmm access-log verify)"
            )
        version = seals.version if seals is not None else 0
        statement = ledger.sealer.statement(
            ledger.origin, SEALS_STREAM, "access_log.sealed", body, version
        )
        return ledger.sealer.sign(statement)

    def _apply(
        self, work: UnitOfWork, signed: SignedStatement, checked: Prechecked | None
    ) -> Signed:
        # Admitted at the record time the entry will carry, which the verifier
        # checks the issue time against (docs/decisions.md 34).
        now = self.recorded_at
        registry = work.get(REGISTRY_STREAM)
        admitted = admit(signed, registry, self.ledger.origin, now, checked)
        work.get(signed.stream, writable=True)
        self.check_version(work, signed.statement)
        version = signed.expected_version + 1
        event = Signed(
            signed.statement,
            signed.signature,
            entry_bytes(signed, version, now),
            now,
            signed.principal,
            admitted.role,
            admitted.approvers,
        )
        use_cases.run(self.ledger, work, event)
        return event

    def check_version(self, work: UnitOfWork, statement: dict[str, Any]) -> None:
        stream, expected = statement["stream"], statement["expected_version"]
        aggregate = work.get(stream)
        current = aggregate.version if aggregate is not None else 0
        if current == expected:
            return
        if aggregate is None:
            raise NotFoundError(
                f"stream {stream!r} does not exist; its first statement must come first"
            )
        digest = SignedStatement(statement, "").digest()
        stored = self.ledger.events.get(stream, gt=expected, lte=expected + 1)
        for event in [*stored, *aggregate.pending_events]:
            if event.originator_version != expected + 1:
                continue
            if SignedStatement(event.statement, "").digest() == digest:
                raise DuplicateStatementError(
                    f"this statement was already recorded as {stream!r} version "
                    f"{expected + 1}; a signed statement is recorded at most once"
                )
        raise StaleVersionError(
            f"stream {stream!r} is at version {current}, the statement expects "
            f"{expected}; read the stream again and sign a new statement"
        )
