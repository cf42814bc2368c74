"""The recording benchmark's baseline: plain ``eventsourcing``, unsigned events.

An ``Application`` with an ``@event``-decorated aggregate on the ledger's own
environment (``ledger.persistence.persistence_env``: the same persistence module,
database, text stream ids and aggregate cache); only the mapper and the domain
differ from the ledger.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

from eventsourcing.application import Application
from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
    event,
)

from benchmarks.common import Options, PeakMemory, fresh_store
from ledger.dialect import persistence_env

if TYPE_CHECKING:
    from benchmarks.recording import StreamPlan

SINGLE, BATCH = "single", 50  # as benchmarks.recording


class TextIdAggregate(BaseAggregate[str]):
    """A plain ``eventsourcing`` aggregate whose ids are text (like our streams)."""

    @dataclass(frozen=True)
    class Event(CanMutateAggregate[str], metaclass=MetaDomainEvent):
        originator_id: str
        originator_version: int
        timestamp: datetime

    @dataclass(frozen=True)
    class Created(Event, CanInitAggregate[str]):
        originator_topic: str


class PlainAssessment(TextIdAggregate):
    """The baseline's assessment: opened, then one event per value."""

    @staticmethod
    def create_id(stream: str) -> str:
        return stream

    @event("Opened")
    def __init__(self, stream: str) -> None:
        self.values: dict[tuple[str, int], int] = {}

    @event("ValueSubmitted")
    def submit_value(self, body: dict[str, Any]) -> None:
        self.values[(body["kpi"], body["reference_year"])] = self.version


class PlainApp(Application[str]):
    name = "PlainBaseline"


def measure_plain(
    backend: str, options: Options, workdir: Path, plans: list[StreamPlan], mode: str
) -> tuple[float, float]:
    """(events per second, peak RSS MB) of the idiomatic command pattern: get the
    aggregate, call the command method(s), save; one save per value or per 50."""
    n = sum(len(plan.bodies) for plan in plans)
    home = Path(tempfile.mkdtemp(prefix="plain-", dir=workdir))
    with fresh_store(backend, home, options.database_url) as settings:
        app = PlainApp(persistence_env(settings))
        try:
            for first in range(0, len(plans), BATCH):
                app.save(*(PlainAssessment(p.stream) for p in plans[first : first + BATCH]))
            before = int(app.recorder.max_notification_id() or 0)
            bodies = [[dict(body) for body in plan.bodies] for plan in plans]
            with PeakMemory() as memory:
                start = perf_counter()
                for plan, plan_bodies in zip(plans, bodies, strict=True):
                    if mode == SINGLE:
                        for body in plan_bodies:
                            aggregate: PlainAssessment = app.repository.get(plan.stream)
                            aggregate.submit_value(body)
                            app.save(aggregate)
                    else:
                        aggregate = app.repository.get(plan.stream)
                        for body in plan_bodies:
                            aggregate.submit_value(body)
                        app.save(aggregate)
                elapsed = perf_counter() - start
            saved = int(app.recorder.max_notification_id() or 0) - before
            if saved != n:
                raise RuntimeError(f"the plain app saved {saved} events of {n}")
        finally:
            app.close()
    return n / elapsed, memory.mb
