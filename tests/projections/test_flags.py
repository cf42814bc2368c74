"""The red flags over a real ledger, on SQLite and PostgreSQL (docs/flags.md).

Each rule gets a planted positive and a near miss that must not raise it;
then the thresholds recorded in the ledger, flag handling, ids and who may
read them.
"""

from __future__ import annotations

import hashlib
import statistics
from typing import TYPE_CHECKING, Any

import pytest

from api.flag_defaults import packaged
from ledger.errors import ConflictError
from ledger.keys import KeyPair
from projections.access import Reader
from projections.errors import ReadNotPermittedError, SignInRequiredError
from projections.flags import (
    Flag,
    FlagFilter,
    compute_flags,
    read_flags,
    report_rows,
)
from verify.formats.fields import FLAG_ID_RE as FLAG_ID

if TYPE_CHECKING:
    from ledger.application import Recorded
    from tests.conftest import World

SOURCE = {"name": "ASYCUDA export", "sha256": hashlib.sha256(b"export").hexdigest()}
OFFICER = Reader("integrity", "integrity_officer", None, "test")


def flags(world: World, rule: str | None = None, size: int | None = None) -> list[Flag]:
    found, _ = compute_flags(world.ledger, packaged(), size)
    return [f for f in found if rule is None or f.rule == rule]


def correct(
    world: World, key: KeyPair, old: Recorded, amount: str, **extra: Any
) -> Recorded:
    body = world.value_body(
        world.KPI_HOURS, {"amount": amount}, "hours", supersedes=old.stream_version,
        kind="correction", reason="Corrected from the register.", **extra,
    )  # fmt: skip
    return world.record(key, old.stream, "value.corrected", body)


def validate(world: World, value: Recorded, key: KeyPair | None = None) -> Recorded:
    return world.record(
        key or world.sec, value.stream, "value.validated", {"entry": value.stream_version}
    )


def publish(world: World, stream: str) -> Recorded:
    world.record(world.ncp_ken if "KEN" in stream else world.ncp_bra, stream,
                 "submission.completed", {})  # fmt: skip
    return world.record(
        world.sec, stream, "assessment.published", world.publication(stream)
    )


def test_a_value_changed_after_validation(world: World) -> None:
    before = world.hours(world.ncp_ken, world.KEN, "12")
    early = correct(world, world.ncp_ken, before, "13")  # near miss: not validated yet
    assert flags(world, "changed_after_validation") == []
    validated = validate(world, early)
    late = correct(world, world.ncp_ken, early, "14")
    [flag] = flags(world, "changed_after_validation")
    assert flag.entries == (early.log_index, validated.log_index, late.log_index)
    assert flag.severity == "medium" and flag.principals[0] == "ncp-ken"
    assert (flag.member, flag.kpi, flag.reference_years) == ("KEN", "TF.1.1", (2022,))
    # By a Secretariat principal (from a named source): high.
    validate(world, late)
    by_sec = correct(world, world.sec2, late, "15", source=SOURCE)
    [high] = [f for f in flags(world, "changed_after_validation") if f.severity == "high"]
    assert high.entries[-1] == by_sec.log_index and high.principals[0] == "sec2"


def test_a_value_changed_after_publication(world: World) -> None:
    value = world.hours(world.ncp_ken, world.KEN, "12")
    world.submit(world.ncp_ken, world.KEN, world.KPI_PERCENT, {"amount": "5"}, "percent")
    published = publish(world, world.KEN)
    assert flags(world, "changed_after_publication") == []  # near miss: before it
    reopen = {"kpis": [world.KPI_HOURS], "reason": "Planned revision."}
    world.record(world.sec, world.KEN, "assessment.reopened", reopen)
    revised = correct(world, world.ncp_ken, value, "11")
    [flag] = flags(world, "changed_after_publication")
    assert flag.entries == (published.log_index, revised.log_index)
    assert flag.severity == "low"  # the NCP, after a reopening


def test_a_value_validated_by_its_own_organisation(world: World) -> None:
    ncp = world.hours(world.ncp_ken, world.KEN, "12")
    validate(world, ncp)  # near miss: the Secretariat validates the NCP's value
    assert flags(world, "same_party") == []
    sec = world.hours(world.sec, world.BRA, "30", source=SOURCE)
    check = validate(world, sec, world.sec2)
    [flag] = flags(world, "same_party")
    assert flag.entries == (sec.log_index, check.log_index)
    assert flag.severity == "medium" and flag.principals == ("sec", "sec2")
    assert "the WCO Secretariat" in flag.summary


