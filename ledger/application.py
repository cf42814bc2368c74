"""The ledger application: one method per use case (issue 2, DESIGN.md §3).

Every use case takes a signed statement and records it in one transaction or
refuses it with a specific ``LedgerError`` (or ``verify`` format error),
leaving nothing recorded. The pipeline: read the bytes, admit the signer
(``ledger.admission``), check the stream is at the expected version (a replay
of a recorded statement is named as such), build the entry bytes, run the
domain command, then save every new event at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import IntegrityError, Mapper

from ledger import use_cases
from ledger.access_log import AccessLog
from ledger.admission import admit, read_statement
from ledger.domain.events import Signed
from ledger.domain.registry import REGISTRY_STREAM, PrincipalRegistry
from ledger.domain.seals import SEALS_STREAM, AccessLogSeals
from ledger.errors import (
    AccessLogIntegrityError,
    DuplicateStatementError,
    NotFoundError,
    StaleVersionError,
)
from ledger.files import create_private
from ledger.keys import KeyPair
from ledger.log_keys import LogKeys, load_log_keys, log_key_changes
from ledger.persistence import EntryMapper, Settings, persistence_env
from ledger.sequencer import Sequencer
from ledger.storage_faults import guarded_write
from ledger.witnessing import WitnessClient, Witnessed, Witnessing
from ledger.writer_lock import WriterLock
from verify.handover import LOG_KEY_ROTATED
from verify.policy_text import TrustPolicy
from verify.rules.seals import SealState
from verify.statement import (
    SignedStatement,
    entry_bytes,
    format_timestamp,
    parse_entry,
    parse_timestamp,
)

Statement = bytes | SignedStatement


@dataclass(frozen=True)
class Recorded:
    """What a successful write recorded."""

    stream: str
    stream_version: int
    entry_type: str
    principal: str
    recorded_at: str
    entry_sha256: str
    log_index: int
    tree_size: int
    receipt: str | None = None  # c2sp.org/tlog-proof@v1, for single writes
    witnessed: Witnessed | None = None  # this write's witnessing round


class UnitOfWork:
    """The aggregates one transaction reads and changes.

    Streams it only reads (the registry and framework, when a value is
    written) come straight from the repository's cache; the stream a
    statement writes to is a deep copy, so a refused batch leaves the cache
    untouched.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.loaded: dict[str, BaseAggregate[str] | None] = {}
        self.copied: set[str] = set()
        self._log_size: int | None = None

    def log_size(self) -> int:
        """The log's size before this transaction: read once, as it cannot move
        while the writer lock is held."""
        if self._log_size is None:
            self._log_size = self.ledger.log_size()
        return self._log_size

    def get(self, stream: str, *, writable: bool = False) -> Any:
        if stream not in self.loaded or (writable and stream not in self.copied):
            try:
                self.loaded[stream] = self.ledger.repository.get(
                    stream, deepcopy_from_cache=writable
                )
            except AggregateNotFoundError:
                self.loaded[stream] = None
            if writable:
                self.copied.add(stream)
        return self.loaded[stream]

    def require(self, stream: str) -> Any:
        found = self.get(stream)
        if found is None:
            raise NotFoundError(f"stream {stream!r} does not exist yet")
        return found

    def put(self, stream: str, aggregate: BaseAggregate[str]) -> None:
        self.loaded[stream] = aggregate
        self.copied.add(stream)


