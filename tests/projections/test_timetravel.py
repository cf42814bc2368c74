"""Time travel on both backends: published-then versus corrected-now, a T-1 correction
restating T, provenance on every score, the live projection equal to a rebuild,
the bitemporal CLI, and exports that honour disclosure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from ledger.errors import DomainRuleError
from ledger.scores import replay_table
from projections.changes import diff
from projections.disclosure import disclosure_now
from projections.errors import NoSuchAssessmentError, QueryError
from projections.exports import changes_frame, history_frame, write
from projections.runner import LiveScores, run_projection
from projections.score_query import When, read_scores
from projections.timetravel import position, scores
from verify.formats.entry import parse_entry
from verify.scoring.tables import ScoreTable

if TYPE_CHECKING:
    from tests.conftest import World

VARIATION = "TF.2.1"
T = 2022


def _variation_kpi(world: World) -> None:
    body = world.kpi_body(
        VARIATION,
        "percent",
        "percentage",
        direction="higher_is_better",
        disclosure="wco",
        scoring_method={"method": "variation", "best": "20", "worst": "-20"},
    )
    world.record(world.sec, "framework", "kpi.defined", body)


def _published_then_corrected(world: World) -> dict[str, Any]:
    """KEN submits T-1 and T, is published, then corrects T's hours and T-1's
    variation KPI after a reopening. Returns the entries that matter."""
    _variation_kpi(world)
    ncp = world.ncp_ken
    world.hours(ncp, world.KEN, "40")
    pct = {"disclosure": "wco"}
    prior = world.submit(
        ncp, world.KEN, VARIATION, {"amount": "50"}, "percent", year=T - 1, **pct
    )
    world.submit(ncp, world.KEN, VARIATION, {"amount": "55"}, "percent", **pct)
    world.record(ncp, world.KEN, "submission.completed", {"note": "done"})
    published = world.record(
        world.sec, world.KEN, "assessment.published", world.publication(world.KEN)
    )
    world.record(
        world.sec2,
        world.KEN,
        "assessment.reopened",
        {"kpis": [world.KPI_HOURS, VARIATION], "reason": "Member found two errors"},
    )
    hours = world.record(
        ncp,
        world.KEN,
        "value.corrected",
        world.value_body(
            world.KPI_HOURS,
            {"amount": "80"},
            "hours",
            kind="correction",
            reason="hours were counted in days",
            supersedes=2,
        ),
    )
    restating = world.record(
        ncp,
        world.KEN,
        "value.corrected",
        world.value_body(
            VARIATION,
            {"amount": "44"},
            "percent",
            year=T - 1,
            disclosure="wco",
            kind="correction",
            reason="2021 counted one region twice",
            supersedes=prior.stream_version,
        ),
    )
    return {"published": published, "hours": hours, "restating": restating}


def _row(table: ScoreTable, level: str, code: str) -> Any:
    return next(r for r in table.rows if (r.level, r.code) == (level, code))


def test_published_then_versus_corrected_now(world: World) -> None:
    marks = _published_then_corrected(world)
    then = scores(world.ledger, "KEN", T, published="1")
    now = scores(world.ledger, "KEN", T)
    assert then.publication == then.table.published()  # the signed table is the replay
    assert then.position.size == marks["published"].log_index  # cut at the log size
    assert _row(then.table, "kpi", world.KPI_HOURS).score == "40.00"
    assert _row(now.table, "kpi", world.KPI_HOURS).score == "80.00"
    # Variation (55 - 50) / 50 = +10% → 75; after T-1 becomes 44: +25% → clamped 100.
    assert _row(then.table, "kpi", VARIATION).score == "75.00"
    restated = _row(now.table, "kpi", VARIATION)
    assert restated.score == "100.00"
    assert restated.restated_by == marks["restating"].log_index
    assert _row(then.table, "kpi", VARIATION).restated_by is None
    # The same answers by log size and by record time.
    at_size = scores(world.ledger, "KEN", T, at_size=then.position.size)
    assert at_size.table == then.table
    assert then.position.recorded_at is not None
    by_time = scores(world.ledger, "KEN", T, as_of=then.position.recorded_at)
    assert by_time.table == then.table


def test_provenance_on_every_score(world: World) -> None:
    marks = _published_then_corrected(world)
    table = scores(world.ledger, "KEN", T).table
    store = world.ledger.sequencer.store
    streams = {
        i: parse_entry(raw).stream for i, raw in store.entries(0, world.ledger.log_size())
    }
    for row in table.rows:
        assert row.sources, f"{row.level} {row.code} names no entries"
        assert {streams[i] for i in row.sources} <= {"framework", world.KEN}
        if row.level == "kpi":
            assert row.method_version and row.method_version.startswith("v1 (entry ")
    hours = _row(table, "kpi", world.KPI_HOURS)
    assert marks["hours"].log_index in hours.sources
    assert marks["restating"].log_index in _row(table, "kpi", VARIATION).sources
    overall = _row(table, "overall", "overall")
    assert set(hours.sources) <= set(overall.sources)
    # Missing KPIs are excluded from the outcome, each with its reason.
    outcome = _row(table, "outcome", "EO.1")
    assert (world.KPI_RATIO, "missing") in outcome.excluded


def test_diff_names_who_why_and_the_restatement(world: World) -> None:
    marks = _published_then_corrected(world)
    cut = marks["published"].log_index
    found = diff(world.ledger, "KEN", T, start=f"size:{cut}")
    assert [c.log_index for c in found.changes] == [
        marks["hours"].log_index,
        marks["restating"].log_index,
    ]
    first = found.changes[0]
    assert (first.principal, first.reason, first.entry_type) == (
        "ncp-ken",
        "hours were counted in days",
        "value.corrected",
    )
    assert first.old == {"status": "value", "value": {"amount": "40"}}
    assert first.new == {"status": "value", "value": {"amount": "80"}}
    moved = {(s.level, s.code): s for s in found.score_changes}
    assert moved[("kpi", VARIATION)].restated_by == marks["restating"].log_index
    assert moved[("kpi", VARIATION)].caused_by == (marks["restating"].log_index,)
    assert (moved[("kpi", world.KPI_HOURS)].old, moved[("kpi", world.KPI_HOURS)].new) == (
        "40.00",
        "80.00",
    )
    with pytest.raises(QueryError, match="is after"):
        diff(world.ledger, "KEN", T, start="size:5", end="size:2")


def test_live_projection_equals_rebuild_and_replay(world: World) -> None:
    live = LiveScores(world.ledger)
    try:
        live.catch_up()  # incrementally, as the log grows
        _variation_kpi(world)
        world.hours(world.ncp_ken, world.KEN, "12")
        assert live.catch_up() == world.ledger.log_size()
        world.hours(world.ncp_bra, world.BRA, "30")
        assert live.catch_up() == world.ledger.log_size()
        incremental = {s: live.table(s, T) for s in (world.KEN, world.BRA)}
        assert live.rebuild() == world.ledger.log_size()
        rebuilt = {s: live.table(s, T) for s in (world.KEN, world.BRA)}
    finally:
        live.close()
    size = world.ledger.log_size()
    for stream in (world.KEN, world.BRA):
        replayed = replay_table(world.ledger.sequencer.store, stream, size, T)
        assert incremental[stream] == rebuilt[stream] == replayed


@pytest.mark.parametrize("backend", ["postgresql"])
def test_notification_driven_runner_on_postgresql(world: World) -> None:
    runner = run_projection(world.ledger.settings)
    with runner:
        world.hours(world.ncp_ken, world.KEN, "12")
        last = world.ledger.recorder.max_notification_id()
        runner.wait(last, timeout=20)
        assert runner.view.position() == world.ledger.log_size()
        levels = disclosure_now(world.ledger, world.KEN).levels
        rows = runner.view.rows(world.KEN, T, levels)
    replayed = replay_table(
        world.ledger.sequencer.store, world.KEN, world.ledger.log_size()
    )
    assert tuple(rows) == replayed.rows


def test_a_publication_must_carry_the_replayed_table(world: World) -> None:
    world.hours(world.ncp_ken, world.KEN, "40")
    world.record(world.ncp_ken, world.KEN, "submission.completed", {"note": "done"})
    body = world.publication(world.KEN)
    body["scores"]["kpis"][world.KPI_HOURS] = "99.00"
    wrong = world.sign(world.sec, world.KEN, "assessment.published", body)
    world.refused(wrong, DomainRuleError, f"kpis.{world.KPI_HOURS} is 99.00", "40.00")


def test_queries_name_what_is_wrong(world: World) -> None:
    with pytest.raises(
        NoSuchAssessmentError, match="KEN has no assessment for reference year 1999"
    ):
        scores(world.ledger, "KEN", 1999)
    with pytest.raises(QueryError, match="not a Member code"):
        scores(world.ledger, "kenya", T)
    with pytest.raises(QueryError, match="outside the log"):
        position(world.ledger, at_size=10**6)
    with pytest.raises(QueryError, match="not a time"):
        position(world.ledger, as_of="yesterday")
    with pytest.raises(QueryError, match="one record time"):
        position(world.ledger, as_of="2026-01-01", at_size=1)


def test_exports_honour_disclosure(world: World, tmp_path: Path) -> None:
    _published_then_corrected(world)
    public = read_scores(world.ledger, "KEN", T, When(), "public").frame()
    wco = read_scores(world.ledger, "KEN", T, When(), "wco").frame()
    assert VARIATION not in set(public["code"]) and VARIATION in set(wco["code"])
    assert set(public["disclosure"]) == {"public"}
    history = history_frame(world.ledger, "KEN", T, "public")
    assert set(history["kpi"]) == {world.KPI_HOURS}
    assert len(history_frame(world.ledger, "KEN", T, "restricted")) == 5
    changes = changes_frame(diff(world.ledger, "KEN", T, start="size:0"), "public")
    subjects = set(changes.get("subject", []))
    # The definition is public, as /framework is; none of its wco values is.
    assert f"{VARIATION} (definition)" in subjects
    assert not {f"{VARIATION} {T}", f"{VARIATION} {T - 1}"} & subjects
    for suffix in (".csv", ".parquet", ".xlsx"):
        path = tmp_path / f"scores{suffix}"
        write(wco, path)
        if suffix == ".parquet":
            back = pd.read_parquet(path)
        else:
            read = pd.read_csv if suffix == ".csv" else pd.read_excel
            back = read(path, dtype=str)
        assert list(back["code"]) == list(wco["code"])
        assert list(back["score"].fillna("")) == list(wco["score"].fillna(""))
    with pytest.raises(QueryError, match=r"not '\.txt'"):
        write(wco, tmp_path / "scores.txt")


def test_cli_scores_diff_history(world: World, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    marks = _published_then_corrected(world)
    settings = world.ledger.settings
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    home = ["--home", str(settings.home)]

    def pmm(*args: str) -> Any:
        result = CliRunner().invoke(app, [*args, *home, "--json"], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    # The CLI reads as a principal (decision 26): a peer reviewer sees wco.
    reviewer = tmp_path / "reviewer.key"
    world.reviewer.save(reviewer)
    base = ("--member", "KEN", "--year", str(T), "--as", str(reviewer))
    now = {r["code"]: r["score"] for r in pmm("scores", *base)["rows"]}
    then = {
        r["code"]: r["score"] for r in pmm("scores", *base, "--published", "1@1")["rows"]
    }
    assert (then[world.KPI_HOURS], now[world.KPI_HOURS]) == ("40.00", "80.00")
    cut = marks["published"].log_index
    rows = pmm("diff", *base, "--from", f"size:{cut}")["rows"]
    restated = [r for r in rows if r["what"] == "score" and r["code"] == VARIATION]
    assert restated[0]["restated_by"] == marks["restating"].log_index
    history = pmm("history", *base)["rows"]
    assert [r["entry_type"] for r in history].count("value.corrected") == 2
    # The title counts what the audience may not see, as GET /history does.
    public = pmm("history", *base, "--audience", "public")
    recorded = history_frame(world.ledger, "KEN", T, "restricted")
    hidden = len(recorded) - len(public["rows"])
    assert hidden > 0 and f", {hidden} rows withheld by disclosure" in public["title"]
    out = tmp_path / "scores.parquet"
    pmm("scores", *base, "--out", str(out))
    assert len(pd.read_parquet(out)) == len(now)
    bad = CliRunner().invoke(
        app, ["scores", "--member", "KEN", "--year", "1999", *home], env=env
    )
    assert bad.exit_code == 2 and "no assessment" in bad.output
    wider = CliRunner().invoke(
        app, ["scores", *base, "--audience", "restricted", *home], env=env
    )
    assert wider.exit_code == 2 and "may see at most 'wco' for KEN" in wider.output
    anonymous = CliRunner().invoke(
        app,
        ["scores", "--member", "KEN", "--year", str(T), "--audience", "wco", *home],
        env=env,
    )
    assert anonymous.exit_code == 2 and "read as a principal with --as KEY" in (
        anonymous.output
    )


def test_projection_resumes_after_a_restart(world: World) -> None:
    """A new process resumes from the watermark, loading only the streams a batch
    needs (all of them when the framework changes), and still equals the replay."""
    first = LiveScores(world.ledger)
    try:
        world.hours(world.ncp_ken, world.KEN, "12")
        world.hours(world.ncp_bra, world.BRA, "30")
        first.catch_up()
    finally:
        first.close()
    world.hours(world.ncp_ken, world.KEN, "14", year=T - 1)
    resumed = LiveScores(world.ledger)
    try:
        assert resumed.catch_up() == world.ledger.log_size()
        assert resumed.projection.loaded == {"framework", world.KEN}
        _variation_kpi(world)  # a framework change restates every assessment
        assert resumed.catch_up() == world.ledger.log_size()
        tables = {s: resumed.table(s, T) for s in (world.KEN, world.BRA)}
    finally:
        resumed.close()
    size = world.ledger.log_size()
    for stream, table in tables.items():
        assert table == replay_table(world.ledger.sequencer.store, stream, size, T)


def test_cli_projections_status_and_rebuild(world: World) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    world.hours(world.ncp_ken, world.KEN, "12")
    settings = world.ledger.settings
    env = {"PMM_DATABASE_URL": settings.database_url or ""}
    for command in ("status", "rebuild"):
        result = CliRunner().invoke(
            app, ["projections", command, "--home", str(settings.home), "--json"], env=env
        )
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report == {
            "watermark": world.ledger.log_size(),
            "log_size": report["log_size"],
        }
        assert report["log_size"] == world.ledger.log_size()
