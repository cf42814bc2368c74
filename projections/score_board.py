"""The scoreboard the scores projection keeps, traced and rescored row by row.

``TracingBoard`` is ``verify.scoring.scoreboard.Scoreboard`` — the one definition of
the scores — with two additions, both made of its own methods:

* **tracing** (decision 37): where the scoreboard looks a value's level up, it
  notes the value's entry and answers ``public`` (the lowest level), so each
  row comes out with its disclosure floor and the value entries that widen it
  (``projections.score_rows``);
* **rescoring**: after an entry about KPI k, only k's row (and the derived
  KPIs that read k) is scored afresh, then the outcome, dimension and overall
  rows above any row that moved, by the scoreboard's own ``_kpi_row``,
  ``_level`` and ``_aggregate_row``. The rest of the table cannot have moved:
  a KPI row reads only its own KPI's values, revisions and not-used
  declaration (and its T−1 value), or its inputs' values; an aggregate only its
  children. The test suite compares every rescored table with a full replay at
  every log size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from verify.formats.entry import Entry
from verify.rules.framework import Version, latest
from verify.rules.workflow import ValueRecord, Workflow
from verify.scoring.methods import method_inputs
from verify.scoring.scoreboard import Scoreboard
from verify.scoring.tables import ScoreRow

RowKey = tuple[str, str]  # level, code
Before = tuple[ScoreRow | None, frozenset[int] | None]  # a row and its deps, if any


@dataclass
class Traced:
    """One table: rows in table order (disclosure: the floor), and each row's
    value entries whose level now widens it."""

    rows: dict[RowKey, ScoreRow]
    deps: dict[RowKey, frozenset[int]]


@dataclass
class Shape:
    """The framework's tree for one reference year (which version applies)."""

    outcome_of: dict[str, str] = field(default_factory=dict)  # KPI -> outcome
    kpis_of: dict[str, list[str]] = field(default_factory=dict)  # outcome -> KPIs
    dimension_of: dict[str, str] = field(default_factory=dict)  # outcome -> dimension
    outcomes_of: dict[str, list[str]] = field(default_factory=dict)  # dimension ->
    readers_of: dict[str, list[str]] = field(default_factory=dict)  # KPI -> derived
    dimensions: list[str] = field(default_factory=list)  # those with a row, in order
    variations: set[str] = field(default_factory=set)  # KPIs scored by variation


