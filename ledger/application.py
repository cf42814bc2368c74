"""The ledger application: ``record`` and ``record_batch`` (docs/design.md §3, §6).

Every statement, whatever its type, goes through the same two methods and is
recorded in one transaction or refused with a specific ``LedgerError`` (or
``verify`` format error), leaving nothing recorded; the pipeline that does it
is ``ledger.pipeline``, and the one table from a statement's stream to its
aggregate's command is ``ledger.use_cases.COMMANDS`` (docs/decisions.md
decision 40). A new ledger's genesis is made where its home is
(``ledger.home.genesis``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper

from ledger.access_log import AccessLog
from ledger.admission import Statement
from ledger.dialect import dialect_of
from ledger.domain.registry import REGISTRY_STREAM, PrincipalRegistry
from ledger.keys import KeyPair
from ledger.log_keys import LogKeys, load_log_keys, log_key_changes
from ledger.persistence import EntryMapper, Settings
from ledger.pipeline import Pipeline
from ledger.recorded import Recorded
from ledger.sequencer import Sequencer
from ledger.sessions import SessionStore
from ledger.witnessing import WitnessClient, Witnessed, Witnessing
from ledger.work import UnitOfWork
from verify.formats.policy_text import TrustPolicy

__all__ = ["Ledger", "Recorded", "Statement", "UnitOfWork"]


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
        self.clock = clock  # the record time's source; tests turn it back
        self.pipeline = Pipeline(self)
        # What differs between the backends, chosen once (decision 41).
        self.dialect = dialect = dialect_of(settings)
        env = dialect.env(settings)
        dialect.before_open(env)
        super().__init__(env)
        datastore = self.recorder.datastore  # type: ignore[attr-defined]
        self.writer = dialect.lock(datastore, settings, "writer")
        # A lock of its own, so that an opening never waits for the writers.
        self.tables_lock = dialect.tables_lock(datastore)
        with self.tables_lock.hold():
            dialect.create_tables(self.recorder)
            # The log key that signs is the one the registry last handed over to
            # (docs/decisions.md 33), the first key until then.
            self.log_keys = LogKeys(origin, log_key, later_log_keys)
            signer = self.log_keys.current(log_key_changes(self))
            self.sequencer = Sequencer(self.recorder, origin, signer, dialect)
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
                dialect.lock(datastore, settings, "witness"),
            )
            if self.witnesses is not None
            else None
        )

    def construct_mapper(self) -> Mapper[str]:
        return EntryMapper()

    # -- the use cases -------------------------------------------------------

    def record(self, statement: Statement) -> Recorded:
        """Record any one signed statement: its stream's command is chosen in one
        place, ``ledger.use_cases.COMMANDS`` (docs/decisions.md decision 40)."""
        return self._with_receipt(self.record_batch([statement])[0])

    def record_batch(self, statements: Iterable[Statement]) -> list[Recorded]:
        """Record several statements in one transaction: all or none."""
        return self.pipeline.record_all(list(statements))

    def seal_access_log(self) -> Recorded | None:
        """Seal the access log's head now, if it moved since the last seal
        (decision 16); None when there is nothing new to seal."""
        recorded = self.pipeline.record_all([], seal_only=True)
        return self._with_receipt(recorded[0]) if recorded else None

    # -- reads ---------------------------------------------------------------

    def registry(self) -> PrincipalRegistry | None:
        found: PrincipalRegistry | None = UnitOfWork(self).get(REGISTRY_STREAM)
        return found

    def aggregate(self, stream: str) -> Any:
        return UnitOfWork(self).require(stream)

    def stream_version(self, stream: str) -> int:
        found = UnitOfWork(self).get(stream)
        return int(found.version) if found is not None else 0

    def open_sessions(self) -> SessionStore:
        """The browser sessions' store, its tables made under the tables lock (one
        worker at a time)."""
        with self.tables_lock.hold():
            return SessionStore(self.sequencer.store)

    def log_size(self) -> int:
        """Entries in the integrity log (gapless, 0-based indexes below this)."""
        return self.sequencer.size()

    def log_vkey(self) -> str:
        """The log's C2SP verifier key, ``origin+hex8+base64(0x01 || key)``."""
        return self.sequencer.signer.verifier().vkey()

    def receipt(self, index: int, size: int | None = None) -> str:
        """The c2sp.org/tlog-proof@v1 receipt of entry ``index`` (tree ``size``)."""
        return self.sequencer.inclusion(index, size).format()

    # -- the pipeline (ledger/pipeline.py) --------------------------------------

    def _with_receipt(self, recorded: Recorded) -> Recorded:
        index, size = recorded.log_index, recorded.tree_size
        receipt = self.pipeline.proofs.receipt(self.receipt, index, size)
        return dataclasses.replace(recorded, receipt=receipt)

    def follow_log_key(self, work: UnitOfWork) -> None:
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
