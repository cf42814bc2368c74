"""The red-flag rules about who changed what, and after what (docs/flags.md).

Each rule reads the ``Facts`` of the log up to a record time and the
thresholds in force, and returns what it ``Raised``: the entries that raised
it (log indexes), the principals, the Member, KPI and reference years, a
one-line summary and a severity. ``projections.flags`` names and handles them;
``projections.flag_timing`` holds the rules about when corrections come, and
``projections.flag_outliers`` the statistical rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from projections.flag_facts import SECRETARIAT, VALUE_TYPES, Act, Facts
from projections.flag_thresholds import Thresholds


@dataclass(frozen=True)
class Raised:
    """What one rule found, before it is named and handled."""

    rule: str
    severity: str  # low | medium | high
    entries: tuple[int, ...]
    principals: tuple[str, ...]
    member: str | None
    kpi: str | None
    reference_years: tuple[int, ...]
    summary: str


Rule = Callable[[Facts, Thresholds], Iterable[Raised]]


def raised(
    rule: str, severity: str, acts: Iterable[Act], summary: str, principals: Iterable[str]
) -> Raised:
    """A finding over ``acts``: their Member, KPI and years, principals in order."""
    found = sorted({act.index: act for act in acts}.values(), key=lambda a: a.index)
    members = {a.member for a in found if a.member}
    kpis = {a.kpi for a in found if a.kpi}
    return Raised(
        rule,
        severity,
        tuple(a.index for a in found),
        tuple(dict.fromkeys(principals)),
        members.pop() if len(members) == 1 else None,
        kpis.pop() if len(kpis) == 1 else None,
        tuple(sorted({a.year for a in found if a.year is not None})),
        summary,
    )


def _what(act: Act) -> str:
    return f"{act.member} {act.kpi} {act.year}"


def _senior(facts: Facts, principal: str) -> bool:
    return facts.role(principal) == SECRETARIAT


def changed_after_validation(facts: Facts, t: Thresholds) -> Iterable[Raised]:
    """A correction of a value that had been validated before it."""
    high = t.get("changed_after_validation", "secretariat_high") > 0
    validated: dict[tuple[str, int], Act] = {}  # value -> its latest validation
    for act in facts.of("value.validated", "value.corrected"):
        if act.kind == "value.validated":
            validated[(act.stream, act.body["entry"])] = act
            continue
        earlier = [
            (old, validated[(old.stream, old.version)])
            for old in facts.chain(act)
            if (old.stream, old.version) in validated
        ]
        if not earlier:
            continue
        old, check = earlier[0]
        senior = _senior(facts, act.principal)
        yield raised(
            "changed_after_validation",
            "high" if senior and high else "medium",
            (old, check, act),
            f"{_what(act)}: value of entry {old.index} validated by {check.principal} "
            f"(entry {check.index}), then changed by {act.principal} "
            f"({facts.role(act.principal)}) in entry {act.index}",
            (act.principal, check.principal, old.principal),
        )


def changed_after_publication(facts: Facts, t: Thresholds) -> Iterable[Raised]:
    """A value recorded in an assessment after it was published."""
    high = t.get("changed_after_publication", "secretariat_high") > 0
    published: dict[str, Act] = {}
    for act in facts.of("assessment.published", *VALUE_TYPES):
        if act.kind == "assessment.published":
            published[act.stream] = act
            continue
        publication = published.get(act.stream)
        if publication is None:
            continue
        senior = _senior(facts, act.principal)
        yield raised(
            "changed_after_publication",
            "high" if senior and high else "low",
            (publication, act),
            f"{_what(act)}: {act.kind} by {act.principal} ({facts.role(act.principal)}) "
            f"in entry {act.index}, after the publication of entry {publication.index}",
            (act.principal,),
        )


def same_party(facts: Facts, t: Thresholds) -> Iterable[Raised]:
    """A value validated by its own submitter, or by its submitter's organisation."""
    organisation = t.get("same_party", "same_organisation") > 0
    for check in facts.of("value.validated"):
        value = facts.value(check.stream, check.body["entry"])
        if value is None:
            continue
        same = value.principal == check.principal
        shared = facts.organisation(value.principal) == facts.organisation(check.principal)
        if not same and not (organisation and shared):
            continue
        whose = (
            "its own submitter"
            if same
            else f"{check.principal}, of the same organisation "
            f"({facts.organisation(check.principal)}) as its submitter {value.principal}"
        )
        yield raised(
            "same_party",
            "high" if same else "medium",
            (value, check),
            f"{_what(value)}: entry {value.index} validated by {whose} "
            f"(entry {check.index})",
            (value.principal, check.principal),
        )


