"""The bitemporal score index (decision 37) against the naive replay, on both
backends: at every log size of generated histories (submissions, corrections,
statuses, not-used KPIs, disclosure changes, score revisions, publications,
reopenings, framework revisions), for every audience."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from ledger.errors import LedgerError
from projections import timetravel
from projections.disclosure import AUDIENCES, disclosure_now, visible
from projections.errors import NoSuchAssessmentError
from projections.exports import score_rows
from projections.log_reader import LogReader
from projections.runner import LiveScores, run_projection
from projections.score_reads import indexed_size, indexed_table
from projections.timetravel import (
    Position,
    all_scores,
    replayed_scores,
    replayed_table,
    scores,
)
from verify.formats.entry import parse_entry
from verify.scoring.tables import ScoreTable

if TYPE_CHECKING:
    from tests.conftest import World

T = 2022
VARIATION = "TF.2.1"
DERIVED = "TF.2.2"
LEVELS = ("public", "wco", "restricted")


def _framework(world: World) -> None:
    world.record(
        world.sec,
        "framework",
        "kpi.defined",
        world.kpi_body(
            VARIATION,
            "percent",
            "percentage",
            direction="higher_is_better",
            disclosure="wco",
            scoring_method={"method": "variation", "best": "20", "worst": "-20"},
        ),
    )
    world.record(
        world.sec,
        "framework",
        "kpi.defined",
        world.kpi_body(
            DERIVED,
            "ratio",
            "ratio",
            disclosure="restricted",
            scoring_method={
                "method": "ratio",
                "numerator": world.KPI_HOURS,
                "denominator": world.KPI_PERCENT,
                "best": "2",
                "worst": "0",
            },
        ),
    )


class History:
    """Random statements of every kind that moves a score or its disclosure; the
    ledger refuses those its rules forbid (a correction of a published value
    before a reopening...), which is part of the history too."""

    def __init__(self, world: World, seed: int) -> None:
        self.world, self.rng = world, random.Random(seed)
        self.values: dict[tuple[str, str, int], int] = {}  # -> stream version
        self.refused: list[str] = []
        self.completed: set[str] = set()
        self.kpis: dict[str, tuple[str, Callable[[random.Random], dict[str, str]]]] = {
            world.KPI_HOURS: ("hours", lambda r: {"amount": str(r.randint(0, 120))}),
            world.KPI_PERCENT: ("percent", lambda r: {"amount": str(r.randint(0, 100))}),
            world.KPI_RATIO: (
                "ratio",
                lambda r: {"numerator": str(r.randint(0, 9)), "denominator": "4"},
            ),
            VARIATION: ("percent", lambda r: {"amount": str(r.randint(0, 100))}),
        }

    def step(self) -> None:
        w, rng = self.world, self.rng
        stream = rng.choice([w.KEN, w.KEN, w.BRA])
        ncp = w.ncp_ken if stream == w.KEN else w.ncp_bra
        kpi = rng.choice(sorted(self.kpis))
        unit, make = self.kpis[kpi]
        year = rng.choice([T - 1, T])
        known = self.values.get((stream, kpi, year))
        roll = rng.random()
        body: dict[str, Any]
        try:
            if 0.55 <= roll < 0.62:  # a KPI without values, or one with (refused)
                code = rng.choice([w.KPI_YES_NO, kpi])
                body = {"kpi": code, "justification": "not collected"}
                w.record(ncp, stream, "kpi.not_used", body)
            elif 0.62 <= roll < 0.7:
                revision: dict[str, Any] = {"justification": "capped", "kpi": kpi}
                revision["reference_year"] = year
                body = revision | {"score": str(rng.randint(0, 100))}
                w.record(w.sec, stream, "score.revised", body)
            elif roll < 0.4 or known is None:
                status = "value" if rng.random() < 0.85 else "not_applicable"
                value = make(rng) if status == "value" else None
                body = w.value_body(
                    kpi,
                    value,
                    unit,
                    year=year,
                    status=status,
                    disclosure=rng.choice(LEVELS),
                )
                if known is not None:
                    body |= {
                        "supersedes": known,
                        "kind": "correction",
                        "reason": "restated",
                    }
                kind = "value.corrected" if known is not None else "value.submitted"
                recorded = w.record(ncp, stream, kind, body)
                self.values[(stream, kpi, year)] = recorded.stream_version
            elif roll < 0.55:
                body = {"disclosure": rng.choice(LEVELS), "entry": known}
                w.record(ncp, stream, "disclosure.set", body)
            elif roll < 0.74:
                if stream not in self.completed:
                    w.record(ncp, stream, "submission.completed", {"note": "done"})
                    self.completed.add(stream)
                w.record(w.sec, stream, "assessment.published", w.publication(stream))
            elif roll < 0.9:
                codes = rng.sample([*sorted(self.kpis), w.KPI_YES_NO], rng.randint(1, 4))
                body = {"kpis": sorted(codes), "reason": "the Member found an error"}
                w.record(w.sec, stream, "assessment.reopened", body)
            else:
                body = w.kpi_body(
                    w.KPI_HOURS,
                    "hours",
                    "number",
                    applies_from=rng.choice([2015, T]),
                    reason="a new method",
                    scoring_method={
                        "method": "linear",
                        "best": str(rng.randint(50, 200)),
                        "worst": "0",
                    },
                )
                w.record(w.sec, "framework", "kpi.revised", body)
        except LedgerError as exc:
            self.refused.append(f"{type(exc).__name__}: {exc}")


def _replayed(world: World, stream: str, year: int, size: int) -> ScoreTable | None:
    try:
        return replayed_table(world.ledger, stream, year, Position(size, "replayed"))
    except NoSuchAssessmentError:
        return None


def _compare_every_size(world: World, first: int = 0) -> int:
    """Index and replay agree at every log size from ``first``; returns how many
    (size, table) pairs were compared."""
    ledger, log = world.ledger, LogReader.of(world.ledger)
    size = ledger.log_size()
    assert indexed_size(log) == size
    compared = 0
    for at in range(first, size + 1):
        for stream in (world.KEN, world.BRA):
            levels = disclosure_now(ledger, stream).levels
            for year in (T - 1, T):
                indexed = indexed_table(log, stream, year, at, levels)
                assert indexed == _replayed(world, stream, year, at), (stream, year, at)
                if year == T:  # the public query: one checkout, or the replay
                    member = stream.split("/")[1]
                    try:
                        asked = scores(ledger, member, T, at_size=at).table
                    except NoSuchAssessmentError:
                        asked = None
                    assert asked == indexed
                if indexed is not None:
                    compared += 1
                    where = Position(at, "x")
                    for audience in AUDIENCES:
                        shown = score_rows(indexed, where, audience)
                        assert all(visible(r["disclosure"], audience) for r in shown)
        assert all_scores(ledger, at) == replayed_scores(ledger, at), at
    return compared


@pytest.mark.parametrize("seed", [1, 2])
def test_the_index_equals_the_replay_at_every_log_size(world: World, seed: int) -> None:
    _framework(world)
    history = History(world, seed)
    live = LiveScores(world.ledger)
    try:
        for step in range(70):
            history.step()
            if step % 9 == 0:  # catch up in batches of every length
                live.catch_up()
        live.catch_up(batch=7)
        assert _compare_every_size(world) > 200
        incremental = _index_lines(live)
        live.rebuild()
        assert _index_lines(live) == incremental
        history.step()
        history.step()
        live.catch_up()
    finally:
        live.close()
    _compare_every_size(world, first=world.ledger.log_size() - 6)


def _index_lines(live: LiveScores) -> list[tuple[Any, ...]]:
    view = live.view
    with view.datastore.transaction(commit=False) as raw:
        cur = view.cursor(raw)
        lines = cur.execute("SELECT * FROM {p}pmm_score_index").all()
        lines += cur.execute("SELECT * FROM {p}pmm_score_publications").all()
    return sorted(lines, key=repr)


def test_a_score_moves_exactly_at_the_size_after_its_entry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A size R holds entries 0..R-1: the entry at index i shows from size i+1
    (read from the index alone: the replay is not reachable)."""
    first = world.hours(world.ncp_ken, world.KEN, "12")
    body = world.value_body(
        world.KPI_HOURS,
        {"amount": "40"},
        "hours",
        supersedes=first.stream_version,
        kind="correction",
        reason="counted in days",
    )
    second = world.record(world.ncp_ken, world.KEN, "value.corrected", body)
    live = LiveScores(world.ledger)
    try:
        live.catch_up()
    finally:
        live.close()
    monkeypatch.setattr(timetravel, "replayed_table", None)

    def hours_at(size: int) -> str | None:
        found = scores(world.ledger, "KEN", T, at_size=size).table.rows
        return next(r.score for r in found if r.code == world.KPI_HOURS)

    assert hours_at(first.log_index) is None
    assert hours_at(first.log_index + 1) == "12.00"
    assert hours_at(second.log_index) == "12.00"
    assert hours_at(second.log_index + 1) == "40.00"


