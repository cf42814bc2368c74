"""The log key's hand-over (docs/decisions.md 33, docs/key-compromise.md).

On both backends: the ledger records ``log.key_rotated`` only with the admins'
threshold AND the old log key's signature over the log's size and root, then
signs every later checkpoint with the new key; older checkpoints and receipts
stay valid under the old one. The offline verifier starts from the pinned key
and follows one hand-over, then two, across runs of one state file. Hostile
logs — made by a modified ledger that skips a check, or an operator who swaps
the signing key — fail at the entry or checkpoint at fault.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.application import Ledger
from ledger.errors import (
    ApprovalError,
    ConflictError,
    HandOverError,
    RoleNotPermittedError,
)
from ledger.export import export
from ledger.home import current_policy, open_ledger
from ledger.keys import KeyPair
from ledger.log_keys import handover_body, next_key_path, vkey_of
from verify.__main__ import main
from verify.check.verifier import VerifyResult, verify_export
from verify.errors import VerifyError
from verify.formats.note_keys import Ed25519Signer
from verify.formats.policy_text import parse_policy
from verify.formats.receipt import verify_receipt
from verify.formats.statement import SignedStatement
from verify.merkle.tree import leaf_hash

if TYPE_CHECKING:
    from ledger.application import Recorded
    from tests.conftest import World


def log_key(world: World) -> KeyPair:
    return KeyPair.load(world.ledger.settings.home / "keys" / "log.key")


def new_log_key(world: World) -> KeyPair:
    """What ``pmm log-key rotate`` does first: a new key file in HOME/keys."""
    key = KeyPair.generate("log")
    key.save(next_key_path(world.ledger.settings.home / "keys"))
    world.ledger.log_keys.add(key)
    return key


def hand_over(
    world: World, old: KeyPair, new: KeyPair, signer: KeyPair | None = None, **change: Any
) -> SignedStatement:
    """A ``log.key_rotated`` by the genesis admin, approved by admin-2 (unless
    ``approvals`` is changed), the hand-over signed by ``old``."""
    body = {**handover_body(world.ledger, old, new, "yearly rotation"), **change}
    return world.sign(signer or world.admin, "registry", "log.key_rotated", body)


def verified(world: World, out: Path, trust: Path, state: Path | None) -> VerifyResult:
    export(world.ledger, out)
    result = verify_export(out, trust, state)
    assert result.verified, result.findings
    return result


def receipt_verifies(world: World, recorded: Recorded, key: KeyPair) -> bool:
    """The receipt handed out at ``recorded`` against a policy of ``key`` alone."""
    store = world.ledger.sequencer.store
    [(_, raw)] = store.entries(recorded.log_index, recorded.log_index + 1)
    vkey = vkey_of(world.ledger.origin, key)
    policy = parse_policy(f"log {vkey}\nquorum none\n".encode())
    assert recorded.receipt is not None
    try:
        verify_receipt(recorded.receipt, leaf_hash(raw), policy)
    except Exception:
        return False
    return True


def test_the_verifier_follows_one_then_two_hand_overs(world: World, tmp_path: Path) -> None:
    first, state = log_key(world), tmp_path / "state.json"
    before = world.hours(world.ncp_ken, world.KEN, "12")
    pinned = tmp_path / "trust.json"
    start = verified(world, tmp_path / "e0", tmp_path / "e0" / "trust.json", state)
    pinned.write_bytes((tmp_path / "e0" / "trust.json").read_bytes())
    assert start.log_keys == (vkey_of(world.ledger.origin, first),)

    second = new_log_key(world)
    rotated = world.ledger.record(hand_over(world, first, second))
    assert rotated.log_index == rotated.tree_size - 1  # it took index == its size
    assert world.ledger.log_vkey() == vkey_of(world.ledger.origin, second)
    after = world.hours(world.ncp_bra, world.BRA, "7")
    one = verified(world, tmp_path / "e1", pinned, state)
    assert one.log_keys == tuple(vkey_of(world.ledger.origin, k) for k in (first, second))
    # Older receipts stay valid under the old key, newer ones under the new.
    assert receipt_verifies(world, before, first)
    assert receipt_verifies(world, after, second)
    assert not receipt_verifies(world, after, first)
    # The home's witness policy names the first key; the ledger checks its own
    # checkpoints (reports, pmm checkpoint) over the key that signs now.
    policy_file = world.ledger.settings.home / "witness-policy.txt"
    policy_file.write_text(f"log {vkey_of(world.ledger.origin, first)}\nquorum none\n")
    note = world.ledger.sequencer.checkpoint()
    with pytest.raises(VerifyError):
        parse_policy(policy_file.read_bytes()).verify_checkpoint(note)
    current = current_policy(world.ledger)
    assert current is not None and current.verify_checkpoint(note)

    third = new_log_key(world)
    world.ledger.record(hand_over(world, second, third))
    world.submit(world.ncp_ken, world.KEN, world.KPI_PERCENT, {"amount": "80"}, "percent")
    two = verified(world, tmp_path / "e2", pinned, state)
    assert two.log_keys == tuple(
        vkey_of(world.ledger.origin, k) for k in (first, second, third)
    )
    # The export's own trust file pins the first key too; the CLI agrees.
    assert verify_export(tmp_path / "e2", tmp_path / "e2" / "trust.json").verified
    assert main([str(tmp_path / "e2"), "--trust", str(pinned), "--state", str(state)]) == 0
    # A ledger opened again signs with the key its own log names.
    settings = world.ledger.settings
    world.ledger.close()
    reopened = open_ledger(settings)
    try:
        assert reopened.log_vkey() == vkey_of(reopened.origin, third)
    finally:
        reopened.close()


def test_the_ledger_wants_both_consents(world: World) -> None:
    first, new = log_key(world), new_log_key(world)
    world.refused(
        hand_over(world, first, new, approvals=[]),
        ApprovalError,
        "log.key_rotated needs 2 of the 3 active admins",
    )
    impostor = hand_over(world, first, new)
    forged = handover_body(world.ledger, new, new, "x")["handover"]  # not the old key
    impostor = hand_over(world, first, new, handover=forged)
    world.refused(impostor, HandOverError, "the old log key did not consent")
    world.refused(
        hand_over(world, first, new, signer=world.sec),
        RoleNotPermittedError,
        "may not sign log.key_rotated",
    )
    stranger = KeyPair.generate("log")  # a key the ledger holds no file of
    world.refused(hand_over(world, first, stranger), HandOverError, "holds no key file")
    stale = handover_body(world.ledger, first, new, "signed, then the log moved on")
    world.hours(world.ncp_ken, world.KEN, "12")
    signed = world.sign(world.admin, "registry", "log.key_rotated", stale)
    world.refused(signed, HandOverError, "sign it again at the log's size now")
    value = world.sign(
        world.ncp_bra,
        world.BRA,
        "value.submitted",
        world.value_body(world.KPI_HOURS, {"amount": "3"}, "hours"),
    )
    world.refused([value, hand_over(world, first, new)], HandOverError, "recorded alone")
    world.ledger.record(hand_over(world, first, new))
    back = new_log_key(world)
    world.ledger.log_keys.add(first)
    world.refused(hand_over(world, new, first), ConflictError, "was a key of this log")
    world.ledger.record(hand_over(world, new, back))  # a fresh key is fine


def test_a_crash_before_the_new_keys_first_checkpoint(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hand-over committed, the process died before integrating it: the
    ledger opened again signs the missing checkpoint with the new key, because
    the key that signs is the one its registry names (decision 33)."""
    first, new = log_key(world), new_log_key(world)
    signed = hand_over(world, first, new)
    with monkeypatch.context() as crash:

        def die(self: object) -> None:
            raise SystemExit("killed between the commit and the checkpoint")

        crash.setattr("ledger.sequencer.Sequencer.integrate", die)
        with pytest.raises(SystemExit):
            world.ledger.record(signed)
    settings = world.ledger.settings
    world.ledger.close()
    reopened = open_ledger(settings)
    try:
        assert reopened.log_vkey() == vkey_of(reopened.origin, new)
        out = tmp_path / "after-crash"
        export(reopened, out)
    finally:
        reopened.close()
    result = verify_export(out, out / "trust.json")
    assert result.verified, result.findings
    assert result.log_keys == tuple(vkey_of(result.origin, k) for k in (first, new))


