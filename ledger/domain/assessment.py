"""A Member's assessment in one PMM cycle (docs/design.md §1-2, docs/design.md).

Stream ``assessment/<MEMBER>/<CYCLE>``. Values are identified by the stream
version of the entry that recorded them ("entry"). The rules — corrections
name the current value they supersede, nobody reviews its own value, locks
after completion and publication, reopened KPIs only, assigned reviewers —
are ``verify.rules.workflow``: defined once, checked here before an event is
triggered and replayed by the offline verifier. The aggregate's state *is*
the rules' ``Workflow``; each event applies itself to it through
``verify.rules.transitions``.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import BaseAggregate

from ledger.domain.events import (
    LedgerCreated,
    LedgerEvent,
    Signed,
    event_kwargs,
    registered,
)
from ledger.domain.refusals import refuse
from verify.rules.transitions import apply_workflow
from verify.rules.workflow import Context, Publication, ValueRecord, Workflow
from verify.rules.workflow_rules import opening_refusal, refusal

__all__ = ["Assessment", "Publication", "ValueRecord"]


class Assessment(BaseAggregate[str]):
    TOPIC = "pmm.assessment"

    def __init__(self) -> None:
        self.workflow = Workflow(self.id)

    # -- commands ------------------------------------------------------------

    @classmethod
    def open(cls, signed: Signed, stream: str) -> Assessment:
        refuse(opening_refusal(stream, signed.body))
        event = AssessmentOpened(
            originator_id=stream, originator_version=1, **event_kwargs(signed)
        )
        assessment = event.mutate(None)
        assert isinstance(assessment, Assessment)
        assessment.pending_events.append(event)
        return assessment

    def record(self, signed: Signed, context: Context) -> None:
        """Check the statement against the workflow rules, then record it."""
        refuse(refusal(self.workflow, signed.type, signed.principal, signed.body, context))
        self.trigger_event(EVENTS[signed.type], **event_kwargs(signed))

    # -- the state, read -----------------------------------------------------

    @property
    def member(self) -> str:
        return self.workflow.member

    @property
    def cycle(self) -> str:
        return self.workflow.cycle

    @property
    def reference_year(self) -> int:
        return self.workflow.reference_year

    @property
    def values(self) -> dict[int, ValueRecord]:
        return self.workflow.values

    @property
    def current(self) -> dict[tuple[str, int], int]:
        return self.workflow.current

    @property
    def not_used(self) -> dict[str, str]:
        return self.workflow.not_used

    @property
    def completed(self) -> bool:
        return self.workflow.completed

    @property
    def publications(self) -> list[Publication]:
        return self.workflow.publications

    @property
    def reopened(self) -> set[str]:
        return self.workflow.reopened

    @property
    def reviewers(self) -> set[str]:
        return self.workflow.reviewers


class AssessmentEvent(LedgerEvent):
    """An assessment entry: it applies itself to the aggregate's ``Workflow``."""

    def apply(self, aggregate: Any) -> None:
        apply_workflow(aggregate.workflow, self.change())


class AssessmentOpened(LedgerCreated, AssessmentEvent):
    TOPIC = "assessment.opened"
    AGGREGATE_TOPIC = Assessment.TOPIC


class ValueSubmitted(AssessmentEvent):
    TOPIC = "value.submitted"


class ValueCorrected(AssessmentEvent):
    TOPIC = "value.corrected"


class KpiNotUsed(AssessmentEvent):
    TOPIC = "kpi.not_used"


class DisclosureSet(AssessmentEvent):
    TOPIC = "disclosure.set"


class SubmissionCompleted(AssessmentEvent):
    TOPIC = "submission.completed"


class ValueValidated(AssessmentEvent):
    TOPIC = "value.validated"


class ValueQueried(AssessmentEvent):
    TOPIC = "value.queried"


class ValueReturned(AssessmentEvent):
    TOPIC = "value.returned"


class ScoreRevised(AssessmentEvent):
    TOPIC = "score.revised"


class AssessmentPublished(AssessmentEvent):
    TOPIC = "assessment.published"


class AssessmentReopened(AssessmentEvent):
    TOPIC = "assessment.reopened"


class ReviewerAssigned(AssessmentEvent):
    TOPIC = "reviewer.assigned"


class FindingRecorded(AssessmentEvent):
    TOPIC = "review.finding_recorded"


class IntegrityFlagRaised(AssessmentEvent):
    TOPIC = "integrity.flag_raised"


EVENTS: dict[str, type[AssessmentEvent]] = {
    cls.TOPIC: cls
    for cls in (
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
}
registered(AssessmentOpened, *EVENTS.values())
