"""The ledger's clock jumps backwards, then comes back (docs/design.md §2,
docs/decisions.md 34), on SQLite and PostgreSQL.

The time comes from ``Ledger.clock`` (a real seam, ``datetime.now`` by
default). While the clock is behind the last entry, entries are stamped with
the last entry's time, so ``recorded_at`` never decreases; a statement is
admitted against the time its entry will carry, which is what the verifier
checks: one dated in the future of it is refused (``ClockError``), and one
issued more than 24 hours before it is refused (``ExpiredStatementError``),
where the ledger used to admit it against the wall clock and record an entry
the verifier then failed. When the clock comes back, the refused statement is
recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from ledger.application import Recorded
from ledger.errors import ClockError, ExpiredStatementError
from tests.faults.kit import Tally
from verify.formats.entry import parse_entry
from verify.formats.statement import SignedStatement

if TYPE_CHECKING:
    from tests.conftest import World


class Clock:
    """A clock the test turns: ``now`` is what the ledger reads."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def signed(world: World, kpi: str, value: dict[str, Any], unit: str, at: datetime) -> Any:
    """Kenya's value of ``kpi``, issued at ``at`` by a signer's own clock."""
    body = world.value_body(kpi, value, unit)
    statement = world.statement(
        world.ncp_ken, world.KEN, "value.submitted", body, issued_at=at
    )
    return world.ncp_ken.sign(statement)


def recorded_times(world: World) -> list[str]:
    store = world.ledger.sequencer.store
    entries = store.entries(0, world.ledger.log_size())
    return [parse_entry(raw).recorded_at for _, raw in entries]


def test_recorded_at_never_decreases_and_admission_follows_the_entry_time(
    world: World,
) -> None:
    tally = Tally("clock jumped backwards")
    ledger = world.ledger
    start = datetime.now(UTC).replace(microsecond=0)
    clock = Clock(start)
    ledger.clock = clock
    hours = signed(world, world.KPI_HOURS, {"amount": "12"}, "hours", start)
    assert isinstance(tally.write(lambda: ledger.record(hours)), Recorded)

    clock.now = start - timedelta(hours=2)  # the clock jumps back two hours
    tally.faults += 1
    behind = signed(world, world.KPI_PERCENT, {"amount": "80"}, "percent", clock.now)
    recorded = tally.write(lambda: ledger.record(behind))
    assert isinstance(recorded, Recorded)
    assert recorded.recorded_at == recorded_times(world)[-2]  # the tail's time

    clock.now += timedelta(minutes=30)  # still behind; a right clock is ahead
    ahead = signed(
        world, world.KPI_YES_NO, {"answer": True}, "yes_no", start + timedelta(minutes=30)
    )
    refused(tally, world, ahead, ClockError, "in the future of the ledger's clock")

    clock.now = start - timedelta(hours=25)  # far behind: signed by this clock
    tally.faults += 1
    stale = signed(
        world, world.KPI_RATIO, {"denominator": "4", "numerator": "3"}, "ratio", clock.now
    )
    # Its entry would say recorded 25 hours after issue, which the verifier fails.
    refused(tally, world, stale, ExpiredStatementError, "hours before the ledger")

    clock.now = start + timedelta(minutes=31)  # the clock comes back
    again = tally.write(lambda: ledger.record(ahead))
    assert isinstance(again, Recorded)
    times = recorded_times(world)
    assert times == sorted(times), "recorded_at decreased along the log"
    tally.recovered(ledger, hours, behind, ahead)


def refused(
    tally: Tally,
    world: World,
    statement: SignedStatement,
    error: type[Exception],
    phrase: str,
) -> None:
    tally.attempted += 1
    world.refused(statement, error, phrase)
    tally.refused += 1


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_default_clock_is_the_wall_clock(world: World) -> None:
    before = datetime.now(UTC)
    now = world.ledger.clock()
    assert now.tzinfo is not None and before <= now <= datetime.now(UTC)
