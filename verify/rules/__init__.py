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

from dataclasses import dataclass


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