class TracingBoard(Scoreboard):
    def __init__(self) -> None:
        super().__init__()
        self._seen: set[int] | None = None
        self._deps: dict[RowKey, frozenset[int]] = {}
        self._shapes: dict[int, Shape] = {}
        self._empty: dict[int, Traced] = {}  # year -> an empty assessment's table
        self._weights: dict[tuple[int, str, int], Decimal] = {}

    def apply(self, index: int, entry: Entry) -> None:
        super().apply(index, entry)
        if entry.stream == "framework":
            self._shapes.clear()
            self._empty.clear()
            self._weights.clear()

    def _weight(self, group: dict[str, list[Version]], code: str, year: int) -> Decimal:
        # The framework's weights, kept until its next entry.
        key = (id(group), code, year)
        found = self._weights.get(key)
        if found is None:
            found = self._weights[key] = super()._weight(group, code, year)
        return found

    def traced(self, stream: str, year: int) -> Traced:
        """Year ``year``'s table of ``stream``, scored in full. A table with
        nothing recorded yet depends on the framework and the year alone: it is
        scored once per framework version (the projection meets one per
        assessment opened)."""
        state = self.assessments[stream]
        empty = not (state.values or state.not_used or state.revised)
        found = self._empty.get(year) if empty else None
        if found is None:
            deps: dict[RowKey, frozenset[int]] = {}
            self._deps, self._seen = deps, set()
            try:
                table = self.table(stream, year)
            finally:
                self._seen = None
            found = Traced({(r.level, r.code): r for r in table.rows}, deps)
            if empty:
                self._empty[year] = found
        return Traced(dict(found.rows), dict(found.deps))

    def readers(self, code: str, year: int) -> list[str]:
        """The KPIs whose ``year`` rows read KPI ``code``'s values of ``year``:
        itself and the derived KPIs that name it."""
        return [code, *self._shape(year).readers_of.get(code, [])]

    def reads_prior(self, code: str, year: int) -> bool:
        """Whether KPI ``code``'s ``year`` row reads its ``year - 1`` value
        (its method there is ``variation``)."""
        return code in self._shape(year).variations

    def rescore(
        self, stream: str, year: int, codes: Iterable[str], table: Traced
    ) -> list[RowKey]:
        """Score the rows of KPIs ``codes`` of ``table`` afresh, and every
        aggregate above one that moved (in place); return the rows that moved."""
        state, shape = self.assessments[stream], self._shape(year)
        rows, deps = table.rows, table.deps
        moved: list[RowKey] = []
        self._deps = deps
        try:
            outcomes = set()
            for code in sorted(set(codes)):
                key = ("kpi", code)
                if key not in rows:
                    continue
                before: Before = (rows[key], deps[key])
                self._seen = set()
                row = self._kpi_row(state, code, year)
                if row is None:  # cannot be: the framework did not change
                    raise AssertionError(f"{code} has no row for {year}")
                rows[key] = row
                if (row, deps[key]) != before:
                    moved.append(key)
                    outcomes.add(shape.outcome_of.get(code, ""))
            if not moved:
                return []
            dimensions = set()
            for code in sorted(outcomes & set(self.outcomes)):
                children = [rows[("kpi", c)] for c in shape.kpis_of.get(code, [])]
                before = self._before(table, ("outcome", code))
                found = self._level(
                    "outcome",
                    {code: self.outcomes[code]},
                    year,
                    children,
                    lambda v: v.body["outcome"],
                    self.kpis,
                )
                moved += self._put(table, found, before)
                dimensions.add(shape.dimension_of.get(code, ""))
            for code in sorted(dimensions & set(self.dimensions)):
                children = [rows[("outcome", c)] for c in shape.outcomes_of.get(code, [])]
                before = self._before(table, ("dimension", code))
                found = self._level(
                    "dimension",
                    {code: self.dimensions[code]},
                    year,
                    children,
                    lambda v: v.body["dimension"],
                    self.outcomes,
                )
                moved += self._put(table, found, before)
            tops = [rows[("dimension", c)] for c in shape.dimensions]
            weights = {r.code: self._weight(self.dimensions, r.code, year) for r in tops}
            before = self._before(table, ("overall", "overall"))
            overall = self._aggregate_row("overall", "overall", self.overall, tops, weights)
            moved += self._put(table, [overall], before)
        finally:
            self._seen = None
        return moved

    @staticmethod
    def _before(table: Traced, key: RowKey) -> Before:
        return table.rows.get(key), table.deps.get(key)

    @staticmethod
    def _put(
        table: Traced, found: list[ScoreRow], before: tuple[object, object]
    ) -> list[RowKey]:
        moved = []
        for row in found:
            key = (row.level, row.code)
            table.rows[key] = row
            if (row, table.deps[key]) != before:
                moved.append(key)
        return moved

    def _shape(self, year: int) -> Shape:
        shape = self._shapes.get(year)
        if shape is not None:
            return shape
        shape = self._shapes[year] = Shape()
        for code in sorted(self.kpis):
            version = latest(self.kpis[code], year)
            if version is None:
                continue
            parent = str(version.body["outcome"])
            shape.outcome_of[code] = parent
            shape.kpis_of.setdefault(parent, []).append(code)
            if version.body["scoring_method"]["method"] == "variation":
                shape.variations.add(code)
            for name in method_inputs(version.body["scoring_method"]):
                shape.readers_of.setdefault(name, []).append(code)
        for code in sorted(self.outcomes):
            version = latest(self.outcomes[code], year)
            if version is None:
                continue
            parent = str(version.body["dimension"])
            shape.dimension_of[code] = parent
            shape.outcomes_of.setdefault(parent, []).append(code)
        shape.dimensions = [
            code for code in sorted(self.dimensions) if latest(self.dimensions[code], year)
        ]
        return shape

    # -- tracing -------------------------------------------------------------------

    def _now(self, value: ValueRecord) -> str:
        if self._seen is None:
            return super()._now(value)
        self._seen.add(value.entry)
        return "public"

    def _kpi_row(self, state: Workflow, code: str, year: int) -> ScoreRow | None:
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
