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

Cross-stream facts (the framework's KPI versions, principals' roles, the log
size) come in a ``Context``, so the same functions serve the ledger and the
offline verifier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from verify.fields import value_problem
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


@dataclass(frozen=True, slots=True)
class Publication:
    entry: int
    cut_at: int
    title: str


@dataclass(frozen=True)
class Context:
    """What the rules need from outside the stream."""

    framework: FrameworkState | None
    role_of: Callable[[str], str | None]  # a registered principal's role, or None
    log_size: int  # a publication's cut lies within the first log_size entries


@dataclass
class Workflow:
    """The state of one assessment stream, replayed entry by entry."""

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
    score_revisions: list[int] = field(default_factory=list)

    # -- replay --------------------------------------------------------------

    def apply(
        self, kind: str, principal: str, body: Mapping[str, Any], version: int
    ) -> None:
        """Take the entry at stream ``version`` into account."""
        self.version = version
        if kind == "assessment.opened":
            self.member, self.cycle = body["member"], body["cycle"]
            self.reference_year = body["reference_year"]
        elif kind in VALUE_TYPES:
            key = (body["kpi"], body["reference_year"])
            previous = self.current.get(key)
            if previous is not None:
                self.values[previous].superseded_by = version
            self.values[version] = ValueRecord(
                version,
                body["kpi"],
                body["reference_year"],
                body["status"],
                body["value"],
                body["disclosure"],
                principal,
                supersedes=body.get("supersedes"),
            )
            self.current[key] = version
        elif kind == "kpi.not_used":
            self.not_used[body["kpi"]] = body["justification"]
        elif kind == "disclosure.set":
            self.values[body["entry"]].disclosure = body["disclosure"]
        elif kind == "submission.completed":
            self.completed = True
        elif kind in REVIEWS:
            self.values[body["entry"]].review = REVIEWS[kind]
        elif kind == "score.revised":
            self.score_revisions.append(version)
        elif kind == "assessment.published":
            self.publications.append(Publication(version, body["cut_at"], body["title"]))
            self.reopened = set()
        elif kind == "assessment.reopened":
            self.reopened |= set(body["kpis"])
            self.completed = False
        elif kind == "reviewer.assigned":
            self.reviewers.add(body["principal"])

    # -- rules ---------------------------------------------------------------

    def refusal(
        self, kind: str, principal: str, body: Mapping[str, Any], context: Context
    ) -> Refusal | None:
        """Why ``principal`` may not record statement ``kind`` here, or None."""
        check = _RULES.get(kind)
        return check(self, principal, body, context) if check is not None else None

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


Rule = Callable[[Workflow, str, Mapping[str, Any], Context], Refusal | None]


def opening_refusal(stream: str, body: Mapping[str, Any]) -> Refusal | None:
    """``assessment.opened`` belongs in the stream its Member and cycle name."""
    expected = f"assessment/{body['member']}/{body['cycle']}"
    if stream != expected:
        return rule(
            f"assessment.opened for {body['member']} cycle {body['cycle']} "
            f"belongs in stream {expected}, not {stream!r}"
        )
    return None


def _fits_kpi(body: Mapping[str, Any], context: Context) -> Refusal | None:
    """A value fits the KPI version that applies to its reference year."""
    if context.framework is None:
        return not_found("stream 'framework' does not exist yet")
    kpi = context.framework.kpi_for(body["kpi"], body["reference_year"])
    if isinstance(kpi, Refusal):
        return kpi
    problem = value_problem(kpi.value_kind, body["status"], body["value"])
    if problem:
        return rule(f"KPI {kpi.code!r} (version {kpi.version}): {problem}")
    if body["unit"] != kpi.unit:
        return rule(
            f"KPI {kpi.code!r} (version {kpi.version}) is measured in {kpi.unit!r}, "
            f"not {body['unit']!r}"
        )
    return None


def _known(code: str, context: Context) -> Refusal | None:
    if context.framework is None:
        return not_found("stream 'framework' does not exist yet")
    return context.framework.known_kpi(code)


