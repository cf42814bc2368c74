"""A Member's assessment in one PMM cycle: the workflow rules (docs/design.md).

Stream ``assessment/<MEMBER>/<CYCLE>``. ``Workflow`` is what the stream's
entries say, replayed in order (``apply``); ``refusal`` says why a statement
may not be recorded against it. The rules (docs/decisions.md, decisions 5, 14):

* values describe year T or T−1; a KPI has one current value per year, and a
  correction names the current value it supersedes (same KPI and year);
* a KPI declared not used takes no value, and one with values cannot be;
* after ``submission.completed`` a KPI's value changes only in answer to a
  query or return on it; after a publication only KPIs named by
  ``assessment.reopened`` change (the lock also covers T−1, so a restated
  variation KPI needs its reopening too);
* nobody validates, queries or returns a value it recorded itself;
* only an assigned peer reviewer records findings; a publication needs a
  completed submission and a cut that does not go back in the log.

This module is the state; ``verify.rules.transitions`` what each entry does
to it, ``verify.rules.workflow_rules`` the checks, one per statement type.
Cross-stream facts (the framework's KPI versions, principals' roles, the log
size) come in a ``Context``, so the same functions serve the ledger and the
offline verifier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from verify.rules import Refusal, conflict, not_found, rule
from verify.rules.framework import FrameworkState

VALUE_TYPES = ("value.submitted", "value.corrected")
REVIEWS = {
    "value.validated": "validated",
    "value.queried": "queried",
    "value.returned": "returned",
}


@dataclass(slots=True)
class ValueRecord:
    """A recorded value (or status) of one KPI for one reference year."""

    entry: int
    kpi: str
    reference_year: int
    status: str
    value: Mapping[str, Any] | None
    disclosure: str
    recorded_by: str
    supersedes: int | None = None
    superseded_by: int | None = None
    review: str = "submitted"  # submitted | validated | queried | returned
    # Where the caller counts the entry: its stream version in the ledger, its
    # log index in the verifier and the scoreboard (whose rows cite log indexes).
    position: int = 0


@dataclass(frozen=True, slots=True)
class Publication:
    """An ``assessment.published`` entry: its stream version, the log size it
    was cut at, its title, its position (as ``ValueRecord.position``) and the
    score table it publishes (docs/scoring.md), which the verifier replays."""

    entry: int
    cut_at: int
    title: str
    position: int
    scores: Mapping[str, Any]


@dataclass(frozen=True)
class Context:
    """What the rules need from outside the stream."""

    framework: FrameworkState | None
    role_of: Callable[[str], str | None]  # a registered principal's role, or None
    log_size: int  # a publication's cut lies within the first log_size entries


@dataclass
class Workflow:
    """The state of one assessment stream, replayed entry by entry
    (``verify.rules.transitions.apply_workflow``)."""

    stream: str
    member: str = ""
    cycle: str = ""
    reference_year: int = 0
    version: int = 0
    values: dict[int, ValueRecord] = field(default_factory=dict)
    current: dict[tuple[str, int], int] = field(default_factory=dict)
    not_used: dict[str, str] = field(default_factory=dict)
    completed: bool = False
    publications: list[Publication] = field(default_factory=list)
    reopened: set[str] = field(default_factory=set)
    reviewers: set[str] = field(default_factory=set)
    # What the scores read besides: where each not-used declaration stands
    # (its position) and the latest score revision per KPI and year (the score
    # and its position); no rule reads them.
    not_used_at: dict[str, int] = field(default_factory=dict)
    revised: dict[tuple[str, int], tuple[Decimal, int]] = field(default_factory=dict)
    # The verifier's replay keeps no values (no rule reads them), so its memory
    # is the values' bookkeeping only; the ledger's aggregate keeps them.
    keep_values: bool = True

    def current_record(self, kpi: str, year: int) -> ValueRecord | None:
        """The current value of ``kpi`` for reference ``year``, if any."""
        entry = self.current.get((kpi, year))
        return None if entry is None else self.values[entry]

    # -- rules ---------------------------------------------------------------

    def value(self, entry: int) -> ValueRecord | Refusal:
        record = self.values.get(entry)
        if record is None:
            return not_found(f"entry {entry} of {self.stream} is not a recorded value")
        return record

    def current_value(self, entry: int) -> ValueRecord | Refusal:
        record = self.value(entry)
        if isinstance(record, ValueRecord) and record.superseded_by is not None:
            return conflict(
                f"entry {entry} ({record.kpi}, {record.reference_year}) was superseded "
                f"by entry {record.superseded_by}; act on the current value"
            )
        return record

    def year_refusal(self, year: int) -> Refusal | None:
        if year not in (self.reference_year, self.reference_year - 1):
            return rule(
                f"{self.stream} is for reference year {self.reference_year}; values may "
                f"describe {self.reference_year} or {self.reference_year - 1}, "
                f"not {year}"
            )
        return None

    def lock_refusal(self, kpi: str) -> Refusal | None:
        if self.publications and kpi not in self.reopened:
            return conflict(
                f"{self.stream} is published; KPI {kpi!r} must be reopened "
                "(assessment.reopened) before it changes"
            )
        if self.completed and not self._under_review(kpi):
            return conflict(
                f"the submission of {self.stream} is complete; KPI {kpi!r} changes only "
                "in answer to a query or return, or after a reopening"
            )
        return None

    def _under_review(self, kpi: str) -> bool:
        return any(
            r.kpi == kpi and r.superseded_by is None and r.review in ("queried", "returned")
            for r in self.values.values()
        )