def test_a_change_after_review_began_just_before_publication(world: World) -> None:
    hours = world.hours(world.ncp_ken, world.KEN, "12")
    percent = world.submit(
        world.ncp_bra, world.BRA, world.KPI_PERCENT, {"amount": "5"}, "percent"
    )
    changed = correct(world, world.ncp_ken, hours, "13")  # near miss: before review
    review = validate(world, changed)
    publish(world, world.KEN)
    assert flags(world, "late_change") == []
    # BRA: review begins, then the Secretariat changes a value, then publication.
    other = world.submit(
        world.ncp_bra, world.BRA, world.KPI_HOURS, {"amount": "40"}, "hours"
    )
    review = validate(world, percent)
    late = correct(world, world.sec, other, "20", source=SOURCE)
    published = publish(world, world.BRA)
    [flag] = flags(world, "late_change")
    assert flag.entries == (review.log_index, late.log_index, published.log_index)
    assert flag.severity == "high" and flag.member == "BRA"


def test_a_score_revision_without_evidence_or_with_a_short_justification(
    world: World,
) -> None:
    world.hours(world.ncp_ken, world.KEN, "12")
    world.record(world.sec, world.KEN, "reviewer.assigned", {"principal": "reviewer"})
    finding = {"finding": "Sampled from one border post.", "kpi": world.KPI_HOURS}
    world.record(world.reviewer, world.KEN, "review.finding_recorded", finding)
    long = "Peer review found the release-time sample unrepresentative; score capped."
    revision = {"kpi": world.KPI_HOURS, "reference_year": 2022, "score": "55"}
    world.record(world.sec, world.KEN, "score.revised", {**revision, "justification": long})
    assert flags(world, "score_revision") == []  # near miss: a finding, a sentence
    short = world.record(
        world.sec, world.KEN, "score.revised", {**revision, "justification": "Capped."}
    )
    [flag] = flags(world, "score_revision")
    assert flag.entries == (short.log_index,)
    # The finding was the first revision's evidence; the second has none of its own.
    assert "no finding, query or return since entry" in flag.summary
    assert "7 characters and 1 word(s)" in flag.summary


def test_a_key_recovery(world: World) -> None:
    fresh = KeyPair.generate("ncp-ken")
    rotation = {"principal": "ncp-ken", "public_key": fresh.public_key, "reason": "new"}
    world.record(world.ncp_ken, "registry", "principal.key_rotated", rotation)
    assert flags(world, "key_recovered") == []  # near miss: its own key signed it
    other = KeyPair.generate("ncp-ken")
    body = {"principal": "ncp-ken", "public_key": other.public_key, "reason": "Lost."}
    recovered = world.record(world.admin, "registry", "principal.key_recovered", body)
    [flag] = flags(world, "key_recovered")
    assert flag.entries == (recovered.log_index,) and flag.severity == "medium"
    assert flag.principals == ("ncp-ken", "admin", "admin-2") and flag.member is None


def test_a_jump_from_the_members_own_previous_year(world: World) -> None:
    old = world.hours(world.ncp_ken, world.KEN, "10", year=2021)
    new = world.hours(world.ncp_ken, world.KEN, "100")
    world.hours(world.ncp_bra, world.BRA, "10", year=2021)
    world.hours(world.ncp_bra, world.BRA, "99.9")  # near miss: x9.99
    [flag] = flags(world, "jump_history")
    assert flag.entries == (old.log_index, new.log_index) and flag.member == "KEN"
    assert flag.reference_years == (2021, 2022)


MEMBERS = ("ARG", "CHL", "DEU", "FRA", "IND", "JPN", "MEX")


def peers(world: World, amounts: dict[str, str]) -> dict[str, Recorded]:
    """Open an assessment for each Member and record its hours from a source."""
    found = {}
    for member, amount in amounts.items():
        stream = f"assessment/{member}/1"
        if member not in ("KEN", "BRA"):
            opened = {"cycle": "1", "member": member, "reference_year": 2022}
            world.record(world.sec, stream, "assessment.opened", opened)
        found[member] = world.hours(world.sec, stream, amount, source=SOURCE)
    return found


def naive_z(value: float, values: list[float]) -> float:
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return 0.6745 * (value - median) / mad


def test_a_value_far_from_its_peers(world: World) -> None:
    ordinary = ["10", "11", "12", "13", "14", "15"]
    amounts = dict(zip(("KEN", "BRA", *MEMBERS[:4]), ordinary, strict=True))
    amounts["JPN"] = "40"
    recorded = peers(world, amounts)
    numbers = [float(a) for a in amounts.values()]
    assert abs(naive_z(40, numbers)) > 3.5
    assert flags(world, "peer_outlier") == []  # near miss: 8 Members needed, 7 here
    recorded |= peers(world, {"MEX": "17"})  # the eighth Member
    numbers.append(17.0)
    [flag] = flags(world, "peer_outlier")
    assert flag.entries == (recorded["JPN"].log_index,) and flag.member == "JPN"
    assert f"{naive_z(40, numbers):+.2f}" in flag.summary
    assert abs(naive_z(17, numbers)) <= 3.5  # the highest ordinary value is not flagged


def test_a_burst_of_corrections(world: World) -> None:
    value = world.hours(world.ncp_ken, world.KEN, "10")
    for n in range(4):
        value = correct(world, world.ncp_ken, value, str(11 + n))
    assert flags(world, "burst") == []  # near miss: four
    fifth = correct(world, world.ncp_ken, value, "20")
    [flag] = flags(world, "burst")
    assert len(flag.entries) == 5 and flag.entries[-1] == fifth.log_index


