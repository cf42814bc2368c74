"""Score rows as the bitemporal index stores them (docs/decisions.md, decision 37).

A row's disclosure is not fixed when the row is scored: decision 26 discloses a
score at the level its input values have *now*, at every record time. So the
index stores, beside the row, what its disclosure is made of — a floor (the
levels that do not depend on any value: a KPI definition's default, an input
with no value yet) and the value entries (stream versions) whose level now
widens it — and a read combines them with the levels of today:
``narrowest([floor, *levels_now[entry] for entry in disclosed_by])``.

``TracingBoard`` is the scoreboard itself with one change: where it would look
a value's level up, it notes the value's entry and answers ``public`` (the
lowest level, so the row's own disclosure becomes the floor). The scores,
statuses and sources are the scoreboard's own; nothing is scored twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from projections.disclosure import narrowest
from verify.scoreboard import AssessmentState, Scoreboard, ScoreRow, Value

# The content of one index row, as stored after (stream, year, level, code):
# score, status, grade, method, method_version, sources, excluded, floor,
# disclosed_by, restated_by (JSON text for the tuples).
Content = tuple[Any, ...]


class TracingBoard(Scoreboard):
    """A scoreboard whose tables also say which value entries each row's
    disclosure depends on (``traced``)."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[int] | None = None
        self._deps: dict[tuple[str, str], frozenset[int]] = {}

    def traced(self, stream: str, year: int) -> list[tuple[ScoreRow, frozenset[int]]]:
        """Year ``year``'s table of ``stream``: each row with its disclosure floor
        (as ``disclosure``) and the value entries that widen it."""
        self._deps = {}
        self._seen = set()
        try:
            table = self.table(stream, year)
        finally:
            self._seen = None
        return [(row, self._deps[(row.level, row.code)]) for row in table.rows]

    def _now(self, value: Value) -> str:
        if self._seen is None:
            return super()._now(value)
        self._seen.add(value.entry)
        return "public"

    def _kpi_row(self, state: AssessmentState, code: str, year: int) -> ScoreRow | None:
        if self._seen is None:
            return super()._kpi_row(state, code, year)
        self._seen = set()
        row = super()._kpi_row(state, code, year)
        self._deps[("kpi", code)] = frozenset(self._seen)
        return row

    def _aggregate_row(  # type: ignore[override]
        self,
        level: str,
        code: str,
        how: str,
        children: list[ScoreRow],
        weights: dict[str, Decimal],
    ) -> ScoreRow:
        row = Scoreboard._aggregate_row(level, code, how, children, weights)
        if self._seen is not None:
            found = [self._deps[(c.level, c.code)] for c in children]
            self._deps[(level, code)] = frozenset().union(*found)
        return row


def content(row: ScoreRow, disclosed_by: Iterable[int]) -> Content:
    return (
        *(row.score, row.status, row.grade, row.method, row.method_version),
        json.dumps(list(row.sources)),
        json.dumps([list(e) for e in row.excluded]),
        row.disclosure,
        json.dumps(sorted(disclosed_by)),
        row.restated_by,
    )


class RowReader:
    """Stored rows back into score rows, with their disclosure as of ``levels``
    (value entry -> level now; an entry it lacks is taken as restricted)."""

    def __init__(self, levels: Mapping[int, str]) -> None:
        self.levels = levels
        self._texts: dict[str, Any] = {}

    def _json(self, text: str, make: Callable[[Any], Any]) -> Any:
        found = self._texts.get(text)
        if found is None:
            found = self._texts[text] = make(json.loads(text))
        return found

    def row(self, level: str, code: str, stored: Content) -> ScoreRow:
        score, status, grade, method, version, sources, excluded = stored[:7]
        floor, disclosed_by, restated_by = stored[7:10]
        entries: tuple[int, ...] = self._json(disclosed_by, tuple)
        disclosure = (
            narrowest([floor, *(self.levels.get(e, "restricted") for e in entries)])
            if entries
            else floor
        )
        return ScoreRow(
            level=level,
            code=code,
            score=score,
            status=status,
            grade=grade,
            method=method,
            method_version=version,
            sources=self._json(sources, tuple),
            excluded=self._json(excluded, lambda e: tuple(tuple(x) for x in e)),
            disclosure=disclosure,
            restated_by=restated_by,
        )


ORDER = {"kpi": 0, "outcome": 1, "dimension": 2, "overall": 3}


def in_table_order(rows: Iterable[ScoreRow]) -> tuple[ScoreRow, ...]:
    """Rows in ``Scoreboard.table``'s order: KPIs, outcomes, dimensions, overall."""
    return tuple(sorted(rows, key=lambda r: (ORDER[r.level], r.code)))
