"""`pmm projections verify`: an edited score index is caught (docs/decisions.md 39).

The score index is derived data the read side serves; a database operator who
edits a stored version would change what every reader sees. Each hostile edit
below is one the check must name; an untouched view must match (both
backends)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from api.cli import app
from projections.log_reader import LogReader
from projections.runner import LiveScores
from projections.score_check import check_view
from tests.projections.test_score_index import History, _framework

if TYPE_CHECKING:
    from tests.conftest import World

runner = CliRunner()


@pytest.fixture
def live(world: World) -> Iterator[LiveScores]:
    _framework(world)
    history = History(world, 3)
    view = LiveScores(world.ledger)
    try:
        for step in range(40):
            history.step()
            if step % 7 == 0:  # the view written in batches of several lengths
                view.catch_up()
        view.catch_up()
        yield view
    finally:
        view.close()


def _edit(live: LiveScores, sql: str) -> None:
    view = live.view
    with view.datastore.transaction(commit=True) as raw:
        view.cursor(raw).execute(sql)


def _pmm(world: World, *args: str) -> tuple[int, str]:
    settings = world.ledger.settings
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    result = runner.invoke(app, [*args, "--home", str(settings.home)], env=env)
    return result.exit_code, result.output


def test_an_untouched_view_matches_the_log(world: World, live: LiveScores) -> None:
    found = check_view(LogReader.of(world.ledger), live.view)
    assert found.matches, found.differences
    assert found.watermark == world.ledger.log_size()
    assert found.versions > 50 and found.levels > 5
    code, output = _pmm(world, "projections", "verify")
    assert code == 0, output
    assert f"matches the log at watermark {found.watermark}" in output


HOSTILE = {
    # Another row's score, status and provenance put in the newest versions.
    "a score changed": "UPDATE {p}pmm_score_index SET content = (SELECT o.content "
    "FROM {p}pmm_score_index o WHERE o.content <> {p}pmm_score_index.content "
    "ORDER BY o.became LIMIT 1) WHERE became = (SELECT MAX(became) FROM "
    "{p}pmm_score_index)",
    "a version deleted": "DELETE FROM {p}pmm_score_index WHERE became = "
    "(SELECT MIN(became) FROM {p}pmm_score_index)",
    "a version kept current": "UPDATE {p}pmm_score_index SET stopped = NULL WHERE "
    "became = (SELECT MIN(became) FROM {p}pmm_score_index WHERE stopped IS NOT NULL)",
    "a value's level widened": "UPDATE {p}pmm_score_levels SET level = 'public' "
    "WHERE level <> 'public'",
    "a publication dropped": "DELETE FROM {p}pmm_score_publications",
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_an_edited_view_is_named(world: World, live: LiveScores, attack: str) -> None:
    before = check_view(LogReader.of(world.ledger), live.view)
    assert before.matches
    assert before.publications > 0  # so dropping them is a real attack
    _edit(live, HOSTILE[attack])
    found = check_view(LogReader.of(world.ledger), live.view)
    assert not found.matches
    assert found.count == len(found.differences) or len(found.differences) == 20
    code, output = _pmm(world, "projections", "verify")
    assert code == 1, output
    assert "DIFFERS from the log" in output
    code, output = _pmm(world, "projections", "verify", "--json")
    assert code == 1 and json.loads(output)["matches"] is False
    live.rebuild()  # the way back: the view is derived, the log is the truth
    assert check_view(LogReader.of(world.ledger), live.view).matches
