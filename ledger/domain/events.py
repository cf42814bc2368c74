"""The base of every domain event: a recorded signed statement.

Each event carries the statement as signed, its signature and the exact log
entry bytes (docs/design.md §3): the persistence mapper stores those bytes verbatim
and rebuilds the event from them, so nothing is re-serialised before hashing.
Validation lives in the aggregates' command methods; ``apply`` only replays,
through the transitions the verifier replays too (``verify.rules.transitions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from eventsourcing.domain import (
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
)
from eventsourcing.utils import register_topic

from verify.rules import Change


@dataclass(frozen=True)
class Signed:
    """What the application hands a command method: a checked statement, the
    entry bytes it will be stored as, when, who signed it with which role, and
    the admins whose approvals of it verified (``ledger/admission.py``)."""

    statement: dict[str, Any]
    signature: str
    entry: bytes
    recorded_at: datetime
    principal: str
    role: str
    approvers: tuple[str, ...] = ()

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = self.statement["body"]
        return body

    @property
    def type(self) -> str:
        return str(self.statement["type"])


@dataclass(frozen=True)
class LedgerEvent(CanMutateAggregate[str], metaclass=MetaDomainEvent):
    """A recorded statement; ``TOPIC`` is the statement type, stable forever."""

    TOPIC: ClassVar[str]

    originator_id: str
    originator_version: int
    timestamp: datetime
    statement: dict[str, Any]
    signature: str
    entry: bytes

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = self.statement["body"]
        return body

    @property
    def principal(self) -> str:
        return str(self.statement["principal"])

    def change(self) -> Change:
        """This entry as the rules' state takes it (``verify.rules.transitions``);
        the ledger counts positions in stream versions."""
        version = self.originator_version
        return Change(self.TOPIC, self.principal, self.body, version, version)


class LedgerCreated(CanInitAggregate[str], LedgerEvent):
    """A recorded statement that starts a stream (version 1)."""

    AGGREGATE_TOPIC: ClassVar[str]

    @property
    def originator_topic(self) -> str:  # type: ignore[override]
        return self.AGGREGATE_TOPIC


def event_kwargs(signed: Signed) -> dict[str, Any]:
    """Keyword arguments every event takes from the statement it records."""
    return {
        "statement": signed.statement,
        "signature": signed.signature,
        "entry": signed.entry,
        "timestamp": signed.recorded_at,
    }


def registered(*classes: type[LedgerEvent]) -> None:
    """Register each event class under its explicit topic (the statement type)."""
    for cls in classes:
        register_topic(cls.TOPIC, cls)