def _submit(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    found = _fits_kpi(body, c)
    found = found or w.year_refusal(body["reference_year"]) or w.lock_refusal(body["kpi"])
    if found:
        return found
    if body["kpi"] in w.not_used:
        return conflict(f"KPI {body['kpi']!r} was declared not used; it takes no value")
    existing = w.current.get((body["kpi"], body["reference_year"]))
    if existing is not None:
        return conflict(
            f"KPI {body['kpi']!r} already has a value for {body['reference_year']} "
            f"(entry {existing}); record a value.corrected naming entry {existing}"
        )
    return None


def _correct(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    found = _fits_kpi(body, c)
    if found:
        return found
    old = w.current_value(body["supersedes"])
    if isinstance(old, Refusal):
        return old
    if (old.kpi, old.reference_year) != (body["kpi"], body["reference_year"]):
        return rule(
            f"entry {old.entry} is KPI {old.kpi!r} for {old.reference_year}; a "
            f"correction of it must name the same KPI and reference year"
        )
    return w.year_refusal(body["reference_year"]) or w.lock_refusal(body["kpi"])


def _not_used(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    kpi = body["kpi"]
    found = _known(kpi, c)
    if found:
        return found
    if kpi in w.not_used:
        return conflict(f"KPI {kpi!r} is already declared not used")
    found = w.lock_refusal(kpi)
    if found:
        return found
    values = [e for (k, _), e in w.current.items() if k == kpi]
    if values:
        return conflict(
            f"KPI {kpi!r} has recorded values (entries {values}); it cannot be "
            "declared not used"
        )
    return None


def _disclosure(
    w: Workflow, who: str, body: Mapping[str, Any], c: Context
) -> Refusal | None:
    found = w.current_value(body["entry"])
    return found if isinstance(found, Refusal) else None


def _complete(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    if w.completed:
        return conflict(f"the submission of {w.stream} is already complete")
    return None


def _review(kind: str) -> Rule:
    def check(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
        record = w.current_value(body["entry"])
        if isinstance(record, Refusal):
            return record
        if record.recorded_by == who:
            return Refusal(
                "self_review",
                f"principal {who!r} recorded entry {record.entry} and "
                "may not validate, query or return it; another principal must",
            )
        if kind == "value.validated" and record.review == "validated":
            return conflict(f"entry {record.entry} is already validated")
        return None

    return check


def _revise(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    return _known(body["kpi"], c) or w.year_refusal(body["reference_year"])


def _publish(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    cut_at = body["cut_at"]
    if not w.completed:
        return rule(
            f"the submission of {w.stream} is not complete; the NCP marks it "
            "complete (submission.completed) before it can be published"
        )
    if cut_at > c.log_size:
        return rule(f"cut_at {cut_at} is beyond the log, which holds {c.log_size} entries")
    if w.publications and cut_at < w.publications[-1].cut_at:
        return rule(
            f"cut_at {cut_at} is before the previous publication's "
            f"{w.publications[-1].cut_at}"
        )
    return None


def _reopen(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    for code in body["kpis"]:
        found = _known(code, c)
        if found:
            return found
    if not w.publications:
        return rule(f"{w.stream} is not published; nothing to reopen")
    return None


def _assign(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    reviewer = body["principal"]
    role = c.role_of(reviewer)
    if role is None:
        return not_found(f"no principal {reviewer!r} is registered")
    if role != "peer_reviewer":
        return rule(
            f"principal {reviewer!r} has role {role!r}; only a peer_reviewer can be "
            "assigned"
        )
    if reviewer in w.reviewers:
        return conflict(f"{reviewer!r} is already assigned")
    return None


def _finding(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    if who not in w.reviewers:
        return rule(f"peer reviewer {who!r} is not assigned to {w.stream}")
    return None


def _flag(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    entry = body.get("entry")
    if entry is not None and not 1 <= entry <= w.version:
        return not_found(f"{w.stream} has no entry {entry}")
    return None


_RULES: dict[str, Rule] = {
    "value.submitted": _submit,
    "value.corrected": _correct,
    "kpi.not_used": _not_used,
    "disclosure.set": _disclosure,
    "submission.completed": _complete,
    **{kind: _review(kind) for kind in REVIEWS},
    "score.revised": _revise,
    "assessment.published": _publish,
    "assessment.reopened": _reopen,
    "reviewer.assigned": _assign,
    "review.finding_recorded": _finding,
    "integrity.flag_raised": _flag,
}
