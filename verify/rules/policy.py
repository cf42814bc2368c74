"""Who may sign what (docs/design.md §1 roles table, §5 item 1).

Pure rules over a statement and its signer's registered role and Member, used
by the ledger when it admits a statement and by the verifier when it replays
the log. A rule returns a ``Refusal``, or None when it allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from verify.formats.schema import StatementType, stream_member

# Values recorded by the Secretariat come from a named external source, with
# the source file's digest as evidence (docs/design.md §1, secretariat row).
_SOURCED = ("value.submitted", "value.corrected")


@dataclass(frozen=True)
class Refusal:
    """Which rule refused (``role``, ``member`` or ``source``) and why."""

    rule: str
    reason: str


def refusal(
    kind: StatementType,
    principal: str,
    role: str,
    member: str | None,
    stream: str,
    body: Mapping[str, Any],
) -> Refusal | None:
    """Why ``principal`` (``role``, ``member``) may not sign this, or None."""
    if role not in kind.roles:
        return Refusal(
            "role",
            f"principal {principal!r} has role {role!r}, which may not sign "
            f"{kind.name}; allowed role(s): {', '.join(kind.roles)}",
        )
    target = stream_member(stream)
    # An NCP writes assessment data for its own Member only; in the registry it
    # may only rotate its own key (verify.rules.registry, consent).
    if role == "ncp" and kind.stream == "assessment" and target != member:
        return Refusal(
            "member",
            f"principal {principal!r} is the NCP for {member}, and may act only "
            f"for its own Member, not in stream {stream!r}",
        )
    if kind.name in _SOURCED:
        if role == "secretariat" and "source" not in body:
            return Refusal(
                "source",
                f"principal {principal!r} (secretariat) records values only from "
                "a named external source: body.source {name, sha256} is required",
            )
        if role == "ncp" and "source" in body:
            return Refusal(
                "source",
                "body.source is for Secretariat imports; an NCP submits its own data",
            )
    return None