def test_a_narrowed_value_is_withheld_at_every_past_size(world: World) -> None:
    """Decision 26 through the index: a value restricted now is restricted in
    every past table, and the scores above it too."""
    hours = world.hours(world.ncp_ken, world.KEN, "12")
    live = LiveScores(world.ledger)
    try:
        live.catch_up()
        before = scores(world.ledger, "KEN", T, at_size=hours.log_index + 1).table
        assert {r.disclosure for r in before.rows} == {"public"}
        body = {"disclosure": "restricted", "entry": hours.stream_version}
        world.record(world.ncp_ken, world.KEN, "disclosure.set", body)
        live.catch_up()
    finally:
        live.close()
    after = scores(world.ledger, "KEN", T, at_size=hours.log_index + 1).table
    moved = {r.code for r in after.rows if r.disclosure == "restricted"}
    assert moved == {world.KPI_HOURS, "EO.1", "TF", "overall"}
    for audience in ("public", "wco"):
        shown = {r["code"] for r in score_rows(after, Position(0, "x"), audience)}
        assert shown and not shown & moved
    assert len(score_rows(after, Position(0, "x"), "restricted")) == len(after.rows)


@pytest.mark.parametrize("caught_up", [True, False])
def test_as_of_reads_take_levels_as_they_stand_now(world: World, caught_up: bool) -> None:
    """An as-of read takes a Member's levels from the view only when the view
    has reached the whole log; a narrowing the view has not seen yet is still
    applied, from the ledger (decision 26)."""
    hours = world.hours(world.ncp_ken, world.KEN, "12")
    live = LiveScores(world.ledger)
    try:
        live.catch_up()
        moment = world.ledger.sequencer.store.entry(hours.log_index)
        as_of = parse_entry(moment).recorded_at
        shown = scores(world.ledger, "KEN", T, as_of=as_of).table
        assert {r.disclosure for r in shown.rows} == {"public"}
        body = {"disclosure": "restricted", "entry": hours.stream_version}
        world.record(world.ncp_ken, world.KEN, "disclosure.set", body)
        if caught_up:
            live.catch_up()
    finally:
        live.close()
    after = scores(world.ledger, "KEN", T, as_of=as_of).table
    moved = {r.code for r in after.rows if r.disclosure == "restricted"}
    assert moved == {world.KPI_HOURS, "EO.1", "TF", "overall"}
    where = Position(0, "x")
    for audience in ("public", "wco"):
        codes = {r["code"] for r in score_rows(after, where, audience)}
        assert codes and not codes & moved


