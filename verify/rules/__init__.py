"""The PMM rules, defined once: pure functions over replayed state (docs/design.md).

The ledger's command methods and the offline verifier's replay call the very
same functions, so an operator who runs modified ledger code and records a
forbidden transition is caught by ``python -m verify`` at exactly that entry
(docs/decisions.md, decision 14). Each rule answers a ``Refusal`` — which
kind of rule, and why, in words a person can act on — or None when it allows.

Standard library only: the domain aggregates import these modules, and the
domain stays pure (tests/test_layering.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

State = TypeVar("State")


@dataclass(frozen=True)
class Refusal:
    """Why a statement may not be recorded: the kind of rule (``rule``,
    ``not_found``, ``conflict``, ``self_review``, ``approval``, ``consent``; the
    signer's: ``genesis``, ``unknown_principal``, ``revoked``, ``key``) and the
    reason. The ledger maps each kind to its error class, the verifier to a check."""

    kind: str
    reason: str


def rule(reason: str) -> Refusal:
    return Refusal("rule", reason)


def not_found(reason: str) -> Refusal:
    return Refusal("not_found", reason)


def conflict(reason: str) -> Refusal:
    return Refusal("conflict", reason)


@dataclass(frozen=True, slots=True)
class Change:
    """A recorded entry as the state takes it. ``version`` is its stream
    version (what bodies name as ``entry``); ``position`` is where the caller
    counts it: the ledger counts stream versions, the verifier and the
    scoreboard log indexes."""

    kind: str
    principal: str
    body: Mapping[str, Any]
    version: int
    position: int


Transition = Callable[[State, Change], None]


def step(table: Mapping[str, Transition[State]], state: State, change: Change) -> None:
    """Apply the transition of ``change.kind`` in ``table``, if it has one."""
    found = table.get(change.kind)
    if found is not None:  # a type that changes nothing this state holds
        found(state, change)
