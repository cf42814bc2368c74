"""Nobody signs for another principal (docs/decisions.md, decision 15).

The genesis names three admins, two of whom must agree (``init_ledger``'s
default): one admin alone cannot register a reader whose key it holds, revoke
anyone, or recover a key; no admin rotates another principal's key, which only
the principal itself does, with its current key. Both backends; the verifier
reports every recovery.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.errors import (
    ApprovalError,
    ConfigurationError,
    ConsentError,
    DomainRuleError,
    UnknownKeyError,
)
from ledger.export import export
from ledger.home import init_ledger, resolve_key
from ledger.keys import KeyPair, with_approvals
from ledger.persistence import Settings
from verify.__main__ import main, result_json
from verify.check.verifier import verify_export
from verify.errors import MalformedStatementError
from verify.rules.registry import genesis_refusal

if TYPE_CHECKING:
    from tests.conftest import World


def reader_body(key: KeyPair, role: str = "secretariat") -> dict[str, Any]:
    return {
        "member": None,
        "name": "A reader",
        "principal": key.principal,
        "public_key": key.public_key,
        "role": role,
    }


def approved(
    world: World, signer: KeyPair, kind: str, body: dict[str, Any], *approvers: KeyPair
) -> Any:
    """``kind`` signed by ``signer`` with exactly ``approvers``' approvals."""
    statement = world.statement(signer, "registry", kind, {**body, "approvals": []})
    return signer.sign(with_approvals(statement, list(approvers)))


def test_one_admin_alone_registers_revokes_and_recovers_nobody(world: World) -> None:
    shadow = KeyPair.generate("shadow")
    for kind, body in [
        ("principal.registered", reader_body(shadow)),
        ("principal.revoked", {"principal": "ncp-ken", "reason": "x"}),
        (
            "principal.key_recovered",
            {"principal": "ncp-ken", "public_key": shadow.public_key, "reason": "lost"},
        ),
    ]:
        alone = approved(world, world.admin, kind, body)
        world.refused(alone, ApprovalError, f"{kind} needs 2 of the 3 active admins")


def test_approvals_that_do_not_count(world: World) -> None:
    shadow = KeyPair.generate("shadow")
    body = reader_body(shadow)
    kind = "principal.registered"
    itself = approved(world, world.admin, kind, body, world.admin)
    world.refused(itself, ApprovalError, "'admin' signs it and may not approve it")
    # The same approval twice is refused by the schema; two different signatures
    # by one admin (a signer that deviates from RFC 8032's nonces) by the rule.
    with pytest.raises(MalformedStatementError, match="must not repeat an item"):
        approved(world, world.admin, kind, body, world.admin2, world.admin2)
    registry = world.ledger.registry()
    assert registry is not None
    found = registry.state.threshold_refusal(kind, "admin", ["admin-2", "admin-2"])
    assert found is not None and "approves a statement only once" in found.reason
    by_secretariat = approved(world, world.admin, kind, body, world.sec)
    world.refused(by_secretariat, ApprovalError, "'sec', which is not an active admin")
    # An approval of another statement, or of this one at another position.
    other = approved(
        world, world.admin, kind, reader_body(KeyPair.generate("x")), world.admin2
    )
    copied = world.statement(
        world.admin, "registry", kind, {**body, "approvals": other.body["approvals"]}
    )
    world.refused(world.admin.sign(copied), ApprovalError, "does not verify")
    stale = world.statement(
        world.admin,
        "registry",
        kind,
        body,
        expected_version=world.ledger.stream_version("registry") + 1,
    )
    moved = {**body, "approvals": stale["body"]["approvals"]}
    world.refused(
        world.admin.sign(world.statement(world.admin, "registry", kind, moved)),
        ApprovalError,
        "does not verify",
    )
    # With a second admin's approval it is recorded.
    recorded = world.ledger.record(approved(world, world.admin, kind, body, world.admin2))
    assert recorded.entry_type == kind


def test_no_admin_rotates_another_principals_key(world: World) -> None:
    taken = KeyPair.generate("ncp-ken")
    body = {"principal": "ncp-ken", "public_key": taken.public_key, "reason": "asked to"}
    by_admin = world.sign(world.admin, "registry", "principal.key_rotated", body)
    world.refused(by_admin, ConsentError, "'admin' may not rotate the key of 'ncp-ken'")
    by_other_ncp = world.sign(world.ncp_bra, "registry", "principal.key_rotated", body)
    world.refused(by_other_ncp, ConsentError, "'ncp-bra' may not rotate")
    # The NCP itself, with its current key: recorded; the old key signs nothing.
    world.record(world.ncp_ken, "registry", "principal.key_rotated", body)
    stale = world.sign(
        world.ncp_ken,
        world.KEN,
        "value.submitted",
        world.value_body(world.KPI_HOURS, {"amount": "1"}, "hours"),
    )
    world.refused(stale, UnknownKeyError, "rotated out")
    assert world.hours(taken, world.KEN, "1").principal == "ncp-ken"