class Ledger(Application[str]):
    """The PMM assessment ledger over the ``eventsourcing`` library."""

    name = "PMMLedger"

    def __init__(
        self,
        settings: Settings,
        origin: str,
        log_key: KeyPair | None,
        policy: TrustPolicy | None = None,
        sealer: KeyPair | None = None,
        *,
        integrate: bool = True,
        later_log_keys: Sequence[KeyPair] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.origin = origin
        # The ledger's own principal (named by the genesis): it seals the access
        # log's head into the log at every write that follows restricted reads.
        self.sealer = sealer
        self._lock = threading.Lock()
        self.clock = clock  # the record time's source; tests turn it back
        self._last_recorded_at = datetime.min.replace(tzinfo=UTC)
        env = persistence_env(settings)
        if "SQLITE_DBNAME" in env:
            # SQLite gives its WAL and SHM files the database file's mode, so
            # the file is made 0600 before SQLite first opens it (decision 20).
            create_private(Path(env["SQLITE_DBNAME"]))
        else:
            # PostgreSQL refuses CREATE OR REPLACE FUNCTION (the recorder's, the
            # access log's) in two sessions at once ("tuple concurrently
            # updated"): the tables are made below, one opening at a time.
            env["CREATE_TABLE"] = "false"
        super().__init__(env)
        datastore, sqlite_path = self.recorder.datastore, env.get("SQLITE_DBNAME")  # type: ignore[attr-defined]
        self.writer = WriterLock(datastore, sqlite_path)
        # A lock of its own, so that an opening never waits for the writers;
        # none on SQLite, whose writes (DDL too) are one at a time anyway.
        self.tables_lock = WriterLock(datastore, None, "tables")
        with self.tables_lock.hold():
            if self.writer.postgres:
                self.recorder.create_table()  # type: ignore[attr-defined]
            # The log key that signs is the one the registry last handed over to
            # (docs/decisions.md 33), the first key until then.
            self.log_keys = LogKeys(origin, log_key, later_log_keys)
            signer = self.log_keys.current(log_key_changes(self))
            self.sequencer = Sequencer(self.recorder, origin, signer)
            self.access_log = AccessLog(self.sequencer.store)
        # Entries committed before a crash, but not yet in the log, go in first;
        # except for a reader that must see the tables as they are (pmm verify).
        if integrate:
            with self.writer.hold():
                self.sequencer.integrate()
        self.witnesses = (
            WitnessClient(policy, self.sequencer.consistency)
            if policy is not None and any(w.url for w in policy.witnesses)
            else None
        )
        self.last_witnessed: Witnessed | None = None
        # Witnessing has a lock of its own, outside the writer's (decision 31).
        self.witnessing = (
            Witnessing(
                self.witnesses,
                self.sequencer.store,
                WriterLock(datastore, sqlite_path, "witness"),
            )
            if self.witnesses is not None
            else None
        )

    def construct_mapper(self) -> Mapper[str]:
        return EntryMapper()

    # -- the use cases -------------------------------------------------------

    def record(self, statement: Statement) -> Recorded:
        """Record any one signed statement (dispatching on its type)."""
        return self._with_receipt(self.record_batch([statement])[0])

    def record_batch(self, statements: Iterable[Statement]) -> list[Recorded]:
        """Record several statements in one transaction: all or none."""
        return self._record_all(list(statements), None)

    def seal_access_log(self) -> Recorded | None:
        """Seal the access log's head now, if it moved since the last seal
        (decision 16); None when there is nothing new to seal."""
        recorded = self._record_all([], None, seal_only=True)
        return self._with_receipt(recorded[0]) if recorded else None

    def genesis(self, statement: Statement) -> Recorded:
        return self._one(statement, "registry.genesis")

    def register_principal(self, statement: Statement) -> Recorded:
        return self._one(statement, "principal.registered")

    def rotate_key(self, statement: Statement) -> Recorded:
        return self._one(statement, "principal.key_rotated")

    def revoke_principal(self, statement: Statement) -> Recorded:
        return self._one(statement, "principal.revoked")

    def rotate_log_key(self, statement: Statement) -> Recorded:
        return self._one(statement, LOG_KEY_ROTATED)

    def create_framework(self, statement: Statement) -> Recorded:
        return self._one(statement, "framework.created")

    def define_dimension(self, statement: Statement) -> Recorded:
        return self._one(statement, "dimension.defined")

    def define_outcome(self, statement: Statement) -> Recorded:
        return self._one(statement, "outcome.defined")

    def define_kpi(self, statement: Statement) -> Recorded:
        return self._one(statement, "kpi.defined")

    def revise_kpi(self, statement: Statement) -> Recorded:
        return self._one(statement, "kpi.revised")

    def open_assessment(self, statement: Statement) -> Recorded:
        return self._one(statement, "assessment.opened")

    def submit_value(self, statement: Statement) -> Recorded:
        return self._one(statement, "value.submitted")

    def correct_value(self, statement: Statement) -> Recorded:
        return self._one(statement, "value.corrected")

    def declare_not_used(self, statement: Statement) -> Recorded:
        return self._one(statement, "kpi.not_used")

    def set_disclosure(self, statement: Statement) -> Recorded:
        return self._one(statement, "disclosure.set")

    def complete_submission(self, statement: Statement) -> Recorded:
        return self._one(statement, "submission.completed")

    def validate_value(self, statement: Statement) -> Recorded:
        return self._one(statement, "value.validated")

    def query_value(self, statement: Statement) -> Recorded:
        return self._one(statement, "value.queried")

    def return_value(self, statement: Statement) -> Recorded:
        return self._one(statement, "value.returned")

    def revise_score(self, statement: Statement) -> Recorded:
        return self._one(statement, "score.revised")

    def publish(self, statement: Statement) -> Recorded:
        return self._one(statement, "assessment.published")

    def reopen(self, statement: Statement) -> Recorded:
        return self._one(statement, "assessment.reopened")

    def assign_reviewer(self, statement: Statement) -> Recorded:
        return self._one(statement, "reviewer.assigned")

    def record_finding(self, statement: Statement) -> Recorded:
        return self._one(statement, "review.finding_recorded")

    def raise_flag(self, statement: Statement) -> Recorded:
        return self._one(statement, "integrity.flag_raised")

    # -- reads ---------------------------------------------------------------

    def registry(self) -> PrincipalRegistry | None:
        found: PrincipalRegistry | None = UnitOfWork(self).get(REGISTRY_STREAM)
        return found

    def aggregate(self, stream: str) -> Any:
        return UnitOfWork(self).require(stream)

    def stream_version(self, stream: str) -> int:
        found = UnitOfWork(self).get(stream)
        return int(found.version) if found is not None else 0

    def log_size(self) -> int:
        """Entries in the integrity log (gapless, 0-based indexes below this)."""
        return self.sequencer.size()

    def log_vkey(self) -> str:
        """The log's C2SP verifier key, ``origin+hex8+base64(0x01 || key)``."""
        return self.sequencer.signer.verifier().vkey()

    def receipt(self, index: int, size: int | None = None) -> str:
        """The c2sp.org/tlog-proof@v1 receipt of entry ``index`` (tree ``size``)."""
        return self.sequencer.inclusion(index, size).format()

    # -- the pipeline ----------------------------------------------------------

    def _one(self, statement: Statement, expected_type: str) -> Recorded:
        return self._with_receipt(self._record_all([statement], expected_type)[0])

    def _with_receipt(self, recorded: Recorded) -> Recorded:
        receipt = self.receipt(recorded.log_index, recorded.tree_size)
        return dataclasses.replace(recorded, receipt=receipt)

    def _record_all(
        self, statements: list[Statement], only: str | None, *, seal_only: bool = False
    ) -> list[Recorded]:
        if not statements and not seal_only:
            return []  # an empty batch records nothing, not even a seal
        with guarded_write() as write, self._lock, self.writer.hold():
            # One record time for the whole batch: the events are stored grouped
            # by stream, not in statement order, so per-statement times could
            # decrease along the log (DESIGN.md §2: recorded_at never decreases).
            self._last_recorded_at = max(self.clock(), self._tail_recorded_at())
            work = UnitOfWork(self)
            signed_events: list[Signed] = []
            for statement in statements:
                signed = read_statement(statement)
                if only is not None and signed.type != only:
                    raise use_cases.wrong_use_case(signed.type, only)
                signed_events.append(self._apply(work, signed))
            seal = self._seal(work)
            if seal is not None:
                signed_events.append(self._apply(work, seal))
            if not signed_events:
                return []
            aggregates = [a for a in work.loaded.values() if a and a.pending_events]
            try:
                recordings = write.save(self.save, *aggregates)
            except IntegrityError:
                # A writer that ignores the writer lock took a version first.
                for signed_event in signed_events:
                    self._check_version(UnitOfWork(self), signed_event.statement)
                raise StaleVersionError(
                    "a concurrent write changed a stream; re-read and sign again"
                ) from None
            self._follow_log_key(work)
            size = self.sequencer.integrate().size
        # Outside the writer lock, so a slow witness holds back no other write;
        # the receipt is against the checkpoint the round sent, which covers
        # this write's (decision 31).
        witnessed = None if self.witnessing is None else self.witnessing.after_write(size)
        tree_size = size if witnessed is None else max(size, witnessed.size)
        self.last_witnessed = witnessed or self.last_witnessed
        # We held the writer lock, so our entries were the newest leaves, in
        # notification (commit) order.
        ordered = sorted(recordings, key=lambda r: r.notification.id)
        first = size - len(ordered)
        indexes = {
            (r.domain_event.originator_id, r.domain_event.originator_version): first + i
            for i, r in enumerate(ordered)
        }
        recorded = [
            Recorded(
                s.statement["stream"],
                s.statement["expected_version"] + 1,
                s.type,
                s.principal,
                format_timestamp(s.recorded_at),
                hashlib.sha256(s.entry).hexdigest(),
                indexes[(s.statement["stream"], s.statement["expected_version"] + 1)],
                tree_size,
                witnessed=witnessed,
            )
            for s in signed_events
        ]
        # A seal the ledger added is not one of the caller's statements.
        return recorded[: len(statements)] if statements else recorded

    def _follow_log_key(self, work: UnitOfWork) -> None:
        """Sign with the key the registry last handed over to (decisions.md 33),
        also when another process recorded the hand-over: this write's
        checkpoint is then the new key's first, never the old key's."""
        registry: PrincipalRegistry | None = work.get(REGISTRY_STREAM)
        changes = registry.state.log_keys if registry is not None else []
        if not changes or changes[-1].new_key == self.log_vkey():
            return
        if not self.log_keys.holds(changes[-1].new_key):
            # Made by another process after this one opened the ledger.
            for key in load_log_keys(self.settings.home / "keys")[1]:
                self.log_keys.add(key)
        self.sequencer.signer = self.log_keys.current(changes)

    def _seal(self, work: UnitOfWork) -> SignedStatement | None:
        """A seal of the access log's head, when it moved since the last seal:
        so every checkpoint that follows restricted reads covers them."""
        if self.sealer is None:
            return None
        size, head = self.access_log.head()
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
        statement = self.sealer.statement(
            self.origin, SEALS_STREAM, "access_log.sealed", body, version
        )
        return self.sealer.sign(statement)

    def _tail_recorded_at(self) -> datetime:
        """``recorded_at`` of the newest stored entry: the floor for the next."""
        raw = self.sequencer.store.last_entry()
        if raw is None:
            return datetime.min.replace(tzinfo=UTC)
        return parse_timestamp(parse_entry(raw).recorded_at)

    def _apply(self, work: UnitOfWork, signed: SignedStatement) -> Signed:
        # Admitted at the record time the entry will carry, which the verifier
        # checks the issue time against (docs/decisions.md 34).
        now = self._last_recorded_at
        admitted = admit(signed, work.get(REGISTRY_STREAM), self.origin, now)
        work.get(signed.stream, writable=True)
        self._check_version(work, signed.statement)
        recorded_at = self._last_recorded_at
        version = signed.expected_version + 1
        event = Signed(
            signed.statement,
            signed.signature,
            entry_bytes(signed, version, recorded_at),
            recorded_at,
            signed.principal,
            admitted.role,
            admitted.approvers,
        )
        use_cases.run(self, work, event)
        return event

    def _check_version(self, work: UnitOfWork, statement: dict[str, Any]) -> None:
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
        stored = self.events.get(stream, gt=expected, lte=expected + 1)
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
