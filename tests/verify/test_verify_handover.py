"""Golden bytes of the log key's hand-over and its check (docs/decisions.md 33).

Fixed keys (seeds 0x01... and 0x02...), a fixed size and root: the signing
input and the old key's Ed25519 signature (deterministic, RFC 8032) are
pinned as literal bytes. A change to them is a change of format that breaks
every hand-over already recorded: do not "update" them to make a test pass.
Reviewed by eye when pinned: context line first, JCS keys sorted, the root in
padded standard base64, the size a bare integer.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verify.formats.handover import HANDOVER_CONTEXT, HandOver, handover_problem
from verify.formats.note_keys import Ed25519Signer
from verify.formats.schema import check_body, statement_type

ORIGIN = "pmm-ledger.invalid/golden"
OLD = Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32))
NEW = Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes([2]) * 32))
ROOT = bytes(range(32))

OLD_VKEY = "pmm-ledger.invalid/golden+38861367+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c"
NEW_VKEY = "pmm-ledger.invalid/golden+61ac6db5+AYE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU"
GOLDEN_INPUT = (
    b"pmm-log-key-handover/v1\n"
    b'{"new_key":"pmm-ledger.invalid/golden+61ac6db5+AYE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1'
    b'uPybOU","old_key":"pmm-ledger.invalid/golden+38861367+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQ'
    b'SG/N0iAG0D29c","origin":"pmm-ledger.invalid/golden","root":"AAECAwQFBgcICQoLDA0ODxAREh'
    b'MUFRYXGBkaGxwdHh8=","size":17}'
)
GOLDEN_SIGNATURE = (
    "51Ina1SPg7MhwVrNdO0Bt3FQrMHq8TqMg0gS6hA/eHJoh84SF/S6jB2bfACSuFboBC6V0V3w"
    "Yb3qeUr0cp2oBQ=="
)


def body(**change: Any) -> dict[str, Any]:
    handover = HandOver(ORIGIN, OLD_VKEY, NEW_VKEY, 17, ROOT)
    signature = base64.b64encode(OLD.sign(handover.signing_input())).decode()
    found = {
        "handover": signature,
        "new_key": NEW_VKEY,
        "old_key": OLD_VKEY,
        "reason": "yearly rotation",
        "root": base64.b64encode(ROOT).decode(),
        "size": 17,
        "approvals": [],
    }
    return {**found, **change}


def test_the_golden_bytes() -> None:
    assert OLD.verifier().vkey() == OLD_VKEY
    assert NEW.verifier().vkey() == NEW_VKEY
    handover = HandOver(ORIGIN, OLD_VKEY, NEW_VKEY, 17, ROOT)
    assert handover.signing_input() == GOLDEN_INPUT
    assert GOLDEN_INPUT.startswith(HANDOVER_CONTEXT)
    assert base64.b64encode(OLD.sign(GOLDEN_INPUT)).decode() == GOLDEN_SIGNATURE
    assert HandOver.of(ORIGIN, body()) == handover


def test_a_good_hand_over_passes_and_its_body_fits_the_schema() -> None:
    assert handover_problem(ORIGIN, OLD_VKEY, body(), 17, ROOT) is None
    check_body(statement_type("log.key_rotated"), body())


@pytest.mark.parametrize(
    ("name", "change", "current", "at", "root", "phrase"),
    [
        ("signed by the new key", "new", OLD_VKEY, 17, ROOT, "did not consent"),
        ("signed over another size", "size", OLD_VKEY, 17, ROOT, "did not consent"),
        ("not the current key", None, NEW_VKEY, 17, ROOT, "names old log key"),
        ("at another position", None, OLD_VKEY, 18, ROOT, "recorded at entry 18"),
        ("another root", None, OLD_VKEY, 17, bytes(32), "is not the root"),
    ],
)
def test_hostile_hand_overs(
    name: str, change: str | None, current: str, at: int, root: bytes, phrase: str
) -> None:
    found = body()
    if change == "new":  # the admins' own key "consents" for the old one
        found["handover"] = base64.b64encode(NEW.sign(GOLDEN_INPUT)).decode()
    if change == "size":  # the old key signed a hand-over at another size
        other = HandOver(ORIGIN, OLD_VKEY, NEW_VKEY, 16, ROOT).signing_input()
        found["handover"] = base64.b64encode(OLD.sign(other)).decode()
    problem = handover_problem(ORIGIN, current, found, at, root)
    assert problem is not None and phrase in problem, (name, problem)


def test_a_new_key_named_for_another_log_is_refused() -> None:
    stranger = Ed25519Signer("example.com/other", NEW.private_key).verifier().vkey()
    problem = handover_problem(ORIGIN, OLD_VKEY, body(new_key=stranger), 17, ROOT)
    assert problem is not None and "named after the origin" in problem
