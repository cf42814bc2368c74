"""The log key's hand-over: the one definition of its bytes and of its check.

docs/decisions.md 33, docs/key-compromise.md. The log's checkpoint key is
replaced by a ``log.key_rotated`` entry of the registry stream that carries
two independent consents:

* the admins' threshold (the entry is signed by one admin and approved by
  others, ``verify.rules.registry``), so a thief of the log key alone cannot
  hand the log over to a key of its own;
* ``body.handover``, the OLD log key's Ed25519 signature over
  ``handover_input`` — the context ``"pmm-log-key-handover/v1\\n"`` and the JCS
  of origin, old and new C2SP verifier keys and the size and root of the log
  the hand-over is recorded at — so the admins alone cannot move the log to a
  key of theirs either.

The entry sits at log index ``body.size``: the log's first ``size`` entries
(root ``body.root``) are what the old key hands over. A checkpoint of a tree
larger than ``size`` is signed by the new key, never again by the old one; a
checkpoint of a smaller tree may be signed by the old key or by a later one
(the ledger signs a past size it never stored with the key it has now).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from verify.errors import VerifyError, quote
from verify.formats.canonical import canonical_bytes
from verify.formats.fields import is_base64_32
from verify.formats.note_keys import Ed25519Verifier

HANDOVER_CONTEXT = b"pmm-log-key-handover/v1\n"
LOG_KEY_ROTATED = "log.key_rotated"


@dataclass(frozen=True)
class HandOver:
    """What the old log key signs: the log ``origin`` at ``size`` and ``root``
    passes from ``old_key`` to ``new_key`` (both C2SP verifier keys)."""

    origin: str
    old_key: str
    new_key: str
    size: int
    root: bytes

    def signing_input(self) -> bytes:
        """``"pmm-log-key-handover/v1\\n"`` + JCS of the five fields, the root in
        padded standard base64 as checkpoints carry it."""
        fields = {
            "new_key": self.new_key,
            "old_key": self.old_key,
            "origin": self.origin,
            "root": base64.b64encode(self.root).decode("ascii"),
            "size": self.size,
        }
        return HANDOVER_CONTEXT + canonical_bytes(fields)

    @classmethod
    def of(cls, origin: str, body: Mapping[str, Any]) -> HandOver:
        """The hand-over a (schema-checked) ``log.key_rotated`` body names."""
        root = base64.b64decode(body["root"], validate=True)
        return cls(origin, body["old_key"], body["new_key"], body["size"], root)


def vkey_problem(value: Any) -> str | None:
    """A schema check: a C2SP Ed25519 verifier key (``name+hex8+base64``)."""
    if not isinstance(value, str):
        return "must be a C2SP verifier key (text)"
    try:
        Ed25519Verifier.from_vkey(value)
    except VerifyError as exc:
        return f"is not an Ed25519 verifier key: {exc}"
    return None


def root_problem(value: Any) -> str | None:
    """A schema check: a 32-byte hash in padded standard base64."""
    return None if is_base64_32(value) else "must be base64 of a 32-byte tree root"


def handover_problem(
    origin: str,
    current_key: str,
    body: Mapping[str, Any],
    at: int,
    root_at: bytes | None,
) -> str | None:
    """Why the ``log.key_rotated`` ``body``, recorded at log index ``at`` of a
    log whose first ``at`` entries hash to ``root_at`` and whose checkpoints
    ``current_key`` signs, does not hand the log over; None if it does.

    The ledger asks this before recording it (``at``: its log size now), the
    offline verifier while following the chain of hand-overs."""
    handover = HandOver.of(origin, body)
    if handover.old_key != current_key:
        return (
            f"the hand-over names old log key {quote(handover.old_key)}, but the "
            f"log's checkpoints are signed by {current_key!r} at this position"
        )
    new = Ed25519Verifier.from_vkey(handover.new_key)
    if new.name != origin:
        return (
            f"the new log key is named {quote(new.name)}; a log key is named after "
            f"the origin {origin!r}"
        )
    if handover.new_key == current_key:
        return "the hand-over names the current log key as the new one"
    if handover.size != at:
        return (
            f"the hand-over names log size {handover.size}, but it is recorded at "
            f"entry {at}: it hands over exactly the entries before it; sign it again "
            "at the log's size now"
        )
    if root_at is None or handover.root != root_at:
        return (
            f"the hand-over names root {body['root']} for size {handover.size}, which "
            "is not the root of the log's first entries"
        )
    signature = base64.b64decode(body["handover"], validate=True)
    if not Ed25519Verifier.from_vkey(current_key).verify(
        handover.signing_input(), signature
    ):
        return (
            "body.handover is not the old log key's signature over this hand-over "
            "(pmm-log-key-handover/v1): the old log key did not consent"
        )
    return None
