"""Replaying framework and assessment entries into score tables.

The one definition of "the scores these entries give": the projections keep
it up to date, the bitemporal queries replay it up to a log position, and the
offline verifier replays it to check every published table (docs/design.md §5
item 5). It holds only current state per stream (current value per KPI and
year, not-used declarations, score revisions), so it can be fed entries in log
order and asked for a table at any moment.

Year T's table scores every KPI whose definition applies to T (the version
with the latest ``applies_from`` ≤ T), then aggregates KPIs into expected
outcomes, outcomes into dimensions and dimensions into the overall score, by
the methods the framework names (``verify.scoring.methods``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from verify.formats.schema import ASSESSMENT_STREAM_RE
from verify.formats.statement import Entry
from verify.scoring.methods import (
    Part,
    Scored,
    aggregate,
    format_score,
    method_inputs,
    number_of,
    score_number,
    score_value,
)

SCORES_FORMAT = "pmm-scores/v1"
LEVELS = ("kpi", "outcome", "dimension", "overall")


@dataclass(frozen=True)
class Version:
    """One version of a definition: its body, log index and stream version."""

    body: Mapping[str, Any]
    index: int
    number: int  # 1 for the definition, 2 for its first revision...
    applies_from: int


@dataclass
class Value:
    """The current value (or status) of one KPI for one reference year."""

    status: str
    value: Mapping[str, Any] | None
    disclosure: str
    index: int
    entry: int  # stream version
    corrects: bool  # recorded by a value.corrected


@dataclass
class AssessmentState:
    member: str
    cycle: str
    reference_year: int
    values: dict[tuple[str, int], Value] = field(default_factory=dict)
    by_entry: dict[int, tuple[str, int]] = field(default_factory=dict)
    not_used: dict[str, int] = field(default_factory=dict)
    revised: dict[tuple[str, int], tuple[Decimal, int]] = field(default_factory=dict)
    publications: list[tuple[int, int, Mapping[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class ScoreRow:
    """One line of a score table, with its provenance (log indexes, method version)."""

    level: str  # kpi | outcome | dimension | overall
    code: str
    score: str | None
    status: str  # scored, revised, or why there is no score
    grade: str | None = None
    method: str | None = None
    method_version: str | None = None
    sources: tuple[int, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()
    disclosure: str = "public"
    restated_by: int | None = None


@dataclass(frozen=True)
class ScoreTable:
    stream: str
    member: str
    cycle: str
    reference_year: int
    rows: tuple[ScoreRow, ...]

    def published(self) -> dict[str, Any]:
        """The table as an ``assessment.published`` body carries it (docs/scoring.md)."""
        table: dict[str, Any] = {
            "format": SCORES_FORMAT,
            "reference_year": self.reference_year,
        }
        for level, key in (
            ("kpi", "kpis"),
            ("outcome", "outcomes"),
            ("dimension", "dimensions"),
        ):
            table[key] = {r.code: r.score for r in self.rows if r.level == level}
        table["overall"] = next(r.score for r in self.rows if r.level == "overall")
        return table


def _latest(versions: list[Version], year: int) -> Version | None:
    applicable = [v for v in versions if v.applies_from <= year]
    return max(applicable, key=lambda v: (v.applies_from, v.number)) if applicable else None


class Scoreboard:
    """Framework and assessment state, fed entries in log order."""

    def __init__(self) -> None:
        self._levels: Mapping[int, str] = {}
        self.overall = "mean"
        self.dimensions: dict[str, list[Version]] = {}
        self.outcomes: dict[str, list[Version]] = {}
        self.kpis: dict[str, list[Version]] = {}
        self.assessments: dict[str, AssessmentState] = {}

    def apply(self, index: int, entry: Entry) -> None:
        """Take one entry at log ``index`` into account (others are ignored)."""
        kind, body = entry.entry_type, entry.signed.body
        version = entry.stream_version
        if entry.stream == "framework":
            self._framework(kind, body, index, version)
        elif ASSESSMENT_STREAM_RE.fullmatch(entry.stream):
            self._assessment(entry.stream, kind, body, index, version)

    def apply_all(self, entries: Iterable[tuple[int, Entry]]) -> None:
        for index, entry in entries:
            self.apply(index, entry)

    def _framework(self, kind: str, body: Mapping[str, Any], index: int, n: int) -> None:
        if kind == "framework.created":
            self.overall = body.get("aggregation", "mean")
            return
        group = {
            "dimension": self.dimensions,
            "outcome": self.outcomes,
            "kpi": self.kpis,
        }.get(kind.split(".")[0])
        if group is not None and kind.endswith((".defined", ".revised")):
            versions = group.setdefault(body["code"], [])
            applies_from = int(body.get("applies_from", 0))
            versions.append(Version(body, index, len(versions) + 1, applies_from))

    def _assessment(
        self, stream: str, kind: str, body: Mapping[str, Any], index: int, n: int
    ) -> None:
        if kind == "assessment.opened":
            self.assessments[stream] = AssessmentState(
                body["member"], body["cycle"], body["reference_year"]
            )
            return
        state = self.assessments.get(stream)
        if state is None:
            return
        if kind in ("value.submitted", "value.corrected"):
            key = (body["kpi"], body["reference_year"])
            state.values[key] = Value(
                body["status"],
                body.get("value"),
                body["disclosure"],
                index,
                n,
                kind == "value.corrected",
            )
            state.by_entry[n] = key
        elif kind == "kpi.not_used":
            state.not_used[body["kpi"]] = index
        elif kind == "disclosure.set":
            found = state.values.get(state.by_entry.get(body["entry"], ("", 0)))
            if found is not None and found.entry == body["entry"]:
                found.disclosure = body["disclosure"]
        elif kind == "score.revised":
            key = (body["kpi"], body["reference_year"])
            state.revised[key] = (Decimal(body["score"]), index)
        elif kind == "assessment.published":
            state.publications.append((index, body["cut_at"], body.get("scores", {})))

    # -- tables ---------------------------------------------------------------

    def table(
        self, stream: str, year: int | None = None, levels: Mapping[int, str] | None = None
    ) -> ScoreTable:
        """The score table of ``stream`` for reference ``year`` (default: its year T).

        ``levels`` maps value entries (stream versions) to their disclosure as it
        stands *now* (docs/decisions.md, decision 26): a replay up to a past
        record time then discloses each score at the level its inputs have today,
        not the level they had then. Without it, the level at the replay's end."""
        state = self.assessments[stream]
        year = state.reference_year if year is None else year
        self._levels = levels or {}
        kpi_rows = {code: self._kpi_row(state, code, year) for code in sorted(self.kpis)}
        rows = [row for row in kpi_rows.values() if row is not None]
        outcome_rows = self._level(
            "outcome", self.outcomes, year, rows, lambda v: v.body["outcome"], self.kpis
        )
        dimension_rows = self._level(
            "dimension",
            self.dimensions,
            year,
            outcome_rows,
            lambda v: v.body["dimension"],
            self.outcomes,
        )
        overall = self._aggregate_row(
            "overall",
            "overall",
            self.overall,
            dimension_rows,
            {r.code: self._weight(self.dimensions, r.code, year) for r in dimension_rows},
        )
        return ScoreTable(
            stream,
            state.member,
            state.cycle,
            year,
            (*rows, *outcome_rows, *dimension_rows, overall),
        )

    def _weight(self, group: dict[str, list[Version]], code: str, year: int) -> Decimal:
        version = _latest(group.get(code, []), year)
        return Decimal(version.body.get("weight", "1")) if version else Decimal(1)

    def _level(
        self,
        level: str,
        group: dict[str, list[Version]],
        year: int,
        children: list[ScoreRow],
        parent_of: Any,
        child_group: dict[str, list[Version]],
    ) -> list[ScoreRow]:
        rows = []
        for code in sorted(group):
            version = _latest(group[code], year)
            if version is None:
                continue
            mine = [
                c
                for c in children
                if (v := _latest(child_group[c.code], year)) is not None
                and parent_of(v) == code
            ]
            weights = {c.code: self._weight(child_group, c.code, year) for c in mine}
            how = version.body.get("aggregation", "mean")
            rows.append(self._aggregate_row(level, code, how, mine, weights))
        return rows

    @staticmethod
    def _aggregate_row(
        level: str,
        code: str,
        how: str,
        children: list[ScoreRow],
        weights: dict[str, Decimal],
    ) -> ScoreRow:
        parts = [
            Part(
                c.code,
                Decimal(c.score) if c.score is not None else None,
                weights[c.code],
                c.status,
            )
            for c in children
        ]
        result = aggregate(parts, how)
        sources = sorted({i for c in children for i in c.sources})
        return ScoreRow(
            level,
            code,
            format_score(result.score) if result.score is not None else None,
            "scored" if result.score is not None else "nothing to aggregate",
            method=how,
            sources=tuple(sources),
            excluded=result.excluded,
            # Every child, scored or not: an aggregate shows which children it
            # excluded and why, and its number tells whether they were.
            disclosure=_widest(c.disclosure for c in children),
        )

    def _kpi_row(self, state: AssessmentState, code: str, year: int) -> ScoreRow | None:
        version = _latest(self.kpis[code], year)
        if version is None:
            return None
        body = version.body
        method = body["scoring_method"]
        row = ScoreRow(
            "kpi",
            code,
            None,
            "missing",
            method=method["method"],
            method_version=f"v{version.number} (entry {version.index})",
            sources=(version.index,),
            disclosure=body["disclosure"],
        )
        revised = state.revised.get((code, year))
        if code in state.not_used:
            return _with(row, "not_used", [state.not_used[code]])
        inputs = method_inputs(method)
        if inputs:
            scored, used, disclosure = self._derived(state, method, inputs, year)
            latest = max(used, default=-1)  # a later input value is scored afresh
            return self._revise(_with(row, scored, used, disclosure), revised, latest)
        current = state.values.get((code, year))
        if current is None:
            return self._revise(row, revised)
        if current.status != "value" or current.value is None:
            # A status travels at the level of the value it stands for.
            row = _with(row, current.status, [current.index], self._now(current))
            return self._revise(row, revised, current.index)
        used = [current.index]
        levels = [self._now(current)]
        prior = None
        restated_by = None
        if method["method"] == "variation":
            before = state.values.get((code, year - 1))
            if before is not None:
                # T−1 is read even when it holds a status: the score says so.
                levels.append(self._now(before))
            if before is not None and before.status == "value":
                prior = before.value
                used.append(before.index)
                restated_by = before.index if before.corrects else None
        scored = score_value(method, body["value_kind"], current.value, prior)
        row = _with(row, scored, used, _widest(levels))
        if restated_by is not None:
            row = _replace(row, restated_by=restated_by)
        return self._revise(row, revised, current.index)

    def _derived(
        self,
        state: AssessmentState,
        method: Mapping[str, Any],
        inputs: tuple[str, ...],
        year: int,
    ) -> tuple[Scored, list[int], str]:
        numbers: list[Decimal] = []
        used: list[int] = []
        # Every input's level, read or missing: a derived score, or the reason
        # it has none, reveals something of each (decision 26).
        levels = [self._input_level(state, code, year) for code in inputs]
        for code in inputs:
            version = _latest(self.kpis.get(code, []), year)
            current = state.values.get((code, year))
            if version is None or current is None or current.value is None:
                reason = f"{code} has no value for {year}"
                return Scored(None, reason), used, _widest(levels)
            number = number_of(version.body["value_kind"], current.value)
            if number is None:
                reason = f"{code}'s value is not a number"
                return Scored(None, reason), used, _widest(levels)
            numbers.append(number)
            used.append(current.index)
        if numbers[1] == 0:
            return (
                Scored(None, f"{inputs[1]} is zero: the ratio is undefined"),
                used,
                _widest(levels),
            )
        return score_number(method, numbers[0] / numbers[1]), used, _widest(levels)

    def _now(self, value: Value) -> str:
        """A value's disclosure as it stands now (``table``'s ``levels``)."""
        return self._levels.get(value.entry, value.disclosure)

    def _input_level(self, state: AssessmentState, code: str, year: int) -> str:
        """The level of a derived score's input: its value's, else its KPI's."""
        current = state.values.get((code, year))
        if current is not None:
            return self._now(current)
        version = _latest(self.kpis.get(code, []), year)
        return str(version.body["disclosure"]) if version is not None else "restricted"

    @staticmethod
    def _revise(
        row: ScoreRow, revised: tuple[Decimal, int] | None, value_index: int = -1
    ) -> ScoreRow:
        # The later of the value and the revision wins: a correction recorded
        # after a score revision is scored afresh (docs/scoring.md).
        if revised is None or revised[1] < value_index:
            return row
        return _replace(
            row,
            score=format_score(revised[0]),
            status="revised",
            sources=tuple(sorted({*row.sources, revised[1]})),
        )


