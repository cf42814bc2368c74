"""A Member's assessment in one PMM cycle (DESIGN.md §1-2).

Stream ``assessment/<MEMBER>/<CYCLE>``. Values are identified by the stream
version of the entry that recorded them ("entry"). Corrections never
overwrite: a correction is a new entry naming the entry it supersedes, with a
reason and a kind. A value may be validated, queried or returned, never by the
principal who recorded it. A publication names the log position it is cut at;
after it, values are locked except for KPIs explicitly reopened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import BaseAggregate

from ledger.domain.events import (
    LedgerCreated,
    LedgerEvent,
    Signed,
    event_kwargs,
    registered,
)
from ledger.errors import ConflictError, DomainRuleError, NotFoundError, SelfValidationError


@dataclass
class ValueRecord:
    """A recorded value (or status) of one KPI for one reference year."""

    entry: int
    kpi: str
    reference_year: int
    status: str
    value: dict[str, Any] | None
    disclosure: str
    recorded_by: str
    supersedes: int | None = None
    superseded_by: int | None = None
    review: str = "submitted"  # submitted | validated | queried | returned


@dataclass
class Publication:
    entry: int
    cut_at: int
    title: str


class Assessment(BaseAggregate[str]):
    TOPIC = "pmm.assessment"

    def __init__(self) -> None:
        self.member = ""
        self.cycle = ""
        self.reference_year = 0
        self.values: dict[int, ValueRecord] = {}
        self.current: dict[tuple[str, int], int] = {}
        self.not_used: dict[str, str] = {}
        self.completed = False
        self.publications: list[Publication] = []
        self.reopened: set[str] = set()
        self.reviewers: set[str] = set()
        self.score_revisions: list[int] = []

    # -- queries -----------------------------------------------------------

    def value(self, entry: int) -> ValueRecord:
        record = self.values.get(entry)
        if record is None:
            raise NotFoundError(f"entry {entry} of {self.id} is not a recorded value")
        return record

    def current_value(self, entry: int) -> ValueRecord:
        record = self.value(entry)
        if record.superseded_by is not None:
            raise ConflictError(
                f"entry {entry} ({record.kpi}, {record.reference_year}) was superseded "
                f"by entry {record.superseded_by}; act on the current value"
            )
        return record

    # -- commands ------------------------------------------------------------

    @classmethod
    def open(cls, signed: Signed, stream: str) -> Assessment:
        body = signed.body
        if stream != f"assessment/{body['member']}/{body['cycle']}":
            raise DomainRuleError(
                f"assessment.opened for {body['member']} cycle {body['cycle']} "
                f"belongs in stream assessment/{body['member']}/{body['cycle']}, "
                f"not {stream!r}"
            )
        event = AssessmentOpened(
            originator_id=stream, originator_version=1, **event_kwargs(signed)
        )
        assessment = event.mutate(None)
        assert isinstance(assessment, Assessment)
        assessment.pending_events.append(event)
        return assessment

    def submit_value(self, signed: Signed) -> None:
        body = signed.body
        self._check_year_and_lock(body["kpi"], body["reference_year"])
        if body["kpi"] in self.not_used:
            raise ConflictError(
                f"KPI {body['kpi']!r} was declared not used; it takes no value"
            )
        existing = self.current.get((body["kpi"], body["reference_year"]))
        if existing is not None:
            raise ConflictError(
                f"KPI {body['kpi']!r} already has a value for {body['reference_year']} "
                f"(entry {existing}); record a value.corrected naming entry {existing}"
            )
        self.trigger_event(ValueSubmitted, **event_kwargs(signed))

    def correct_value(self, signed: Signed) -> None:
        body = signed.body
        old = self.current_value(body["supersedes"])
        if (old.kpi, old.reference_year) != (body["kpi"], body["reference_year"]):
            raise DomainRuleError(
                f"entry {old.entry} is KPI {old.kpi!r} for {old.reference_year}; a "
                f"correction of it must name the same KPI and reference year"
            )
        self._check_year_and_lock(body["kpi"], body["reference_year"])
        self.trigger_event(ValueCorrected, **event_kwargs(signed))

    def declare_not_used(self, signed: Signed) -> None:
        kpi = signed.body["kpi"]
        if kpi in self.not_used:
            raise ConflictError(f"KPI {kpi!r} is already declared not used")
        self._check_lock(kpi)
        values = [e for (k, _), e in self.current.items() if k == kpi]
        if values:
            raise ConflictError(
                f"KPI {kpi!r} has recorded values (entries {values}); it cannot be "
                "declared not used"
            )
        self.trigger_event(KpiNotUsed, **event_kwargs(signed))

    def set_disclosure(self, signed: Signed) -> None:
        self.current_value(signed.body["entry"])
        self.trigger_event(DisclosureSet, **event_kwargs(signed))

    def complete(self, signed: Signed) -> None:
        if self.completed:
            raise ConflictError(f"the submission of {self.id} is already complete")
        self.trigger_event(SubmissionCompleted, **event_kwargs(signed))

    def review_value(self, signed: Signed, event_class: type[LedgerEvent]) -> None:
        record = self.current_value(signed.body["entry"])
        if record.recorded_by == signed.principal:
            raise SelfValidationError(
                f"principal {signed.principal!r} recorded entry {record.entry} and "
                "may not validate, query or return it; another principal must"
            )
        if event_class is ValueValidated and record.review == "validated":
            raise ConflictError(f"entry {record.entry} is already validated")
        self.trigger_event(event_class, **event_kwargs(signed))

    def revise_score(self, signed: Signed) -> None:
        body = signed.body
        self._check_year(body["reference_year"])
        self.trigger_event(ScoreRevised, **event_kwargs(signed))

    def publish(self, signed: Signed, log_size: int) -> None:
        cut_at = signed.body["cut_at"]
        if not self.completed:
            raise DomainRuleError(
                f"the submission of {self.id} is not complete; the NCP marks it "
                "complete (submission.completed) before it can be published"
            )
        if cut_at > log_size:
            raise DomainRuleError(
                f"cut_at {cut_at} is beyond the log, which holds {log_size} entries"
            )
        if self.publications and cut_at < self.publications[-1].cut_at:
            raise DomainRuleError(
                f"cut_at {cut_at} is before the previous publication's "
                f"{self.publications[-1].cut_at}"
            )
        self.trigger_event(AssessmentPublished, **event_kwargs(signed))

    def reopen(self, signed: Signed) -> None:
        if not self.publications:
            raise DomainRuleError(f"{self.id} is not published; nothing to reopen")
        self.trigger_event(AssessmentReopened, **event_kwargs(signed))

    def assign_reviewer(self, signed: Signed, role: str) -> None:
        if role != "peer_reviewer":
            raise DomainRuleError(
                f"principal {signed.body['principal']!r} has role {role!r}; only a "
                "peer_reviewer can be assigned"
            )
        if signed.body["principal"] in self.reviewers:
            raise ConflictError(f"{signed.body['principal']!r} is already assigned")
        self.trigger_event(ReviewerAssigned, **event_kwargs(signed))

    def record_finding(self, signed: Signed) -> None:
        if signed.principal not in self.reviewers:
            raise DomainRuleError(
                f"peer reviewer {signed.principal!r} is not assigned to {self.id}"
            )
        self.trigger_event(FindingRecorded, **event_kwargs(signed))

    def raise_flag(self, signed: Signed) -> None:
        entry = signed.body.get("entry")
        if entry is not None and not 1 <= entry <= self.version:
            raise NotFoundError(f"{self.id} has no entry {entry}")
        self.trigger_event(IntegrityFlagRaised, **event_kwargs(signed))

    def _check_year(self, year: int) -> None:
        if year not in (self.reference_year, self.reference_year - 1):
            raise DomainRuleError(
                f"{self.id} is for reference year {self.reference_year}; values may "
                f"describe {self.reference_year} or {self.reference_year - 1}, "
                f"not {year}"
            )

    def _check_lock(self, kpi: str) -> None:
        if self.publications and kpi not in self.reopened:
            raise ConflictError(
                f"{self.id} is published; KPI {kpi!r} must be reopened "
                "(assessment.reopened) before it changes"
            )
        if self.completed and not self._under_review(kpi):
            raise ConflictError(
                f"the submission of {self.id} is complete; KPI {kpi!r} changes only "
                "in answer to a query or return, or after a reopening"
            )

    def _under_review(self, kpi: str) -> bool:
        return any(
            r.kpi == kpi and r.superseded_by is None and r.review in ("queried", "returned")
            for r in self.values.values()
        )

    def _check_year_and_lock(self, kpi: str, year: int) -> None:
        self._check_year(year)
        self._check_lock(kpi)


class AssessmentOpened(LedgerCreated):
    TOPIC = "assessment.opened"
    AGGREGATE_TOPIC = Assessment.TOPIC

    def apply(self, aggregate: Any) -> None:
        aggregate.member = self.body["member"]
        aggregate.cycle = self.body["cycle"]
        aggregate.reference_year = self.body["reference_year"]


class ValueSubmitted(LedgerEvent):
    TOPIC = "value.submitted"

    def apply(self, aggregate: Any) -> None:
        body = self.body
        key = (body["kpi"], body["reference_year"])
        previous = aggregate.current.get(key)
        if previous is not None:
            aggregate.values[previous].superseded_by = self.originator_version
        aggregate.values[self.originator_version] = ValueRecord(
            self.originator_version,
            body["kpi"],
            body["reference_year"],
            body["status"],
            body["value"],
            body["disclosure"],
            self.principal,
            supersedes=body.get("supersedes"),
        )
        aggregate.current[key] = self.originator_version


class ValueCorrected(ValueSubmitted):
    TOPIC = "value.corrected"


class KpiNotUsed(LedgerEvent):
    TOPIC = "kpi.not_used"

    def apply(self, aggregate: Any) -> None:
        aggregate.not_used[self.body["kpi"]] = self.body["justification"]


class DisclosureSet(LedgerEvent):
    TOPIC = "disclosure.set"

    def apply(self, aggregate: Any) -> None:
        aggregate.values[self.body["entry"]].disclosure = self.body["disclosure"]


class SubmissionCompleted(LedgerEvent):
    TOPIC = "submission.completed"

    def apply(self, aggregate: Any) -> None:
        aggregate.completed = True


class ValueValidated(LedgerEvent):
    TOPIC = "value.validated"
    REVIEW = "validated"

    def apply(self, aggregate: Any) -> None:
        aggregate.values[self.body["entry"]].review = self.REVIEW


class ValueQueried(ValueValidated):
    TOPIC = "value.queried"
    REVIEW = "queried"


class ValueReturned(ValueValidated):
    TOPIC = "value.returned"
    REVIEW = "returned"


class ScoreRevised(LedgerEvent):
    TOPIC = "score.revised"

    def apply(self, aggregate: Any) -> None:
        aggregate.score_revisions.append(self.originator_version)


class AssessmentPublished(LedgerEvent):
    TOPIC = "assessment.published"

    def apply(self, aggregate: Any) -> None:
        aggregate.publications.append(
            Publication(self.originator_version, self.body["cut_at"], self.body["title"])
        )
        aggregate.reopened = set()


class AssessmentReopened(LedgerEvent):
    TOPIC = "assessment.reopened"

    def apply(self, aggregate: Any) -> None:
        aggregate.reopened |= set(self.body["kpis"])
        aggregate.completed = False


class ReviewerAssigned(LedgerEvent):
    TOPIC = "reviewer.assigned"

    def apply(self, aggregate: Any) -> None:
        aggregate.reviewers.add(self.body["principal"])


class FindingRecorded(LedgerEvent):
    TOPIC = "review.finding_recorded"


class IntegrityFlagRaised(LedgerEvent):
    TOPIC = "integrity.flag_raised"


registered(
    AssessmentOpened,
    ValueSubmitted,
    ValueCorrected,
    KpiNotUsed,
    DisclosureSet,
    SubmissionCompleted,
    ValueValidated,
    ValueQueried,
    ValueReturned,
    ScoreRevised,
    AssessmentPublished,
    AssessmentReopened,
    ReviewerAssigned,
    FindingRecorded,
    IntegrityFlagRaised,
)
