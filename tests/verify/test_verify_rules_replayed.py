"""The verifier replays every rule the ledger enforces (docs/decisions.md, 14).

An operator who runs modified ledger code can record what the rules forbid.
Each test here is such an operator: a real ledger (``world``, SQLite and
PostgreSQL) with its rule checks switched off (``broken``) records one
forbidden transition; the export is then verified with the rules back on,
and the verifier must fail at exactly that entry, naming the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.export import export
from ledger.home import resolve_key
from ledger.keys import KeyPair, with_approvals
from verify.__main__ import main
from verify.check.verifier import verify_export
from verify.formats.statement import SignedStatement
from verify.rules import Refusal
from verify.rules.signer import approvers_of

if TYPE_CHECKING:
    from tests.conftest import World

Broken = Callable[[], Any]


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> Callable[[], Any]:
    """A context manager: inside it, the ledger checks none of the rules."""

    @contextmanager
    def rules_off() -> Iterator[None]:
        with monkeypatch.context() as patch:
            for module in ("assessment", "framework", "registry", "seals", "integrity"):
                patch.setattr(f"ledger.domain.{module}.refuse", lambda found: None)
            patch.setattr("ledger.use_cases.check_table", lambda ledger, signed: None)

            def any_approvers(state: Any, signed: SignedStatement) -> list[str]:
                found = approvers_of(state, signed)
                if isinstance(found, Refusal):  # count what the approvals claim
                    return [str(a["principal"]) for a in signed.body.get("approvals", [])]
                return found

            patch.setattr("ledger.admission.approvers_of", any_approvers)
            yield

    return rules_off


def verdict(world: World, tmp_path: Path) -> tuple[str | None, int | None, str]:
    out = tmp_path / "export"
    export(world.ledger, out)
    result = verify_export(out, out / "trust.json")
    first = result.first_failure
    if first is None:
        return None, None, ""
    return first.check, first.index, first.reason


def forbidden(
    world: World, broken: Broken, key: KeyPair, stream: str, kind: str, body: dict[str, Any]
) -> int:
    """Record ``kind`` with the rules off; its log index."""
    signed = world.sign(key, stream, kind, body)
    with broken():
        return world.ledger.record(signed).log_index


def hours(world: World, amount: str = "12", **options: Any) -> dict[str, Any]:
    return world.value_body(world.KPI_HOURS, {"amount": amount}, "hours", **options)


def correction(world: World, supersedes: int, **options: Any) -> dict[str, Any]:
    return hours(
        world, "13", supersedes=supersedes, kind="correction", reason="typo", **options
    )


def complete_and_publish(world: World) -> None:
    world.record(world.ncp_ken, world.KEN, "submission.completed", {})
    world.record(world.sec, world.KEN, "assessment.published", world.publication(world.KEN))


# -- each forbidden transition, and the rule the verifier names ---------------------


def self_validation(world: World, broken: Broken) -> int:
    source = {"name": "World Bank DataBank", "sha256": "a" * 64}
    entry = world.hours(world.sec, world.KEN, "9", source=source).stream_version
    return forbidden(
        world, broken, world.sec, world.KEN, "value.validated", {"entry": entry}
    )


def correction_after_completion(world: World, broken: Broken) -> int:
    entry = world.hours(world.ncp_ken, world.KEN, "12").stream_version
    world.record(world.ncp_ken, world.KEN, "submission.completed", {})
    return forbidden(
        world, broken, world.ncp_ken, world.KEN, "value.corrected", correction(world, entry)
    )


def correction_after_publication(world: World, broken: Broken) -> int:
    entry = world.hours(world.ncp_ken, world.KEN, "12").stream_version
    complete_and_publish(world)
    return forbidden(
        world, broken, world.ncp_ken, world.KEN, "value.corrected", correction(world, entry)
    )


def correction_of_a_kpi_not_reopened(world: World, broken: Broken) -> int:
    entry = world.hours(world.ncp_ken, world.KEN, "12").stream_version
    complete_and_publish(world)
    reopen = {"kpis": [world.KPI_PERCENT], "reason": "new survey"}
    world.record(world.sec, world.KEN, "assessment.reopened", reopen)
    return forbidden(
        world, broken, world.ncp_ken, world.KEN, "value.corrected", correction(world, entry)
    )


def restatement_of_t_minus_1_after_publication(world: World, broken: Broken) -> int:
    year = world.REFERENCE_YEAR - 1
    entry = world.hours(world.ncp_ken, world.KEN, "12", year=year).stream_version
    complete_and_publish(world)
    body = correction(world, entry, year=year)
    return forbidden(world, broken, world.ncp_ken, world.KEN, "value.corrected", body)


def superseding_a_superseded_value(world: World, broken: Broken) -> int:
    first = world.hours(world.ncp_ken, world.KEN, "12").stream_version
    world.record(world.ncp_ken, world.KEN, "value.corrected", correction(world, first))
    return forbidden(
        world, broken, world.ncp_ken, world.KEN, "value.corrected", correction(world, first)
    )


def value_of_a_kpi_not_used(world: World, broken: Broken) -> int:
    not_used = {"kpi": world.KPI_HOURS, "justification": "not measured"}
    world.record(world.ncp_ken, world.KEN, "kpi.not_used", not_used)
    return forbidden(
        world, broken, world.ncp_ken, world.KEN, "value.submitted", hours(world)
    )


def not_used_with_values(world: World, broken: Broken) -> int:
    world.hours(world.ncp_ken, world.KEN, "12")
    body = {"kpi": world.KPI_HOURS, "justification": "not measured"}
    return forbidden(world, broken, world.ncp_ken, world.KEN, "kpi.not_used", body)


def value_of_another_year(world: World, broken: Broken) -> int:
    body = hours(world, year=world.REFERENCE_YEAR - 3)
    return forbidden(world, broken, world.ncp_ken, world.KEN, "value.submitted", body)


def value_in_the_wrong_unit(world: World, broken: Broken) -> int:
    body = world.value_body(world.KPI_HOURS, {"amount": "3"}, "days")
    return forbidden(world, broken, world.ncp_ken, world.KEN, "value.submitted", body)


def publication_before_completion(world: World, broken: Broken) -> int:
    world.hours(world.ncp_ken, world.KEN, "12")
    body = world.publication(world.KEN)
    return forbidden(world, broken, world.sec, world.KEN, "assessment.published", body)


def publication_cut_beyond_itself(world: World, broken: Broken) -> int:
    world.record(world.ncp_ken, world.KEN, "submission.completed", {})
    body = world.publication(world.KEN)
    body["cut_at"] += 5
    return forbidden(world, broken, world.sec, world.KEN, "assessment.published", body)


def reviewer_who_is_not_a_peer_reviewer(world: World, broken: Broken) -> int:
    body = {"principal": world.sec2.principal}
    return forbidden(world, broken, world.sec, world.KEN, "reviewer.assigned", body)


def finding_by_an_unassigned_reviewer(world: World, broken: Broken) -> int:
    body = {"finding": "Sample from one border post only."}
    return forbidden(
        world, broken, world.reviewer, world.KEN, "review.finding_recorded", body
    )


def kpi_defined_twice(world: World, broken: Broken) -> int:
    body = world.kpi_body(world.KPI_HOURS, "hours", "number")
    return forbidden(world, broken, world.sec, "framework", "kpi.defined", body)


def registration_by_one_admin(world: World, broken: Broken) -> int:
    shadow = KeyPair.generate("shadow")
    body: dict[str, Any] = {
        "approvals": [],
        "member": None,
        "name": "A reader whose key the admin holds",
        "principal": "shadow",
        "public_key": shadow.public_key,
        "role": "secretariat",
    }
    return forbidden(world, broken, world.admin, "registry", "principal.registered", body)


def approval_of_another_statement(world: World, broken: Broken) -> int:
    """admin-2 approved registering 'honest'; the admin reuses it for 'shadow'."""
    honest = {
        "member": None,
        "name": "Honest",
        "principal": "honest",
        "public_key": KeyPair.generate("honest").public_key,
        "role": "peer_reviewer",
    }
    approved = with_approvals(
        world.statement(world.admin, "registry", "principal.registered", honest),
        [world.admin2],
    )
    shadow = {
        **honest,
        "name": "Shadow",
        "principal": "shadow",
        "public_key": KeyPair.generate("shadow").public_key,
        "role": "secretariat",
        "approvals": approved["body"]["approvals"],
    }
    return forbidden(world, broken, world.admin, "registry", "principal.registered", shadow)


def admin_rotates_an_ncps_key(world: World, broken: Broken) -> int:
    body = {
        "principal": world.ncp_ken.principal,
        "public_key": KeyPair.generate("ncp-ken").public_key,
        "reason": "replaced at the NCP's request",
    }
    return forbidden(world, broken, world.admin, "registry", "principal.key_rotated", body)


def revocation_below_the_threshold(world: World, broken: Broken) -> int:
    gone = {"principal": "admin-3", "reason": "retired"}
    world.record(world.admin, "registry", "principal.revoked", gone)
    body = {"principal": "admin-2", "reason": "retired"}
    return forbidden(world, broken, world.admin, "registry", "principal.revoked", body)


def seal_that_goes_back(world: World, broken: Broken) -> int:
    for n in range(5):  # restricted reads; the next write seals them (size 5)
        world.ledger.access_log.append(
            principal="integrity",
            role="integrity_officer",
            member="KEN",
            request=f"GET /scores?read={n}",
            shown=["score kpi TF.1.3"],
            token=f"jti-{n}",
        )
    world.hours(world.ncp_ken, world.KEN, "12")
    ledger_key = resolve_key(world.ledger.settings, "ledger")
    body = {"size": 3, "head": "b" * 64}
    return forbidden(world, broken, ledger_key, "access-log", "access_log.sealed", body)


def flag_handled_before_its_entries(world: World, broken: Broken) -> int:
    future = world.ledger.log_size() + 5  # entries that do not exist yet
    body = {"flag": f"value_changed_after_validation:3,{future}", "action": "escalated"}
    body["reason"] = "pre-acknowledged by an operator"
    return forbidden(
        world, broken, world.officer, "integrity", "integrity.flag_handled", body
    )


def handling_labelled_with_another_member(world: World, broken: Broken) -> int:
    ken = world.hours(world.ncp_ken, world.KEN, "12").log_index
    body = {"flag": f"jump_history:{ken}", "action": "escalated", "member": "BRA"}
    body["reason"] = "shown to Brazil's NCP"
    return forbidden(
        world, broken, world.officer, "integrity", "integrity.flag_handled", body
    )


def thresholds_that_go_back(world: World, broken: Broken) -> int:
    body = {"version": 2, "thresholds": {"burst": {"count": "5"}}, "reason": "first set"}
    world.record(world.officer, "integrity", "integrity.thresholds_set", body)
    older = {**body, "version": 1, "reason": "quietly loosened"}
    return forbidden(
        world, broken, world.officer, "integrity", "integrity.thresholds_set", older
    )


def report_cut_beyond_the_log(world: World, broken: Broken) -> int:
    body = {
        "member": "KEN",
        "reference_year": 2022,
        "cut": world.ledger.log_size() + 100,
        "sha256": "c" * 64,
        "html_sha256": "e" * 64,
        "title": "audit report",
    }
    return forbidden(world, broken, world.officer, "integrity", "report.issued", body)


CASES: dict[str, tuple[Callable[[World, Broken], int], str, str]] = {
    "self-validation": (self_validation, "workflow", "may not validate"),
    "correction after completion": (correction_after_completion, "workflow", "complete"),
    "correction after publication": (correction_after_publication, "workflow", "published"),
    "KPI not reopened": (correction_of_a_kpi_not_reopened, "workflow", "reopened"),
    "T-1 restated after publication": (
        restatement_of_t_minus_1_after_publication,
        "workflow",
        "published",
    ),
    "superseded value": (superseding_a_superseded_value, "workflow", "was superseded"),
    "not-used KPI given a value": (value_of_a_kpi_not_used, "workflow", "not used"),
    "not used with values": (not_used_with_values, "workflow", "has recorded values"),
    "year outside T, T-1": (value_of_another_year, "workflow", "reference year"),
    "wrong unit": (value_in_the_wrong_unit, "workflow", "measured in 'hours'"),
    "published before complete": (
        publication_before_completion,
        "workflow",
        "not complete",
    ),
    "cut beyond the log": (publication_cut_beyond_itself, "workflow", "beyond the log"),
    "reviewer not a peer reviewer": (
        reviewer_who_is_not_a_peer_reviewer,
        "workflow",
        "only a peer_reviewer",
    ),
    "unassigned reviewer": (finding_by_an_unassigned_reviewer, "workflow", "not assigned"),
    "KPI defined twice": (kpi_defined_twice, "workflow", "already defined"),
    "one admin registers": (registration_by_one_admin, "registry", "needs 2 of the 3"),
    "approval of another statement": (
        approval_of_another_statement,
        "approval",
        "does not verify",
    ),
    "admin rotates an NCP's key": (admin_rotates_an_ncps_key, "registry", "its own key"),
    "revocation below threshold": (revocation_below_the_threshold, "registry", "threshold"),
    "seal goes back": (seal_that_goes_back, "workflow", "only grows"),
    "flag handled before its entries": (
        flag_handled_before_its_entries,
        "workflow",
        "after the entries that raise it",
    ),
    "handling labelled with another Member": (
        handling_labelled_with_another_member,
        "workflow",
        "is about KEN",
    ),
    "thresholds go back": (thresholds_that_go_back, "workflow", "not after the recorded"),
    "report cut beyond the log": (report_cut_beyond_the_log, "workflow", "the log holds"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_verifier_fails_at_the_forbidden_entry(
    case: str, world: World, broken: Broken, tmp_path: Path
) -> None:
    make, check, phrase = CASES[case]
    assert verdict(world, tmp_path)[0] is None  # the honest log verifies
    index = make(world, broken)
    found = verdict(world, tmp_path / "after")
    assert found[:2] == (check, index), found
    assert phrase in found[2], found[2]


@pytest.mark.parametrize("case", ["self-validation", "one admin registers"])
def test_the_ledger_itself_refuses_them(case: str, world: World) -> None:
    """The very same rules, with the checks on: nothing is recorded."""
    make, _, phrase = CASES[case]

    @contextmanager
    def rules_on() -> Iterator[None]:
        yield

    before = world.ledger.log_size()
    with pytest.raises(Exception, match=phrase.split("'")[0]):
        make(world, rules_on)
    assert world.ledger.log_size() == before + (1 if case == "self-validation" else 0)


def test_python_m_verify_exits_1_naming_the_entry(
    world: World, broken: Broken, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = correction_after_publication(world, broken)
    out = tmp_path / "export"
    export(world.ledger, out)
    assert main([str(out), "--trust", str(out / "trust.json")]) == 1
    report = capsys.readouterr().out
    assert f"FAILED {world.ledger.origin}: entry {index} (assessment/KEN/1, " in report
    assert "workflow: assessment/KEN/1 is published" in report
