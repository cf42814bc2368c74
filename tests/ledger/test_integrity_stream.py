"""The integrity officers' records: stream ``integrity`` (docs/flags.md).

Thresholds, flag handling and report digests are signed statements like any
other: only an integrity officer (and, for a report, the Secretariat) may
sign them, each rule refuses with its own error and records nothing, and the
offline verifier accepts the honest log. Both backends.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.errors import (
    ConflictError,
    DomainRuleError,
    NotFoundError,
    RoleNotPermittedError,
)
from ledger.export import export
from verify.check.verifier import verify_export
from verify.errors import MalformedStatementError

if TYPE_CHECKING:
    from tests.conftest import World

STREAM = "integrity"


def handling(flag: str, action: str = "acknowledged", **extra: Any) -> dict[str, Any]:
    return {"flag": flag, "action": action, "reason": "checked the evidence file", **extra}


def report(world: World, **extra: Any) -> dict[str, Any]:
    body = {
        "member": "KEN",
        "reference_year": 2022,
        "cut": world.ledger.log_size(),
        "sha256": "a" * 64,
        "html_sha256": "d" * 64,
        "title": "Audit report KEN 2022",
    }
    return {**body, **extra}


def test_any_of_the_three_starts_the_stream_and_the_log_verifies(
    world: World, tmp_path: Path
) -> None:
    first = world.record(
        world.officer, STREAM, "integrity.flag_handled", handling("burst:1,2")
    )
    assert (first.stream, first.stream_version) == (STREAM, 1)
    thresholds = {"version": 1, "thresholds": {"burst": {"count": "5"}}, "reason": "v1"}
    world.record(world.officer, STREAM, "integrity.thresholds_set", thresholds)
    world.record(world.sec, STREAM, "report.issued", report(world))
    world.record(
        world.officer, STREAM, "integrity.flag_handled", handling("burst:1,2", "escalated")
    )
    records = world.ledger.aggregate(STREAM).state
    assert records.thresholds_version == 1
    assert records.handled["burst:1,2"].action == "escalated"
    assert "a" * 64 in records.reports
    export(world.ledger, tmp_path / "export")
    result = verify_export(tmp_path / "export", tmp_path / "export" / "trust.json")
    assert result.first_failure is None, result.first_failure


def test_the_same_action_twice_in_a_row_is_a_conflict(world: World) -> None:
    world.record(world.officer, STREAM, "integrity.flag_handled", handling("burst:1"))
    again = world.sign(world.officer, STREAM, "integrity.flag_handled", handling("burst:1"))
    world.refused(
        again, ConflictError, "already acknowledged (by integrity)", streams=(STREAM,)
    )


def test_a_flag_names_only_entries_already_in_the_log(world: World) -> None:
    size = world.ledger.log_size()
    ahead = world.sign(
        world.officer, STREAM, "integrity.flag_handled", handling(f"burst:{size}")
    )
    world.refused(ahead, NotFoundError, f"names log entry {size}", streams=(STREAM,))
    unsorted = world.sign(
        world.officer, STREAM, "integrity.flag_handled", handling("burst:3,1")
    )
    world.refused(unsorted, DomainRuleError, "must ascend", streams=(STREAM,))


def test_thresholds_only_move_forward(world: World) -> None:
    body = {"version": 3, "thresholds": {"burst": {"count": "5"}}, "reason": "v3"}
    world.record(world.officer, STREAM, "integrity.thresholds_set", body)
    older = world.sign(
        world.officer, STREAM, "integrity.thresholds_set", {**body, "version": 3}
    )
    world.refused(
        older, ConflictError, "not after the recorded version 3", streams=(STREAM,)
    )


def test_a_report_is_recorded_once_and_within_the_log(world: World) -> None:
    world.record(world.officer, STREAM, "report.issued", report(world))
    again = world.sign(world.officer, STREAM, "report.issued", report(world))
    world.refused(again, ConflictError, "already recorded", streams=(STREAM,))
    beyond = world.sign(
        world.officer, STREAM, "report.issued", report(world, sha256="b" * 64, cut=10**6)
    )
    world.refused(beyond, NotFoundError, "read at log size 1000000", streams=(STREAM,))


@pytest.mark.parametrize("who", ["ncp_ken", "sec", "admin", "reviewer"])
def test_only_integrity_officers_handle_flags(world: World, who: str) -> None:
    signed = world.sign(
        getattr(world, who), STREAM, "integrity.flag_handled", handling("x:1")
    )
    world.refused(signed, RoleNotPermittedError, "integrity_officer", streams=(STREAM,))


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        (handling("no rule"), "body.flag must be a flag id"),
        (handling("burst:1", "ignored"), "body.action"),
        ({"flag": "burst:1", "action": "escalated"}, "reason"),
    ],
)
def test_malformed_handling_is_refused(
    world: World, body: dict[str, Any], phrase: str
) -> None:
    signed = world.sign_unchecked(world.officer, STREAM, "integrity.flag_handled", body)
    world.refused(signed, MalformedStatementError, phrase, streams=(STREAM,))


def test_a_handling_carries_the_member_its_flag_is_about(world: World) -> None:
    """The Member decides who reads the reason: labelling KEN's flag as BRA's
    would show KEN's restricted matter to BRA's NCP (decision 27)."""
    ken = world.hours(world.ncp_ken, world.KEN, "12").log_index
    bra = world.hours(world.ncp_bra, world.BRA, "30").log_index
    flag = f"jump_history:{ken}"
    for member, phrase in (("BRA", "not 'BRA'"), (None, "not None")):
        body = handling(flag) if member is None else handling(flag, member=member)
        signed = world.sign(world.officer, STREAM, "integrity.flag_handled", body)
        world.refused(
            signed, DomainRuleError, "is about KEN: its handling carries member 'KEN'",
            phrase, streams=(STREAM,),
        )  # fmt: skip
    world.record(
        world.officer, STREAM, "integrity.flag_handled", handling(flag, member="KEN")
    )
    # A flag across Members, or about none, names no Member.
    both = f"burst:{ken},{bra}"
    signed = world.sign(
        world.officer, STREAM, "integrity.flag_handled", handling(both, member="KEN")
    )
    world.refused(signed, DomainRuleError, "about BRA, KEN", streams=(STREAM,))
    world.record(world.officer, STREAM, "integrity.flag_handled", handling(both))


def test_thresholds_are_bounded(world: World) -> None:
    """A read must not overflow on a recorded threshold (days, hours, counts)."""
    body = {
        "version": 2,
        "thresholds": {"late_change": {"window_days": "1000000000"}},
        "reason": "effectively never",
    }
    signed = world.sign_unchecked(world.officer, STREAM, "integrity.thresholds_set", body)
    world.refused(
        signed, MalformedStatementError, "must be from 0 to 100000", streams=(STREAM,)
    )
