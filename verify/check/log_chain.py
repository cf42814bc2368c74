"""Following the log key from the pinned one through the log's hand-overs.

docs/verifier.md "The log key's hand-overs", docs/decisions.md 33. The trust
file pins one log key; the log itself says when that key handed over to
another (``log.key_rotated`` entries the registry rules accepted, each signed
by the admins' threshold). Each hand-over must also be the old key's own
signature over the log's size and root at that entry (``verify.formats.handover``).
The chain of keys it gives ends at the one key that may sign the final
checkpoint; the state file remembers the chain, so a later run accepts the
checkpoints it saw before under whichever key signed them, and a log whose
hand-overs no longer start with the chain seen before is a fork of its key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from verify.check.findings import Finding
from verify.formats.handover import LOG_KEY_ROTATED, handover_problem
from verify.rules.registry import LogKeyChange


@dataclass(frozen=True)
class Chain:
    """The log keys from the pinned one to the last valid hand-over's."""

    keys: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def final(self) -> str:
        return self.keys[-1]


def follow(
    origin: str,
    pinned: str,
    changes: Sequence[LogKeyChange],
    roots_at: Mapping[int, bytes],
    seen: Sequence[str] = (),
) -> Chain:
    """The chain of keys from ``pinned``: each hand-over in ``changes`` (log
    order) checked against the key before it and the log's root at its index
    (``roots_at``); ``seen`` is the chain an earlier run followed (state file).

    A trust file may pin the log's first key or a later one a hand-over names
    (an operator who re-pinned); the chain then starts there."""
    keys = [changes[0].old_key] if changes else [pinned]
    findings: list[Finding] = []
    for change in changes:
        problem = handover_problem(
            origin, keys[-1], change.body, change.position, roots_at.get(change.position)
        )
        if problem is not None:
            findings.append(
                Finding("log_key", problem, change.position, "registry", LOG_KEY_ROTATED)
            )
            break  # the log key stays where it was; later checkpoints must show it
        keys.append(change.new_key)
    if pinned not in keys:
        reason = (
            f"the trust file pins log key {pinned}, which the log's hand-overs "
            f"({' -> '.join(keys)}) never name"
        )
        findings.append(Finding("checkpoint", reason))
        keys = [pinned]
    keys = keys[keys.index(pinned) :]
    shorter = min(len(seen), len(keys))
    if seen and tuple(keys[:shorter]) != tuple(seen[:shorter]):
        reason = (
            f"the log key was followed to {' -> '.join(seen)} before (state file), but "
            f"this log's hand-overs give {' -> '.join(keys)}: the log's key forked"
        )
        findings.append(Finding("fork", reason))
    return Chain(tuple(keys), tuple(findings))
