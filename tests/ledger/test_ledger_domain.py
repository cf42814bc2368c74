"""PMM domain rules (docs/design.md §1-2) through signed statements: one value per
KPI and year, corrections that never overwrite, not-used declarations, value
kinds and units, the T / T-1 window, review by another Secretariat principal,
completion, publication at a log position, reopening, and KPI versions."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import pytest

from ledger.domain.assessment import Assessment
from ledger.domain.framework import Framework
from ledger.errors import (
    ConflictError,
    DomainRuleError,
    NotFoundError,
    RoleNotPermittedError,
    StaleVersionError,
)
from ledger.keys import KeyPair
from verify.errors import MalformedStatementError
from verify.formats.entry import parse_entry

if TYPE_CHECKING:
    from tests.conftest import World

SOURCE = {
    "name": "ASYCUDA World export 2022-12-31",
    "sha256": hashlib.sha256(b"release-times.csv").hexdigest(),
}


def assessment(world: World, stream: str | None = None) -> Assessment:
    found = world.ledger.aggregate(stream or world.KEN)
    assert isinstance(found, Assessment)
    return found


def framework(world: World) -> Framework:
    found = world.ledger.aggregate("framework")
    assert isinstance(found, Framework)
    return found


def correction(
    world: World,
    supersedes: int,
    amount: str,
    *,
    kpi: str | None = None,
    year: int | None = None,
    kind: str = "correction",
    reason: str = "typing error in the export",
) -> dict[str, Any]:
    return world.value_body(
        kpi or world.KPI_HOURS,
        {"amount": amount},
        "hours",
        year=year or world.REFERENCE_YEAR,
        kind=kind,
        reason=reason,
        supersedes=supersedes,
    )


def correct(world: World, supersedes: int, amount: str, **options: Any) -> int:
    body = correction(world, supersedes, amount, **options)
    return world.record(world.ncp_ken, world.KEN, "value.corrected", body).stream_version


def complete(world: World, stream: str | None = None) -> None:
    key = world.ncp_bra if stream == world.BRA else world.ncp_ken
    world.record(
        key, stream or world.KEN, "submission.completed", {"note": "all KPIs done"}
    )


def publish(world: World, cut_at: int | None = None) -> int:
    body = world.publication(world.KEN, cut_at)
    return world.record(world.sec, world.KEN, "assessment.published", body).stream_version


def reopen(world: World, *kpis: str) -> None:
    body = {"kpis": list(kpis), "reason": "Member found an error after publication"}
    world.record(world.sec2, world.KEN, "assessment.reopened", body)


# -- one value per KPI and year; corrections ----------------------------------


def test_second_submission_is_refused_pointing_at_correction(world: World) -> None:
    first = world.hours(world.ncp_ken, world.KEN, "12.5").stream_version
    body = world.value_body(world.KPI_HOURS, {"amount": "11"}, "hours")
    again = world.sign(world.ncp_ken, world.KEN, "value.submitted", body)
    world.refused(
        again,
        ConflictError,
        f"{world.KPI_HOURS!r}",
        "already has a value for 2022",
        f"value.corrected naming entry {first}",
    )
    # Another reference year of the same KPI is a separate value.
    assert (
        world.hours(world.ncp_ken, world.KEN, "14", year=2021).stream_version == first + 1
    )
    # The Secretariat's import of the same KPI/year is refused the same way.
    by_sec = world.value_body(world.KPI_HOURS, {"amount": "11"}, "hours", source=SOURCE)
    signed = world.sign(world.sec, world.KEN, "value.submitted", by_sec)
    world.refused(signed, ConflictError, "value.corrected")


@pytest.mark.parametrize("kind", ["correction", "revision"])
def test_correction_supersedes_the_current_value(world: World, kind: str) -> None:
    first = world.hours(world.ncp_ken, world.KEN, "12.5").stream_version
    second = correct(world, first, "21.5", kind=kind, reason="hours and minutes swapped")
    state = assessment(world)
    old, new = state.values[first], state.values[second]
    assert old.superseded_by == second and old.value == {"amount": "12.5"}
    assert new.supersedes == first and new.value == {"amount": "21.5"}
    assert new.superseded_by is None
    assert state.current[(world.KPI_HOURS, 2022)] == second
    # The correction's own entry carries what it supersedes, the reason and kind.
    stored = list(world.ledger.recorder.select_events(world.KEN, gt=second - 1, lte=second))
    entry = parse_entry(bytes(stored[0].state))
    assert entry.entry_type == "value.corrected"
    assert entry.signed.body["supersedes"] == first
    assert entry.signed.body["reason"] == "hours and minutes swapped"
    assert entry.signed.body["kind"] == kind
    # A chain of corrections: the newest supersedes the previous correction.
    third = correct(world, second, "20", kind="revision")
    assert assessment(world).current[(world.KPI_HOURS, 2022)] == third


def test_correction_must_name_a_current_value_of_the_same_kpi_and_year(
    world: World,
) -> None:
    hours = world.hours(world.ncp_ken, world.KEN, "12.5").stream_version
    earlier = world.hours(world.ncp_ken, world.KEN, "13", year=2021).stream_version
    percent = world.submit(
        world.ncp_ken, world.KEN, world.KPI_PERCENT, {"amount": "90"}, "percent"
    ).stream_version
    newer = correct(world, hours, "21.5")

    def refused_correction(
        body: dict[str, Any], error: type[Exception], *phrases: str
    ) -> None:
        signed = world.sign_unchecked(world.ncp_ken, world.KEN, "value.corrected", body)
        world.refused(signed, error, *phrases)

    refused_correction(
        correction(world, hours, "22"),
        ConflictError,
        f"entry {hours}",
        f"superseded by entry {newer}",
    )
    refused_correction(
        correction(world, percent, "22"),
        DomainRuleError,
        f"entry {percent} is KPI {world.KPI_PERCENT!r}",
        "same KPI and reference year",
    )
    refused_correction(
        correction(world, earlier, "22"),
        DomainRuleError,
        "for 2021",
        "same KPI and reference year",
    )
    refused_correction(
        correction(world, 1, "22"), NotFoundError, "entry 1", "not a recorded"
    )
    refused_correction(correction(world, 999, "22"), NotFoundError, "entry 999")
    no_reason = correction(world, newer, "22")
    del no_reason["reason"]
    refused_correction(no_reason, MalformedStatementError, "body.reason is required")
    refused_correction(
        correction(world, newer, "22", kind="overwrite"),
        MalformedStatementError,
        "body.kind must be one of correction, revision",
    )


def test_kpi_declared_not_used_with_justification(world: World) -> None:
    justification = "No automated yes/no indicator exists in the national system"
    world.record(
        world.ncp_ken,
        world.KEN,
        "kpi.not_used",
        {"justification": justification, "kpi": world.KPI_YES_NO},
    )
    assert assessment(world).not_used == {world.KPI_YES_NO: justification}
    value = world.value_body(world.KPI_YES_NO, {"answer": True}, "yes_no")
    signed = world.sign(world.ncp_ken, world.KEN, "value.submitted", value)
    world.refused(signed, ConflictError, f"{world.KPI_YES_NO!r}", "declared not used")
    again = world.sign(
        world.ncp_ken,
        world.KEN,
        "kpi.not_used",
        {"justification": "again", "kpi": world.KPI_YES_NO},
    )
    world.refused(again, ConflictError, "already declared not used")
    unjustified = world.sign_unchecked(
        world.ncp_ken, world.KEN, "kpi.not_used", {"kpi": world.KPI_RATIO}
    )
    world.refused(unjustified, MalformedStatementError, "body.justification is required")
    blank = world.sign_unchecked(
        world.ncp_ken,
        world.KEN,
        "kpi.not_used",
        {"justification": "  ", "kpi": world.KPI_RATIO},
    )
    world.refused(blank, MalformedStatementError, "body.justification must be non-empty")
    unknown = world.sign(
        world.ncp_ken, world.KEN, "kpi.not_used", {"justification": "x", "kpi": "XX.9"}
    )
    world.refused(unknown, DomainRuleError, "'XX.9' is not defined")
    entry = world.hours(world.ncp_ken, world.KEN, "1").stream_version
    with_value = world.sign(
        world.ncp_ken,
        world.KEN,
        "kpi.not_used",
        {"justification": "x", "kpi": world.KPI_HOURS},
    )
    world.refused(with_value, ConflictError, f"entries [{entry}]", "cannot be declared")


def test_zero_missing_not_applicable_and_insufficient_information_are_apart(
    world: World,
) -> None:
    zero = world.submit(
        world.ncp_ken, world.KEN, world.KPI_PERCENT, {"amount": "0"}, "percent"
    )
    na = world.submit(
        world.ncp_ken, world.KEN, world.KPI_RATIO, None, "ratio", status="not_applicable"
    )
    insufficient = world.submit(
        world.ncp_ken,
        world.KEN,
        world.KPI_YES_NO,
        None,
        "yes_no",
        status="insufficient_information",
    )
    values = assessment(world).values
    assert values[zero.stream_version].status == "value"
    assert values[zero.stream_version].value == {"amount": "0"}
    assert values[na.stream_version].status == "not_applicable"
    assert values[insufficient.stream_version].value is None
    assert (world.KPI_HOURS, 2022) not in assessment(world).current  # missing
    body = world.value_body(
        world.KPI_HOURS, {"amount": "1"}, "hours", status="not_applicable"
    )
    signed = world.sign(world.ncp_ken, world.KEN, "value.submitted", body)
    world.refused(signed, DomainRuleError, "'not_applicable' carries no value")


# -- value kinds and units ----------------------------------------------------


def test_values_of_every_kind_are_accepted(world: World) -> None:
    recorded = [
        world.hours(world.ncp_ken, world.KEN, "36.25"),
        world.submit(
            world.ncp_ken, world.KEN, world.KPI_PERCENT, {"amount": "87.5"}, "percent"
        ),
        world.submit(
            world.ncp_ken,
            world.KEN,
            world.KPI_RATIO,
            {"denominator": "1200", "numerator": "37"},
            "ratio",
        ),
        world.submit(
            world.ncp_ken, world.KEN, world.KPI_YES_NO, {"answer": False}, "yes_no"
        ),
    ]
    assert [r.stream_version for r in recorded] == [2, 3, 4, 5]
    assert assessment(world).values[4].value == {"denominator": "1200", "numerator": "37"}


@pytest.mark.parametrize(
    ("kpi", "value", "unit", "phrases"),
    [
        ("TF.1.1", {"amount": "12"}, "days", ("'TF.1.1'", "'hours'", "not 'days'")),
        ("TF.1.1", {"amount": "1e3"}, "hours", ("value.amount", "decimal string")),
        ("TF.1.1", {"amount": "12", "currency": "USD"}, "hours", ("exactly: amount",)),
        ("TF.1.2", {"denominator": "2", "numerator": "1"}, "percent", ("exactly: amount",)),
        ("TF.1.2", {"amount": "87.5"}, "hours", ("'percent'", "not 'hours'")),
        ("TF.1.3", {"amount": "0.5"}, "ratio", ("exactly: numerator, denominator",)),
        (
            "TF.1.3",
            {"denominator": "0", "numerator": "1"},
            "ratio",
            ("denominator must not be zero",),
        ),
        ("TF.1.4", {"answer": "yes"}, "yes_no", ("value.answer", "true or false")),
        ("TF.1.4", {"answer": True}, "percent", ("'yes_no'", "not 'percent'")),
    ],
    ids=[
        "hours-in-days",
        "exponent",
        "extra-field",
        "percentage-as-ratio",
        "percentage-in-hours",
        "ratio-as-amount",
        "zero-denominator",
        "yes-as-text",
        "yes-no-in-percent",
    ],
)
def test_value_must_fit_the_kpi_definition(
    world: World, kpi: str, value: dict[str, Any], unit: str, phrases: tuple[str, ...]
) -> None:
    body = world.value_body(kpi, value, unit)
    signed = world.sign(world.ncp_ken, world.KEN, "value.submitted", body)
    world.refused(signed, DomainRuleError, f"KPI {kpi!r} (version 1)", *phrases)


def test_value_of_an_undefined_kpi_is_refused(world: World) -> None:
    body = world.value_body("XX.9", {"amount": "1"}, "hours")
    signed = world.sign(world.ncp_ken, world.KEN, "value.submitted", body)
    world.refused(signed, NotFoundError, "'XX.9' is not defined")


@pytest.mark.parametrize("year", [2020, 2023, 1999])
def test_reference_year_outside_t_and_t_minus_1_is_refused(world: World, year: int) -> None:
    body = world.value_body(world.KPI_HOURS, {"amount": "1"}, "hours", year=year)
    signed = world.sign(world.ncp_ken, world.KEN, "value.submitted", body)
    phrase = (
        "applies only from reference year 2015"
        if year < 2015
        else f"may describe 2022 or 2021, not {year}"
    )
    world.refused(signed, DomainRuleError, phrase)


def test_reference_years_t_and_t_minus_1_are_accepted(world: World) -> None:
    assert world.hours(world.ncp_ken, world.KEN, "10", year=2022).stream_version == 2
    assert world.hours(world.ncp_ken, world.KEN, "11", year=2021).stream_version == 3


# -- review by the Secretariat ------------------------------------------------


def test_validate_query_return_by_another_secretariat_principal(world: World) -> None:
    imported = world.hours(world.sec, world.KEN, "30", source=SOURCE).stream_version
    percent = world.submit(
        world.ncp_ken, world.KEN, world.KPI_PERCENT, {"amount": "80"}, "percent"
    ).stream_version
    ratio = world.submit(
        world.ncp_ken,
        world.KEN,
        world.KPI_RATIO,
        {"denominator": "4", "numerator": "3"},
        "ratio",
    ).stream_version
    world.record(world.sec2, world.KEN, "value.validated", {"entry": imported})
    world.record(
        world.sec2, world.KEN, "value.queried", {"entry": percent, "message": "source?"}
    )
    world.record(
        world.sec, world.KEN, "value.returned", {"entry": ratio, "message": "wrong period"}
    )
    values = assessment(world).values
    assert values[imported].recorded_by == "sec"
    assert [values[e].review for e in (imported, percent, ratio)] == [
        "validated",
        "queried",
        "returned",
    ]
    again = world.sign(world.sec2, world.KEN, "value.validated", {"entry": imported})
    world.refused(again, ConflictError, f"entry {imported} is already validated")
    not_a_value = world.sign(world.sec, world.KEN, "value.validated", {"entry": 1})
    world.refused(not_a_value, NotFoundError, "entry 1")


def test_query_answered_by_correction_after_completion(world: World) -> None:
    hours = world.hours(world.ncp_ken, world.KEN, "12.5").stream_version
    percent = world.submit(
        world.ncp_ken, world.KEN, world.KPI_PERCENT, {"amount": "80"}, "percent"
    ).stream_version
    complete(world)
    assert assessment(world).completed
    # Once complete, values change only in answer to a query or return.
    unasked = world.sign(
        world.ncp_ken, world.KEN, "value.corrected", correction(world, hours, "9")
    )
    world.refused(unasked, ConflictError, "is complete", f"{world.KPI_HOURS!r}")
    late = world.value_body(
        world.KPI_RATIO, {"denominator": "4", "numerator": "3"}, "ratio"
    )
    world.refused(
        world.sign(world.ncp_ken, world.KEN, "value.submitted", late),
        ConflictError,
        "is complete",
    )
    world.record(
        world.sec, world.KEN, "value.queried", {"entry": hours, "message": "hours or days?"}
    )
    answer = correct(world, hours, "300", reason="reported in days by mistake")
    state = assessment(world)
    assert state.values[hours].superseded_by == answer
    assert state.values[answer].review == "submitted"
    # The query is answered: the KPI is locked again, and other KPIs stayed locked.
    for entry, kpi in ((answer, world.KPI_HOURS), (percent, world.KPI_PERCENT)):
        body = correction(world, entry, "1", kpi=kpi)
        if kpi == world.KPI_PERCENT:
            body["unit"] = "percent"
        signed = world.sign(world.ncp_ken, world.KEN, "value.corrected", body)
        world.refused(signed, ConflictError, "is complete", f"{kpi!r}")
    done_again = world.sign(world.ncp_ken, world.KEN, "submission.completed", {})
    world.refused(done_again, ConflictError, "already complete")


# -- publication and reopening ------------------------------------------------


def test_publish_requires_completion_and_records_cut_at(world: World) -> None:
    world.hours(world.ncp_ken, world.KEN, "12.5")
    early = world.sign(
        world.sec,
        world.KEN,
        "assessment.published",
        world.publication(world.KEN, title="too early"),
    )
    world.refused(early, DomainRuleError, "not complete", "submission.completed")
    complete(world)
    beyond = world.ledger.log_size() + 1
    too_far = world.sign(
        world.sec,
        world.KEN,
        "assessment.published",
        {**world.publication(world.KEN), "cut_at": beyond},
    )
    world.refused(too_far, DomainRuleError, f"cut_at {beyond} is beyond the log")
    cut_at = world.ledger.log_size()
    entry = publish(world, cut_at)
    publication = assessment(world).publications[-1]
    assert (publication.entry, publication.cut_at) == (entry, cut_at)
    assert publication.cut_at <= world.ledger.log_size()
    assert publication.title == "PMM cycle 1 report"


def test_changes_after_publication_need_a_reopening_naming_the_kpi(world: World) -> None:
    hours = world.hours(world.ncp_ken, world.KEN, "12.5").stream_version
    percent = world.submit(
        world.ncp_ken, world.KEN, world.KPI_PERCENT, {"amount": "80"}, "percent"
    ).stream_version
    complete(world)
    first_cut = world.ledger.log_size()
    publish(world, first_cut)

    def percent_correction() -> dict[str, Any]:
        body = correction(world, percent, "81", kpi=world.KPI_PERCENT)
        body["unit"] = "percent"
        return body

    for statement_type, body in [
        ("value.corrected", correction(world, hours, "13")),
        ("value.corrected", percent_correction()),
        (
            "value.submitted",
            world.value_body(
                world.KPI_RATIO, {"denominator": "2", "numerator": "1"}, "ratio"
            ),
        ),
        ("kpi.not_used", {"justification": "x", "kpi": world.KPI_YES_NO}),
    ]:
        signed = world.sign(world.ncp_ken, world.KEN, statement_type, body)
        world.refused(signed, ConflictError, "is published", "assessment.reopened")
    # Only the Secretariat reopens, and only KPIs that exist.
    by_ncp = world.sign(
        world.ncp_ken,
        world.KEN,
        "assessment.reopened",
        {"kpis": [world.KPI_HOURS], "reason": "x"},
    )
    world.refused(by_ncp, RoleNotPermittedError, "'ncp-ken'", "assessment.reopened")
    unknown = world.sign(
        world.sec, world.KEN, "assessment.reopened", {"kpis": ["XX.9"], "reason": "x"}
    )
    world.refused(unknown, DomainRuleError, "'XX.9' is not defined")
    reopen(world, world.KPI_HOURS)
    assert assessment(world).reopened == {world.KPI_HOURS}
    fixed = correct(world, hours, "13", kind="correction")
    assert assessment(world).current[(world.KPI_HOURS, 2022)] == fixed
    still_locked = world.sign(
        world.ncp_ken, world.KEN, "value.corrected", percent_correction()
    )
    world.refused(
        still_locked, ConflictError, f"KPI {world.KPI_PERCENT!r} must be reopened"
    )
    # A new publication needs completion again and a cut not before the last one.
    not_done = world.sign(
        world.sec,
        world.KEN,
        "assessment.published",
        world.publication(world.KEN, title="corrigendum"),
    )
    world.refused(not_done, DomainRuleError, "not complete")
    complete(world)
    backwards = world.sign(
        world.sec,
        world.KEN,
        "assessment.published",
        world.publication(world.KEN, first_cut - 1, "corrigendum"),
    )
    world.refused(
        backwards, DomainRuleError, f"before the previous publication's {first_cut}"
    )
    publish(world)
    publications = assessment(world).publications
    assert [p.cut_at for p in publications] == [first_cut, publications[1].cut_at]
    assert publications[1].cut_at > first_cut
    assert assessment(world).reopened == set()


def test_reopening_an_unpublished_assessment_is_refused(world: World) -> None:
    signed = world.sign(
        world.sec,
        world.KEN,
        "assessment.reopened",
        {"kpis": [world.KPI_HOURS], "reason": "x"},
    )
    world.refused(
        signed, DomainRuleError, "assessment/KEN/1 is not published; nothing to reopen"
    )


def test_publication_of_one_member_does_not_lock_another(world: World) -> None:
    world.hours(world.ncp_ken, world.KEN, "12.5")
    complete(world)
    publish(world)
    assert world.hours(world.ncp_bra, world.BRA, "48").stream_version == 2


# -- KPI versions -------------------------------------------------------------


def test_kpi_revision_applies_from_a_later_reference_year(world: World) -> None:
    revised = world.kpi_body(
        world.KPI_HOURS, "days", "number", applies_from=2023, reason="PMM v2 counts days"
    )
    world.record(world.sec, "framework", "kpi.revised", revised)
    kpis = framework(world).kpis[world.KPI_HOURS]
    assert [(v.version, v.unit, v.applies_from) for v in kpis] == [
        (1, "hours", 2015),
        (2, "days", 2023),
    ]
    pick = framework(world).kpi_for
    assert (pick(world.KPI_HOURS, 2022).version, pick(world.KPI_HOURS, 2022).unit) == (
        1,
        "hours",
    )
    assert pick(world.KPI_HOURS, 2015).version == 1
    assert (pick(world.KPI_HOURS, 2023).version, pick(world.KPI_HOURS, 2023).unit) == (
        2,
        "days",
    )
    assert pick(world.KPI_HOURS, 2030).version == 2
    with pytest.raises(DomainRuleError, match="applies only from reference year 2015"):
        pick(world.KPI_HOURS, 2014)
    with pytest.raises(NotFoundError, match=r"'XX\.9'"):
        pick("XX.9", 2022)

    # Cycle 1 (reference year 2022) still takes hours under version 1.
    assert world.hours(world.ncp_ken, world.KEN, "12.5").stream_version == 2
    # Cycle 2 (reference year 2023): days for 2023, hours for T-1 = 2022.
    cycle2 = "assessment/KEN/2"
    world.record(
        world.sec,
        cycle2,
        "assessment.opened",
        {"cycle": "2", "member": "KEN", "reference_year": 2023},
    )
    world.submit(
        world.ncp_ken, cycle2, world.KPI_HOURS, {"amount": "0.5"}, "days", year=2023
    )
    world.hours(world.ncp_ken, cycle2, "12", year=2022)
    for year, unit, version, expected in [
        (2023, "hours", 2, "days"),
        (2022, "days", 1, "hours"),
    ]:
        body = world.value_body(world.KPI_HOURS, {"amount": "1"}, unit, year=year)
        body["kind"], body["reason"], body["supersedes"] = "correction", "x", 2
        signed = world.sign(world.ncp_ken, cycle2, "value.corrected", body)
        world.refused(
            signed,
            DomainRuleError,
            f"(version {version}) is measured in {expected!r}",
            streams=(cycle2,),
        )


def test_kpi_revision_rules(world: World) -> None:
    later = world.kpi_body(
        world.KPI_HOURS, "hours", "number", applies_from=2024, reason="r"
    )
    world.record(world.sec, "framework", "kpi.revised", later)
    earlier = world.kpi_body(
        world.KPI_HOURS, "hours", "number", applies_from=2020, reason="r"
    )
    signed = world.sign(world.sec, "framework", "kpi.revised", earlier)
    world.refused(signed, DomainRuleError, "from reference year 2024 or later, not 2020")
    unknown = world.kpi_body("XX.9", "hours", "number", reason="r")
    world.refused(
        world.sign(world.sec, "framework", "kpi.revised", unknown),
        NotFoundError,
        "'XX.9' is not defined; use kpi.defined",
    )
    redefined = world.kpi_body(world.KPI_HOURS, "hours", "number")
    world.refused(
        world.sign(world.sec, "framework", "kpi.defined", redefined),
        ConflictError,
        "already defined; use kpi.revised",
    )
    no_reason = world.kpi_body(world.KPI_HOURS, "days", "number", applies_from=2025)
    world.refused(
        world.sign_unchecked(world.sec, "framework", "kpi.revised", no_reason),
        MalformedStatementError,
        "body.reason is required",
    )
    bad_unit = world.kpi_body(world.KPI_PERCENT, "hours", "percentage", applies_from=2025)
    bad_unit["reason"] = "r"
    world.refused(
        world.sign(world.sec, "framework", "kpi.revised", bad_unit),
        DomainRuleError,
        "a percentage value is measured in percent, not 'hours'",
    )


# -- disclosure, review findings, integrity flags -------------------------------


def test_disclosure_is_set_by_the_ncp_on_a_current_value(world: World) -> None:
    entry = world.hours(
        world.ncp_ken, world.KEN, "12.5", disclosure="public"
    ).stream_version
    world.record(
        world.ncp_ken,
        world.KEN,
        "disclosure.set",
        {"disclosure": "restricted", "entry": entry},
    )
    assert assessment(world).values[entry].disclosure == "restricted"
    newer = correct(world, entry, "13")
    stale = world.sign(
        world.ncp_ken, world.KEN, "disclosure.set", {"disclosure": "wco", "entry": entry}
    )
    world.refused(stale, ConflictError, f"superseded by entry {newer}")
    by_sec = world.sign(
        world.sec, world.KEN, "disclosure.set", {"disclosure": "wco", "entry": newer}
    )
    world.refused(by_sec, RoleNotPermittedError, "'sec'", "disclosure.set")
    secret = world.sign_unchecked(
        world.ncp_ken, world.KEN, "disclosure.set", {"disclosure": "secret", "entry": newer}
    )
    world.refused(secret, MalformedStatementError, "body.disclosure must be one of")


def test_peer_review_findings_need_an_assignment(world: World) -> None:
    finding = {"finding": "Release times are measured from lodgement", "kpi": "TF.1.1"}
    early = world.sign(world.reviewer, world.KEN, "review.finding_recorded", finding)
    world.refused(early, DomainRuleError, "'reviewer' is not assigned to assessment/KEN/1")
    wrong_role = world.sign(
        world.sec, world.KEN, "reviewer.assigned", {"principal": "sec2"}
    )
    world.refused(wrong_role, DomainRuleError, "'sec2' has role 'secretariat'")
    nobody = world.sign(world.sec, world.KEN, "reviewer.assigned", {"principal": "nobody"})
    world.refused(nobody, NotFoundError, "'nobody'")
    world.record(world.sec, world.KEN, "reviewer.assigned", {"principal": "reviewer"})
    twice = world.sign(world.sec, world.KEN, "reviewer.assigned", {"principal": "reviewer"})
    world.refused(twice, ConflictError, "already assigned")
    world.record(world.reviewer, world.KEN, "review.finding_recorded", finding)
    elsewhere = world.sign(world.reviewer, world.BRA, "review.finding_recorded", finding)
    world.refused(elsewhere, DomainRuleError, "not assigned to assessment/BRA/1")


def test_integrity_officer_flags_but_never_changes_data(world: World) -> None:
    entry = world.hours(world.ncp_ken, world.KEN, "12.5").stream_version
    before = assessment(world)
    world.record(
        world.officer,
        world.KEN,
        "integrity.flag_raised",
        {"entry": entry, "message": "Value equals last cycle's", "subject": "duplicate"},
    )
    after = assessment(world)
    assert (after.values, after.current) == (before.values, before.current)
    beyond = world.sign(
        world.officer,
        world.KEN,
        "integrity.flag_raised",
        {"entry": 99, "message": "x", "subject": "x"},
    )
    world.refused(beyond, NotFoundError, "has no entry 99")
    for statement_type, body in [
        ("value.corrected", correction(world, entry, "1")),
        ("disclosure.set", {"disclosure": "public", "entry": entry}),
        ("value.validated", {"entry": entry}),
    ]:
        signed = world.sign(world.officer, world.KEN, statement_type, body)
        world.refused(signed, RoleNotPermittedError, "'integrity_officer'", statement_type)


# -- registry and streams -------------------------------------------------------


def test_registry_rules(world: World) -> None:
    def register(principal: str, role: str, member: str | None, public_key: str) -> Any:
        body = {
            "member": member,
            "name": "Someone",
            "principal": principal,
            "public_key": public_key,
            "role": role,
        }
        return world.sign(world.admin, "registry", "principal.registered", body)

    fresh = KeyPair.generate("x").public_key
    world.refused(register("sec", "secretariat", None, fresh), ConflictError, "'sec'")
    world.refused(
        register("ncp-arg", "ncp", None, fresh),
        DomainRuleError,
        "role 'ncp' with member None",
    )
    world.refused(
        register("sec9", "secretariat", "ARG", fresh),
        DomainRuleError,
        "role 'secretariat' with member 'ARG'",
    )
    world.refused(
        register("sec9", "secretariat", None, world.ncp_ken.public_key),
        ConflictError,
        "already belongs to principal 'ncp-ken'",
    )
    # Three genesis admins, two of whom must agree: one may go, not two.
    world.record(
        world.admin,
        "registry",
        "principal.revoked",
        {"principal": "admin-3", "reason": "x"},
    )
    below = world.sign(
        world.admin, "registry", "principal.revoked", {"principal": "admin", "reason": "x"}
    )
    world.refused(below, DomainRuleError, "would leave 1 active admin(s)", "threshold of 2")
    world.record(
        world.admin, "registry", "principal.revoked", {"principal": "sec2", "reason": "x"}
    )
    again = world.sign(
        world.admin, "registry", "principal.revoked", {"principal": "sec2", "reason": "x"}
    )
    world.refused(again, ConflictError, "'sec2' is already revoked")
    rotate_revoked = world.sign(
        world.admin,
        "registry",
        "principal.key_rotated",
        {"principal": "sec2", "public_key": fresh, "reason": "x"},
    )
    world.refused(rotate_revoked, ConflictError, "'sec2' is already revoked")


def test_assessment_stream_must_match_member_and_cycle(world: World) -> None:
    signed = world.sign(
        world.sec,
        "assessment/BRA/2",
        "assessment.opened",
        {"cycle": "2", "member": "KEN", "reference_year": 2024},
        expected_version=0,
    )
    world.refused(
        signed,
        DomainRuleError,
        "belongs in stream assessment/KEN/2",
        streams=("assessment/BRA/2",),
    )
    reopened = world.sign(
        world.sec,
        world.KEN,
        "assessment.opened",
        {"cycle": "1", "member": "KEN", "reference_year": 2022},
        expected_version=0,
    )
    world.refused(reopened, StaleVersionError, "is at version 1, the statement expects 0")
    missing = world.sign(
        world.ncp_ken,
        "assessment/KEN/9",
        "value.submitted",
        world.value_body(world.KPI_HOURS, {"amount": "1"}, "hours"),
        expected_version=1,
    )
    world.refused(missing, NotFoundError, "'assessment/KEN/9' does not exist")


def test_every_statement_type_is_recorded_through_record(world: World) -> None:
    """One way in for every statement type (docs/decisions.md decision 40): no
    method per use case; bytes and parsed statements alike."""
    for gone in ("genesis", "submit_value", "correct_value", "validate_value", "publish"):
        assert not hasattr(world.ledger, gone), gone
    signed = world.sign(
        world.ncp_ken,
        world.KEN,
        "value.submitted",
        world.value_body(world.KPI_HOURS, {"amount": "1"}, "hours"),
    )
    recorded = world.ledger.record(signed.to_bytes())
    assert (recorded.entry_type, recorded.stream_version) == ("value.submitted", 2)
    validated = world.ledger.record(
        world.sign(world.sec, world.KEN, "value.validated", {"entry": 2})
    )
    assert (validated.entry_type, validated.principal) == ("value.validated", "sec")
