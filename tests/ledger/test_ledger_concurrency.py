"""Optimistic concurrency between two Ledger instances on one database: of two
statements signed against the same expected version exactly one is recorded,
the other is refused with StaleVersionError, and nothing is half-written."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ledger.application import Ledger, Recorded, Statement
from ledger.domain.assessment import Assessment
from ledger.errors import DuplicateStatementError, StaleVersionError
from ledger.home import open_ledger
from verify.formats.entry import parse_entry
from verify.formats.statement import SignedStatement

if TYPE_CHECKING:
    from tests.conftest import World

SOURCE = {"name": "ASYCUDA export", "sha256": hashlib.sha256(b"x").hexdigest()}


@pytest.fixture
def other(world: World) -> Iterator[Ledger]:
    """A second Ledger instance (another process, say) on the same database."""
    second = open_ledger(world.ledger.settings)
    try:
        yield second
    finally:
        second.close()


def rival_statements(world: World) -> tuple[SignedStatement, SignedStatement]:
    """Two different statements, both signed against KEN's current version."""
    ncp = world.sign(
        world.ncp_ken,
        world.KEN,
        "value.submitted",
        world.value_body(world.KPI_HOURS, {"amount": "12.5"}, "hours"),
    )
    sec = world.sign(
        world.sec,
        world.KEN,
        "value.submitted",
        world.value_body(world.KPI_PERCENT, {"amount": "80"}, "percent", source=SOURCE),
    )
    assert ncp.expected_version == sec.expected_version == 1
    return ncp, sec


def entry_count(ledger: Ledger) -> int:
    """Entries actually stored (``log_size`` is the last database id, which on
    PostgreSQL may skip ids burned by a refused concurrent write)."""
    return len(ledger.recorder.select_notifications(start=1, limit=1_000_000))


def kept(ledger: Ledger, stream: str) -> Assessment:
    found = ledger.aggregate(stream)
    assert isinstance(found, Assessment)
    return found


def _let_rival_commit_first(
    monkeypatch: pytest.MonkeyPatch, ledger: Ledger, rival: Ledger, statement: Statement
) -> None:
    """The rival commits between this ledger's version check and its save.

    Writers that respect the writer lock cannot interleave like this, so the
    rival here is a writer that ignores it (another program on the database):
    the unique (stream, version) constraint is then the last line of defence.
    """
    real_save = ledger.save
    monkeypatch.setattr(rival.writer, "hold", contextlib.nullcontext)

    def save_after_rival(*aggregates: Any, **kwargs: Any) -> Any:
        rival.record(statement)
        return real_save(*aggregates, **kwargs)

    monkeypatch.setattr(ledger, "save", save_after_rival)


def test_second_writer_at_the_same_version_is_stale(world: World, other: Ledger) -> None:
    first, second = rival_statements(world)
    # Both instances have read the stream (and cached it) before either writes.
    assert other.stream_version(world.KEN) == world.ledger.stream_version(world.KEN) == 1
    size = entry_count(world.ledger)
    world.ledger.record(first)
    with pytest.raises(StaleVersionError) as caught:
        other.record(second)
    assert type(caught.value) is StaleVersionError
    assert "is at version 2, the statement expects 1" in str(caught.value)
    for ledger in (world.ledger, other):
        assert entry_count(ledger) == size + 1
        assessment = kept(ledger, world.KEN)
        assert assessment.version == 2
        assert [v.recorded_by for v in assessment.values.values()] == ["ncp-ken"]
    # The loser signs again against the new version and is recorded.
    again = world.sign(world.sec, world.KEN, "value.submitted", second.body)
    assert other.record(again).stream_version == 3
    assert world.ledger.stream_version(world.KEN) == 3