_ORDER = {"public": 0, "wco": 1, "restricted": 2}


def _widest(disclosures: Iterable[str]) -> str:
    """The most restricted disclosure among the inputs (a score reveals its inputs)."""
    return max(disclosures, key=lambda d: _ORDER[d], default="public")


def _replace(row: ScoreRow, **changes: Any) -> ScoreRow:
    return replace(row, **changes)


def _with(
    row: ScoreRow, outcome: Scored | str, used: list[int], disclosure: str | None = None
) -> ScoreRow:
    sources = tuple(sorted({*row.sources, *used}))
    if isinstance(outcome, str):
        return _replace(
            row, status=outcome, sources=sources, disclosure=disclosure or row.disclosure
        )
    return _replace(
        row,
        score=format_score(outcome.score) if outcome.score is not None else None,
        status="scored" if outcome.score is not None else (outcome.reason or "unscorable"),
        grade=outcome.level,
        sources=sources,
        disclosure=disclosure or row.disclosure,
    )


def table_difference(claimed: dict[str, Any], replayed: dict[str, Any]) -> str | None:
    """The first difference between a published table and the replayed one."""
    if claimed.get("reference_year") != replayed["reference_year"]:
        return (
            f"reference_year is {claimed.get('reference_year')}, the assessment's "
            f"table is for {replayed['reference_year']}"
        )
    for level in ("kpis", "outcomes", "dimensions"):
        mine, theirs = claimed.get(level, {}), replayed[level]
        for code in sorted(set(mine) | set(theirs)):
            if code not in theirs:
                return f"{level}.{code} is not in the replayed table"
            if code not in mine:
                return f"{level}.{code} is missing (replay gives {theirs[code]})"
            if mine[code] != theirs[code]:
                return f"{level}.{code} is {mine[code]}, the replay gives {theirs[code]}"
    if claimed.get("overall") != replayed["overall"]:
        return (
            f"overall is {claimed.get('overall')}, the replay gives {replayed['overall']}"
        )
    return None
