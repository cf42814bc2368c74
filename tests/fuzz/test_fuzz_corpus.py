"""Every input that ever failed a fuzz target, replayed (fuzzing).

``tests/fuzz/corpus/<target>/<name>.bin|json`` (tests/fuzz/corpus_tool.py says
how a new failure lands there). An input named ``valid-*`` must be accepted
and read back as written; every other one must be refused cleanly, with the
target's declared error, in bounded time and memory (``targets.run``): most
are the regression of a bug fixed in the product code, named for the input.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.corpus_tool import inputs
from tests.fuzz.targets import TARGETS, run

CORPUS = inputs()


def test_every_target_has_a_corpus() -> None:
    assert {target for target, _ in CORPUS} == set(TARGETS)


@pytest.mark.parametrize(
    ("target", "path"), CORPUS, ids=[f"{t}/{p.name}" for t, p in CORPUS]
)
def test_corpus_input(target: str, path: Path) -> None:
    accepted = run(target, path.read_bytes())
    if path.name.startswith("valid-"):
        assert accepted, f"{target} refuses {path.name}, a valid input"
    else:
        assert not accepted, f"{target} accepts {path.name}, which it must refuse"