def test_a_lost_key_is_recovered_by_the_threshold_and_reported(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = KeyPair.generate("ncp-ken")
    body = {"principal": "ncp-ken", "public_key": fresh.public_key, "reason": "lost"}
    recovered = world.ledger.record(
        approved(world, world.admin, "principal.key_recovered", body, world.admin2)
    )
    world.hours(fresh, world.KEN, "3")
    out = tmp_path / "log"
    export(world.ledger, out)
    result = verify_export(out, out / "trust.json")
    assert result.verified, result.findings
    [recovery] = result.recoveries
    assert (recovery.index, recovery.principal) == (recovered.log_index, "ncp-ken")
    assert (recovery.signer, recovery.approvers) == ("admin", ("admin-2",))
    assert result_json(result)["recoveries"] == [
        {
            "index": recovered.log_index,
            "principal": "ncp-ken",
            "signer": "admin",
            "approvers": ["admin-2"],
        }
    ]
    assert main([str(out), "--trust", str(out / "trust.json")]) == 0
    report = capsys.readouterr().out
    assert (
        f"key recovered: entry {recovered.log_index}, principal 'ncp-ken', by admin "
        "with the approval of admin-2"
    ) in report


def test_admins_never_fall_below_the_threshold(world: World) -> None:
    world.record(
        world.admin,
        "registry",
        "principal.revoked",
        {"principal": "admin-3", "reason": "x"},
    )
    body = {"principal": "admin-2", "reason": "x"}
    world.refused(
        approved(world, world.admin, "principal.revoked", body, world.admin2),
        DomainRuleError,
        "would leave 1 active admin(s), fewer than the threshold of 2",
    )
    ledger_key = resolve_key(world.ledger.settings, "ledger")
    world.refused(
        world.sign(
            world.admin,
            "registry",
            "principal.registered",
            reader_body(KeyPair.generate("ledger-2"), "ledger"),
        ),
        DomainRuleError,
        "role 'ledger' is the ledger's own principal",
    )
    gone = {"principal": ledger_key.principal, "reason": "x"}
    world.refused(
        world.sign(world.admin, "registry", "principal.revoked", gone),
        DomainRuleError,
        "replaced by a recovery, not revoked",
    )


def test_one_admin_ledgers_and_impossible_thresholds(settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match="between 1 and --admins 2"):
        init_ledger(settings, "test.pmm.example/t", admins=2, threshold=3)
    with pytest.raises(ConfigurationError, match="name the ledger's own keys"):
        init_ledger(settings, "test.pmm.example/t", "ledger")
    ledger = init_ledger(settings, "test.pmm.example/one", admins=1, threshold=1)
    try:
        admin = resolve_key(settings, "admin")
        key = KeyPair.generate("sec")
        body = {**reader_body(key), "approvals": []}
        statement = admin.statement(
            ledger.origin, "registry", "principal.registered", body, 1
        )
        assert ledger.record(admin.sign(statement)).entry_type == "principal.registered"
        registry = ledger.registry()
        assert registry is not None and registry.threshold == 1
        assert registry.active_admins() == ["admin"]
    finally:
        ledger.close()


GENESIS = {
    "admins": [
        {"name": "A", "principal": "a", "public_key": "k1"},
        {"name": "B", "principal": "b", "public_key": "k2"},
    ],
    "ledger": {"name": "L", "principal": "l", "public_key": "k3"},
    "threshold": 2,
}


@pytest.mark.parametrize(
    ("change", "signer", "phrase"),
    [
        ({"threshold": 3}, "a", "threshold 3 must be between 1 and the 2 admin(s)"),
        ({}, "nobody", "signed by an admin it names"),
        ({}, "l", "signed by an admin it names"),
        ({"ledger": {"name": "L", "principal": "a", "public_key": "k3"}}, "a", "once"),
        ({"ledger": {"name": "L", "principal": "l", "public_key": "k1"}}, "a", "once"),
    ],
)
def test_genesis_rules(change: dict[str, Any], signer: str, phrase: str) -> None:
    assert genesis_refusal("b", GENESIS) is None
    found = genesis_refusal(signer, {**GENESIS, **change})
    assert found is not None and phrase in found.reason
