"""Replaying framework and assessment entries into score tables.

The one definition of "the scores these entries give": the projections keep
it up to date, the bitemporal queries replay it up to a log position, and the
offline verifier replays it to check every published table (docs/design.md §5
item 5). An assessment's state is the rules' ``Workflow``, changed by the same
transitions as the ledger's aggregate and the verifier's replay
(``verify.rules.transitions``, decision 44), with positions counted in log
indexes, which the rows cite; so it can be fed entries in log order and asked
for a table at any moment.

Year T's table scores every KPI whose definition applies to T (the version
with the latest ``applies_from`` ≤ T), then aggregates KPIs into expected
outcomes, outcomes into dimensions and dimensions into the overall score, by
the methods the framework names (``verify.scoring.methods``); the rows and
tables are ``verify.scoring.tables``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from verify.formats.entry import Entry
from verify.formats.schema import ASSESSMENT_STREAM_RE
from verify.rules import Change
from verify.rules.framework import FrameworkState, Version, latest
from verify.rules.transitions import apply_framework, apply_workflow
from verify.rules.workflow import ValueRecord, Workflow
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
from verify.scoring.tables import (
    ScoreRow,
    ScoreTable,
    revise,
    widest,
    with_outcome,
)


class Scoreboard:
    """Framework and assessment state, fed entries in log order."""

    def __init__(self) -> None:
        self._levels: Mapping[int, str] = {}
        self.framework = FrameworkState()
        self.assessments: dict[str, Workflow] = {}

    @property
    def overall(self) -> str:
        """How dimensions aggregate into the overall score."""
        return self.framework.aggregation

    @property
    def dimensions(self) -> dict[str, list[Version]]:
        return self.framework.definitions["dimension"]

    @property
    def outcomes(self) -> dict[str, list[Version]]:
        return self.framework.definitions["outcome"]

    @property
    def kpis(self) -> dict[str, list[Version]]:
        return self.framework.definitions["kpi"]

    def apply(self, index: int, entry: Entry) -> None:
        """Take one entry at log ``index`` into account (others are ignored): the
        framework's and each assessment's state change as in the ledger and the
        verifier's replay (``verify.rules.transitions``), counted in log indexes."""
        kind, stream, signed = entry.entry_type, entry.stream, entry.signed
        who = str(signed.statement.get("principal", ""))
        change = Change(kind, who, signed.body, entry.stream_version, index)
        if stream == "framework":
            apply_framework(self.framework, change)
        elif ASSESSMENT_STREAM_RE.fullmatch(stream):
            if kind == "assessment.opened":  # an opening starts the stream afresh
                self.assessments[stream] = Workflow(stream)
            state = self.assessments.get(stream)
            if state is not None:
                apply_workflow(state, change)

    def apply_all(self, entries: Iterable[tuple[int, Entry]]) -> None:
        for index, entry in entries:
            self.apply(index, entry)

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
        version = latest(group.get(code, []), year)
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
            version = latest(group[code], year)
            if version is None:
                continue
            mine = [
                c
                for c in children
                if (v := latest(child_group[c.code], year)) is not None
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
            disclosure=widest(c.disclosure for c in children),
        )

    def _kpi_row(self, state: Workflow, code: str, year: int) -> ScoreRow | None:
        version = latest(self.kpis[code], year)
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
            method_version=f"v{version.number} (entry {version.position})",
            sources=(version.position,),
            disclosure=body["disclosure"],
        )
        revised = state.revised.get((code, year))
        if code in state.not_used:
            return with_outcome(row, "not_used", [state.not_used_at[code]])
        inputs = method_inputs(method)
        if inputs:
            scored, used, disclosure = self._derived(state, method, inputs, year)
            last = max(used, default=-1)  # a later input value is scored afresh
            return revise(with_outcome(row, scored, used, disclosure), revised, last)
        current = state.current_record(code, year)
        if current is None:
            return revise(row, revised)
        if current.status != "value" or current.value is None:
            # A status travels at the level of the value it stands for.
            row = with_outcome(row, current.status, [current.position], self._now(current))
            return revise(row, revised, current.position)
        used = [current.position]
        levels = [self._now(current)]
        prior = None
        restated_by = None
        if method["method"] == "variation":
            before = state.current_record(code, year - 1)
            if before is not None:
                # T−1 is read even when it holds a status: the score says so.
                levels.append(self._now(before))
            if before is not None and before.status == "value":
                prior = before.value
                used.append(before.position)
                restated_by = before.position if before.supersedes is not None else None
        scored = score_value(method, body["value_kind"], current.value, prior)
        row = with_outcome(row, scored, used, widest(levels))
        if restated_by is not None:
            row = replace(row, restated_by=restated_by)
        return revise(row, revised, current.position)

    def _derived(
        self,
        state: Workflow,
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
            version = latest(self.kpis.get(code, []), year)
            current = state.current_record(code, year)
            if version is None or current is None or current.value is None:
                reason = f"{code} has no value for {year}"
                return Scored(None, reason), used, widest(levels)
            number = number_of(version.body["value_kind"], current.value)
            if number is None:
                reason = f"{code}'s value is not a number"
                return Scored(None, reason), used, widest(levels)
            numbers.append(number)
            used.append(current.position)
        if numbers[1] == 0:
            return (
                Scored(None, f"{inputs[1]} is zero: the ratio is undefined"),
                used,
                widest(levels),
            )
        return score_number(method, numbers[0] / numbers[1]), used, widest(levels)

    def _now(self, value: ValueRecord) -> str:
        """A value's disclosure as it stands now (``table``'s ``levels``)."""
        return self._levels.get(value.entry, value.disclosure)

    def _input_level(self, state: Workflow, code: str, year: int) -> str:
        """The level of a derived score's input: its value's, else its KPI's."""
        current = state.current_record(code, year)
        if current is not None:
            return self._now(current)
        version = latest(self.kpis.get(code, []), year)
        return str(version.body["disclosure"]) if version is not None else "restricted"