def test_another_instance_signs_with_the_handed_over_key(
    world: World, tmp_path: Path
) -> None:
    """A second process opened before the hand-over (an HTTP worker, say) signs
    its next write's checkpoint with the new key, whose file it never loaded."""
    other = open_ledger(world.ledger.settings)
    try:
        first, new = log_key(world), new_log_key(world)
        world.ledger.record(hand_over(world, first, new))
        assert other.log_vkey() == vkey_of(other.origin, first)  # not yet followed
        body = world.value_body(world.KPI_HOURS, {"amount": "12"}, "hours")
        other.record(world.sign(world.ncp_ken, world.KEN, "value.submitted", body))
        assert other.log_vkey() == vkey_of(other.origin, new)
    finally:
        other.close()
    verified(world, tmp_path / "out", tmp_path / "out" / "trust.json", None)


@pytest.fixture
def modified(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A modified ledger: the caller switches off the check it wants gone."""
    yield monkeypatch


def findings(
    world: World, tmp_path: Path, trust: Path | None = None
) -> list[tuple[str, int | None, str]]:
    out = tmp_path / "hostile"
    export(world.ledger, out)
    result = verify_export(out, trust or out / "trust.json")
    assert not result.verified
    return [(f.check, f.index, f.reason) for f in result.findings]


def test_hostile_a_hand_over_without_the_admins(
    world: World, tmp_path: Path, modified: pytest.MonkeyPatch
) -> None:
    """The leaked log key alone: its hand-over has no approvals."""
    first, new = log_key(world), new_log_key(world)
    modified.setattr("ledger.domain.registry.refuse", lambda found: None)
    at = world.ledger.record(hand_over(world, first, new, approvals=[])).log_index
    world.hours(world.ncp_ken, world.KEN, "12")
    found = findings(world, tmp_path)
    assert ("registry", at) in [(c, i) for c, i, _ in found], found
    assert found[0][0] == "checkpoint" and "not signed by the log" in found[0][2]


def test_hostile_a_hand_over_the_old_key_did_not_sign(
    world: World, tmp_path: Path, modified: pytest.MonkeyPatch
) -> None:
    """The admins alone: approved, but the old log key never signed it."""
    first, new = log_key(world), new_log_key(world)
    modified.setattr("ledger.use_cases.check_handover", lambda *args: None)
    forged = handover_body(world.ledger, new, new, "x")["handover"]
    at = world.ledger.record(hand_over(world, first, new, handover=forged)).log_index
    found = findings(world, tmp_path)
    assert ("log_key", at) in [(c, i) for c, i, _ in found], found
    assert any("did not consent" in reason for _, _, reason in found)
    assert found[0][0] == "checkpoint"


def test_hostile_a_new_key_without_a_hand_over(world: World, tmp_path: Path) -> None:
    """An operator swaps the signing key behind the log's back. The auditor's
    trust file was pinned before (an export's own trust file names the key
    that signs it, so it is never the root of trust)."""
    export(world.ledger, tmp_path / "pinned")
    rogue = KeyPair.generate("log")
    world.ledger.sequencer.signer = Ed25519Signer(world.ledger.origin, rogue.private_key)
    world.hours(world.ncp_ken, world.KEN, "12")
    found = findings(world, tmp_path, tmp_path / "pinned" / "trust.json")
    assert found[0][0] == "checkpoint" and "not signed by the log" in found[0][2]


def test_hostile_the_old_key_signs_after_its_hand_over(
    world: World, tmp_path: Path, modified: pytest.MonkeyPatch
) -> None:
    """The leaked old key, after the hand-over, signs a larger tree (a modified
    ledger that does not follow the hand-over)."""
    first, new = log_key(world), new_log_key(world)
    world.ledger.record(hand_over(world, first, new))
    modified.setattr(Ledger, "follow_log_key", lambda self, work: None)
    world.ledger.sequencer.signer = Ed25519Signer(world.ledger.origin, first.private_key)
    world.hours(world.ncp_ken, world.KEN, "12")
    found = findings(world, tmp_path)
    assert found[0][0] == "checkpoint", found
    assert "the key the log's hand-overs end at" in found[0][2]