def test_corrections_just_before_a_deadline(world: World) -> None:
    world.hours(world.ncp_bra, world.BRA, "10")
    publish(world, world.BRA)
    assert flags(world, "deadline") == []  # near miss: nothing corrected
    value = world.hours(world.ncp_ken, world.KEN, "10")
    fixed = correct(world, world.ncp_ken, value, "12")
    published = publish(world, world.KEN)
    [flag] = flags(world, "deadline")
    assert flag.entries == (fixed.log_index, published.log_index)


def thresholds_body(version: int, factor: str) -> dict[str, Any]:
    body = packaged().as_body()
    body["jump_history"]["factor"] = factor
    return {"version": version, "thresholds": body, "reason": "Tuned on cycle 1."}


def test_the_thresholds_in_force_at_each_record_time(world: World) -> None:
    world.hours(world.ncp_ken, world.KEN, "10", year=2021)
    world.hours(world.ncp_ken, world.KEN, "100")
    before = world.ledger.log_size()
    _, used = compute_flags(world.ledger, packaged())
    assert used.label == "thresholds: packaged v1, not recorded in the ledger"
    recorded = world.record(
        world.officer, "integrity", "integrity.thresholds_set", thresholds_body(1, "11")
    )
    found, used = compute_flags(world.ledger, packaged())
    assert used.label == f"thresholds: v1, recorded at log index {recorded.log_index}"
    assert not [f for f in found if f.rule == "jump_history"]  # x10 < x11 now
    assert {f.thresholds_version for f in found} <= {1}
    assert len(flags(world, "jump_history", size=before)) == 1  # then: packaged
    with pytest.raises(ConflictError):
        world.record(
            world.officer, "integrity", "integrity.thresholds_set", thresholds_body(1, "9")
        )


def test_handling_a_flag(world: World) -> None:
    world.hours(world.ncp_ken, world.KEN, "10", year=2021)
    world.hours(world.ncp_ken, world.KEN, "100")
    [flag] = flags(world, "jump_history")
    assert flag.handling.status == "open"
    body = {"flag": flag.id, "action": "acknowledged", "reason": "Unit checked.",
            "member": "KEN"}  # fmt: skip
    handled = world.record(world.officer, "integrity", "integrity.flag_handled", body)
    [flag] = flags(world, "jump_history")
    assert (flag.handling.status, flag.handling.by) == ("acknowledged", "integrity")
    assert flag.handling.entry == handled.log_index and flag.disclosure == "restricted"
    with pytest.raises(ConflictError, match="already acknowledged"):
        world.record(world.officer, "integrity", "integrity.flag_handled", body)
    world.record(
        world.officer, "integrity", "integrity.flag_handled",
        {**body, "action": "escalated", "reason": "The evidence is missing."},
    )  # fmt: skip
    report = read_flags(world.ledger, OFFICER, packaged(), FlagFilter(status="escalated"))
    assert [f.id for f in report.flags] == [flag.id]
    assert report.restricted_shown == {"KEN": [f"flag {flag.id}"]}
    [row] = report_rows(report)  # what an audit report's table shows
    assert row["handling"] == (
        f"escalated by integrity (entry {world.ledger.log_size() - 1}): "
        "The evidence is missing."
    )
    assert row["entries"] == list(flag.entries) and row["rule"] == "jump_history"


def test_ids_are_stable_and_well_formed(world: World) -> None:
    value = world.hours(world.ncp_ken, world.KEN, "12")
    validate(world, value)
    correct(world, world.sec, value, "1.2", source=SOURCE)
    first = flags(world)
    assert first and [f.id for f in first] == [f.id for f in flags(world)]
    for flag in first:
        assert FLAG_ID.fullmatch(flag.id) and flag.id.startswith(f"{flag.rule}:")
        assert flag.id.split(":")[1] == ",".join(map(str, flag.entries[:32]))


def test_only_integrity_officers_and_the_secretariat_read_flags(world: World) -> None:
    world.hours(world.ncp_ken, world.KEN, "10", year=2021, disclosure="restricted")
    world.hours(world.ncp_ken, world.KEN, "100")
    with pytest.raises(SignInRequiredError):
        read_flags(world.ledger, Reader(), packaged())
    for role, member in [("ncp", "KEN"), ("peer_reviewer", None), ("admin", None)]:
        with pytest.raises(ReadNotPermittedError, match="integrity_officer or secretariat"):
            read_flags(world.ledger, Reader("p", role, member), packaged())
    for reader in (OFFICER, Reader("sec", "secretariat")):
        report = read_flags(world.ledger, reader, packaged(), FlagFilter(member="ken"))
        [flag] = report.flags
        assert flag.disclosure == "restricted"  # it names a restricted value
        assert report.restricted_shown == {"KEN": [f"flag {flag.id}"]}
    assert (
        read_flags(world.ledger, OFFICER, packaged(), FlagFilter(member="BRA")).flags == ()
    )