def test_race_between_check_and_save_is_stale_not_integrity_error(
    world: World, other: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other writer commits after this one checked the version but before
    it saved: the database's unique (stream, version) refuses the write, and
    the ledger names it StaleVersionError. Its batch also touched BRA: nothing
    of it is written."""
    first, second = rival_statements(world)
    bra = world.sign(
        world.ncp_bra,
        world.BRA,
        "value.submitted",
        world.value_body(world.KPI_HOURS, {"amount": "3"}, "hours"),
    )
    size = entry_count(world.ledger)
    _let_rival_commit_first(monkeypatch, other, world.ledger, first)
    with pytest.raises(StaleVersionError) as caught:
        other.record_batch([bra, second])
    assert type(caught.value) is StaleVersionError
    assert "'assessment/KEN/1' is at version 2" in str(caught.value)
    monkeypatch.undo()
    for ledger in (world.ledger, other):
        assert entry_count(ledger) == size + 1
        assert ledger.stream_version(world.BRA) == 1
        assert ledger.stream_version(world.KEN) == 2
        assert kept(ledger, world.KEN).values[2].recorded_by == "ncp-ken"
    # The other instance is not left in a bad state: it records the BRA value.
    assert other.record(bra).stream_version == 2


def test_race_of_the_same_statement_is_a_duplicate(
    world: World, other: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = rival_statements(world)
    _let_rival_commit_first(monkeypatch, other, world.ledger, first)
    with pytest.raises(DuplicateStatementError, match="already recorded"):
        other.record(first)
    assert world.ledger.stream_version(world.KEN) == 2


def race(ledgers: list[Ledger], statements: list[Statement]) -> list[Recorded | Exception]:
    """Record each statement on its ledger in its own thread, all at once."""
    barrier = threading.Barrier(len(ledgers))
    results: list[Recorded | Exception] = [RuntimeError("not run")] * len(ledgers)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = ledgers[index].record(statements[index])
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(ledgers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_threads_racing_on_two_instances(world: World, other: Ledger) -> None:
    kinds: list[tuple[str, str, dict[str, Any]]] = [
        (world.KPI_HOURS, "hours", {"amount": "12.5"}),
        (world.KPI_PERCENT, "percent", {"amount": "80"}),
        (world.KPI_RATIO, "ratio", {"denominator": "4", "numerator": "3"}),
        (world.KPI_YES_NO, "yes_no", {"answer": True}),
    ]
    slots = [(*kind, year) for year in (2022, 2021) for kind in kinds]
    for kpi, unit, value, year in slots:
        version = world.ledger.stream_version(world.KEN)
        size = entry_count(world.ledger)
        body = world.value_body(kpi, value, unit, year=year)
        statements: list[Statement] = [
            world.sign(world.ncp_ken, world.KEN, "value.submitted", body),
            world.sign(world.sec, world.KEN, "value.submitted", {**body, "source": SOURCE}),
        ]
        results = race([world.ledger, other], statements)
        winners = [r for r in results if isinstance(r, Recorded)]
        losers = [r for r in results if not isinstance(r, Recorded)]
        assert len(winners) == 1, results
        assert [type(e) for e in losers] == [StaleVersionError], results
        assert winners[0].stream_version == version + 1
        for ledger in (world.ledger, other):
            assert entry_count(ledger) == size + 1
            assert ledger.stream_version(world.KEN) == version + 1
            assert kept(ledger, world.KEN).current[(kpi, year)] == version + 1


# -- the log stays gapless and in time order --------------------------------


def test_log_indexes_stay_gapless_after_a_refused_race(
    world: World, other: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/design.md §4: log indexes have no gaps, even where the database's own
    ids do (PostgreSQL burns sequence values in a refused transaction)."""
    first, second = rival_statements(world)
    _let_rival_commit_first(monkeypatch, other, world.ledger, first)
    with pytest.raises(StaleVersionError):
        other.record(second)
    monkeypatch.undo()
    again = world.sign(world.sec, world.KEN, "value.submitted", second.body)
    recorded = world.ledger.record(again)
    assert world.ledger.log_size() == entry_count(world.ledger)
    assert recorded.log_index == world.ledger.log_size() - 1
    entries = world.ledger.sequencer.store.entries(0, world.ledger.log_size())
    assert [index for index, _ in entries] == list(range(world.ledger.log_size()))


def test_recorded_at_never_decreases_with_two_writers(world: World, other: Ledger) -> None:
    """docs/design.md §2 and §5 item 4: two instances writing at once, through the
    writer lock, leave recorded_at non-decreasing along the log."""
    errors: list[Exception] = []

    def write(ledger: Ledger, key_name: str, year: int) -> None:
        for kpi, unit, value in (
            (world.KPI_HOURS, "hours", {"amount": "1"}),
            (world.KPI_PERCENT, "percent", {"amount": "2"}),
            (world.KPI_RATIO, "ratio", {"denominator": "4", "numerator": "3"}),
        ):
            stream = world.KEN if key_name == "ken" else world.BRA
            key = world.ncp_ken if key_name == "ken" else world.ncp_bra
            try:
                ledger.record(
                    world.sign(
                        key,
                        stream,
                        "value.submitted",
                        world.value_body(kpi, value, unit, year=year),
                    )
                )
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(world.ledger, "ken", 2022)),
        threading.Thread(target=write, args=(other, "bra", 2022)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    entries = world.ledger.sequencer.store.entries(0, world.ledger.log_size())
    times = [parse_entry(raw).recorded_at for _, raw in entries]
    assert times == sorted(times)
    assert len(entries) == entry_count(world.ledger)


def test_ledgers_opened_at_the_same_moment_all_open(ledger: Ledger) -> None:
    """Processes that open one ledger at once (``pmm serve --workers 2``, two
    ``pmm submit``) all open it. On PostgreSQL two sessions creating the
    recorder's and the access log's functions at once failed with "tuple
    concurrently updated" (found by the crash harness, tests/faults): the
    tables are now made under the writer lock. Instances in threads are
    sessions of their own, as processes are."""
    openers, times = 4, 5
    barrier = threading.Barrier(openers)
    failed: list[str] = []

    def opener() -> None:
        for _ in range(times):
            barrier.wait()
            try:
                open_ledger(ledger.settings).close()
            except Exception as exc:  # any failure to open is the finding
                failed.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=opener) for _ in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