def test_reads_beyond_the_watermark_replay(world: World) -> None:
    """The index answers up to the view's watermark; past it, the replay does."""
    live = LiveScores(world.ledger)
    try:
        live.catch_up()
    finally:
        live.close()
    hours = world.hours(world.ncp_ken, world.KEN, "12")
    live = LiveScores(world.ledger)
    try:
        live.catch_up()
    finally:
        live.close()
    watermark = world.ledger.log_size()
    body = {"disclosure": "restricted", "entry": hours.stream_version}
    world.record(world.ncp_ken, world.KEN, "disclosure.set", body)
    # At a size the index has, with levels that moved past its watermark.
    everything = all_scores(world.ledger, watermark)
    assert everything == replayed_scores(world.ledger, watermark)
    assert any(r.disclosure == "restricted" for t in everything for r in t.rows)
    world.hours(world.ncp_bra, world.BRA, "12")
    assert indexed_size(LogReader.of(world.ledger)) == world.ledger.log_size() - 2
    now = scores(world.ledger, "KEN", T).table
    assert now == _replayed(world, world.KEN, T, world.ledger.log_size())
    assert all_scores(world.ledger, world.ledger.log_size()) == replayed_scores(
        world.ledger, world.ledger.log_size()
    )


def test_an_old_view_without_the_index_is_rebuilt(world: World) -> None:
    world.hours(world.ncp_ken, world.KEN, "12")
    live = LiveScores(world.ledger)
    try:
        live.catch_up()
        with live.view.datastore.transaction(commit=True) as raw:
            cur = live.view.cursor(raw)
            cur.execute("DELETE FROM {p}pmm_score_index")
    finally:
        live.close()
    again = LiveScores(world.ledger)  # sees a watermark but no index: forgets it
    try:
        assert again.view.position() == 0
        assert again.catch_up() == world.ledger.log_size()
    finally:
        again.close()
    _compare_every_size(world)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_runner_keeps_the_index(world: World) -> None:
    _framework(world)
    history = History(world, 3)
    runner = run_projection(world.ledger.settings)
    with runner:
        for _ in range(25):
            history.step()
        runner.wait(world.ledger.recorder.max_notification_id(), timeout=30)
    _compare_every_size(world)