def late_change(facts: Facts, t: Thresholds) -> Iterable[Raised]:
    """A value changed after the assessment's review began and shortly before it
    was published: the data changed after internal review, just before release."""
    window = timedelta(days=float(t.get("late_change", "window_days")))
    review: dict[str, Act] = {}  # stream -> the first validation since its publication
    pending: dict[str, list[Act]] = defaultdict(list)
    for act in facts.of("value.validated", "assessment.published", *VALUE_TYPES):
        if act.kind == "value.validated":
            review.setdefault(act.stream, act)
        elif act.kind in VALUE_TYPES:
            if act.stream in review:
                pending[act.stream].append(act)
        else:
            for change in pending.pop(act.stream, []):
                if act.at - change.at > window:
                    continue
                senior = _senior(facts, change.principal)
                first = review[act.stream]
                yield raised(
                    "late_change",
                    "high" if senior else "medium",
                    (first, change, act),
                    f"{_what(change)}: changed by {change.principal} "
                    f"({facts.role(change.principal)}) in entry {change.index}, after "
                    f"review began (entry {first.index}) and "
                    f"{delay(act.at - change.at)} before publication (entry {act.index})",
                    (change.principal,),
                )
            review.pop(act.stream, None)


def delay(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds < 1:
        return "under a second"
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


def score_revision(facts: Facts, t: Thresholds) -> Iterable[Raised]:
    """A score revision without new evidence (a finding, a query or a return)
    since the KPI's last value or revision, or with a justification shorter
    than a sentence."""
    chars = int(t.get("score_revision", "min_justification_chars"))
    words = int(t.get("score_revision", "min_justification_words"))
    last: dict[tuple[str, str | None], Act] = {}  # the last value or revision
    evidence: dict[tuple[str, str | None], list[Act]] = defaultdict(list)
    kinds = ("score.revised", "review.finding_recorded", "value.queried", "value.returned")
    for act in facts.of(*kinds, *VALUE_TYPES):
        if act.kind in VALUE_TYPES:
            last[(act.stream, act.kpi)] = act
            evidence[(act.stream, act.kpi)] = []
        elif act.kind != "score.revised":
            target = facts.value(act.stream, act.body.get("entry", -1))
            kpi = target.kpi if target is not None else act.kpi
            evidence[(act.stream, kpi)].append(act)
        else:
            key = (act.stream, act.kpi)
            text = str(act.body.get("justification", "")).strip()
            problems = []
            if not evidence[key]:
                since = f"entry {last[key].index}" if key in last else "the start"
                problems.append(f"no finding, query or return since {since}")
            if len(text) < chars or len(text.split()) < words:
                problems.append(
                    f"a justification of {len(text)} characters and "
                    f"{len(text.split())} word(s), under {chars} or {words}"
                )
            last[key], evidence[key] = act, []
            if problems:
                yield raised(
                    "score_revision",
                    "medium",
                    (act,),
                    f"{act.member} {act.kpi} {act.year}: score revised to "
                    f"{act.body.get('score')} by {act.principal} (entry {act.index}) with "
                    + "; ".join(problems),
                    (act.principal,),
                )


def key_recovered(facts: Facts, t: Thresholds) -> Iterable[Raised]:
    """Admins giving a principal a key it did not sign for, and any rotation that
    the principal itself did not sign (the ledger refuses those: a bypass)."""
    high = t.get("key_recovered", "severity_high") > 0
    for act in facts.of("principal.key_recovered", "principal.key_rotated"):
        who = str(act.body["principal"])
        approvers = [a.get("principal", "?") for a in act.body.get("approvals", [])]
        if act.kind == "principal.key_recovered":
            yield raised(
                "key_recovered",
                "high" if high else "medium",
                (act,),
                f"{who}: new key set by admins {', '.join([act.principal, *approvers])} "
                f"(entry {act.index}), without {who}'s own key; what it signs next is "
                f"not provably {who}'s",
                (who, act.principal, *approvers),
            )
        elif act.principal != who:
            yield raised(
                "key_recovered",
                "high",
                (act,),
                f"{who}: key rotated in entry {act.index} signed by {act.principal}, "
                f"not by {who} itself",
                (who, act.principal),
            )


RULES: tuple[Rule, ...] = (
    changed_after_validation,
    changed_after_publication,
    same_party,
    late_change,
    score_revision,
    key_recovered,
)
