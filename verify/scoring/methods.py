"""Scoring methods as data (docs/design.md §1): one KPI value → a 0–100 score.

A KPI definition carries its scoring method as a JSON object, signed with the
definition, so changing how a KPI is scored is a new signed KPI version, never
a code edit. This module is the only place the methods are defined; the ledger
admits definitions with ``method_problem``, the projections and the offline
verifier score with ``score_value`` and ``aggregate``, so a published score
table can be recomputed from the entries alone (docs/design.md §5 item 5).

Methods (``docs/scoring.md`` explains each with an example):

* ``linear`` {best, worst}: the value placed between worst (0) and best (100),
  clamped — the "distance to frontier" method;
* ``thresholds`` {cuts, scores, levels?} ascending cut points, or {levels,
  scores} for grades: the value's level and that level's score;
* ``as_score``: the value already is a 0–100 score (text: scored only by a
  ``score.revised`` statement);
* ``ratio`` {best?, worst?, numerator?, denominator?}: numerator / denominator,
  of the KPI's own ratio value or of two other KPIs' values, then linear
  (default best 1, worst 0);
* ``variation`` {best, worst}: the percent change from T−1 to T, then linear.

Arithmetic is ``decimal`` (never binary floats); scores are rounded half-even
to two decimals and travel as decimal strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise
from typing import Any

from verify.errors import quote

METHODS = ("linear", "thresholds", "as_score", "ratio", "variation")
AGGREGATIONS = ("mean", "min")
HUNDRED = Decimal(100)
CENT = Decimal("0.01")

# A canonical decimal string (docs/statements.md): no exponent, no "+", no
# leading zeros, no bare "." at either end. verify.formats.schema uses the same pattern.
DECIMAL_RE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
# At most this many digits in all (integer and fraction part): far more than any
# measurement needs, and a bound on what one value costs to parse, compare and
# score (docs/decisions.md 17).
MAX_DECIMAL_DIGITS = 40
_PARAMS: Mapping[str, tuple[set[str], set[str]]] = {
    # method: (required parameters, optional parameters)
    "linear": ({"best", "worst"}, set()),
    "thresholds": ({"scores"}, {"cuts", "levels"}),
    "as_score": (set(), set()),
    "ratio": (set(), {"best", "worst", "numerator", "denominator"}),
    "variation": ({"best", "worst"}, set()),
}
_KINDS: Mapping[str, tuple[str, ...]] = {
    "linear": ("number", "percentage", "ratio", "yes_no"),
    "thresholds": ("number", "percentage", "ratio", "yes_no", "grade"),
    "as_score": ("number", "percentage", "text"),
    "ratio": ("ratio", "number", "percentage"),
    "variation": ("number", "percentage", "ratio"),
}


def decimal_digits(text: str) -> int:
    """How many digits a decimal string has (its sign and point left out)."""
    return len(text) - text.startswith("-") - ("." in text)


def decimal_problem(text: Any) -> str | None:
    """Why ``text`` is not a canonical decimal string of at most
    ``MAX_DECIMAL_DIGITS`` digits, or None."""
    if not isinstance(text, str) or DECIMAL_RE.fullmatch(text) is None:
        return 'must be a decimal string such as "12.5"'
    if decimal_digits(text) > MAX_DECIMAL_DIGITS:
        return f"must have at most {MAX_DECIMAL_DIGITS} digits (got {decimal_digits(text)})"
    return None


def decimal_of(text: Any) -> Decimal | None:
    """The Decimal a canonical decimal string stands for, or None."""
    return None if decimal_problem(text) else Decimal(text)


def format_score(score: Decimal) -> str:
    """A score as the decimal string the ledger shows and signs: two decimals."""
    return str(score.quantize(CENT, rounding=ROUND_HALF_EVEN))


def _decimals(method: Mapping[str, Any], names: Sequence[str]) -> str | None:
    for name in names:
        problem = decimal_problem(method[name]) if name in method else None
        if problem:
            return f"{name} {problem}"
    return None


def _score_list(scores: Any, length: int) -> str | None:
    if not isinstance(scores, list) or len(scores) != length:
        return f"scores must list {length} decimal strings (one per level)"
    for score in scores:
        value = decimal_of(score)
        if value is None or not 0 <= value <= HUNDRED:
            shown = quote(score) if isinstance(score, str) else type(score).__name__
            return f"scores must be decimal strings from 0 to 100, not {shown}"
    return None


def _thresholds_problem(method: Mapping[str, Any], value_kind: str) -> str | None:
    levels = method.get("levels")
    if levels is not None and (
        not isinstance(levels, list)
        or not all(isinstance(level, str) and level.strip() for level in levels)
        or len(set(levels)) != len(levels)
    ):
        return "levels must be a list of distinct non-empty names"
    if value_kind == "grade":
        if "cuts" in method or not levels:
            return "a grade KPI's thresholds name its grades in levels (no cuts)"
        return _score_list(method["scores"], len(levels))
    cuts = method.get("cuts")
    if not isinstance(cuts, list) or not cuts:
        return "thresholds need cuts: a list of ascending decimal strings"
    values = [decimal_of(cut) for cut in cuts]
    if any(value is None for value in values):
        return 'cuts must be decimal strings such as "12.5"'
    if any(b <= a for a, b in pairwise(values)):  # type: ignore[operator]
        return "cuts must be strictly ascending"
    if levels is not None and len(levels) != len(cuts) + 1:
        return f"levels must name {len(cuts) + 1} levels: one below each cut and one above"
    return _score_list(method["scores"], len(cuts) + 1)


def method_problem(method: Any, value_kind: str, direction: str) -> str | None:
    """Why ``method`` cannot score a KPI of ``value_kind`` and ``direction``, or None."""
    if not isinstance(method, dict) or not isinstance(method.get("method"), str):
        return "must be an object with a 'method' name"
    name = method["method"]
    if name not in _PARAMS:
        return f"has unknown method {name!r}; known methods: {', '.join(METHODS)}"
    required, optional = _PARAMS[name]
    given = set(method) - {"method"}
    if required - given:
        return f"{name} needs {', '.join(sorted(required - given))}"
    if given - required - optional:
        unknown = ", ".join(sorted(given - required - optional))
        return f"{name} takes no {unknown}"
    derived = name == "ratio" and ("numerator" in method or "denominator" in method)
    if not derived and value_kind not in _KINDS[name]:
        return f"{name} cannot score a {value_kind} value"
    if name == "thresholds":
        return _thresholds_problem(method, value_kind)
    if derived and not all(
        isinstance(method.get(k), str) and method[k] for k in ("numerator", "denominator")
    ):
        return "a derived ratio names both a numerator and a denominator KPI"
    problem = _decimals(method, ("best", "worst"))
    if problem or "best" not in method:
        return problem
    best, worst = Decimal(method["best"]), Decimal(method["worst"])
    if best == worst:
        return f"best and worst are both {method['best']}: the scale has no width"
    if direction == "higher_is_better" and best < worst:
        return "best must exceed worst for a higher_is_better KPI"
    if direction == "lower_is_better" and best > worst:
        return "best must be below worst for a lower_is_better KPI"
    return None


def method_inputs(method: Mapping[str, Any]) -> tuple[str, ...]:
    """Other KPIs a derived method reads (a derived ratio's two KPIs)."""
    if method.get("method") == "ratio" and "numerator" in method:
        return (str(method["numerator"]), str(method["denominator"]))
    return ()


@dataclass(frozen=True)
class Scored:
    """A KPI's score, or why it has none (``reason``), with its level if any."""

    score: Decimal | None
    reason: str | None = None
    level: str | None = None


def number_of(value_kind: str, value: Mapping[str, Any]) -> Decimal | None:
    """The number a recorded value stands for (a ratio's quotient, yes = 1)."""
    if value_kind in ("number", "percentage"):
        return Decimal(value["amount"])
    if value_kind == "ratio":
        denominator = Decimal(value["denominator"])
        return Decimal(value["numerator"]) / denominator if denominator else None
    if value_kind == "yes_no":
        return Decimal(1) if value["answer"] else Decimal(0)
    return None


def _linear(x: Decimal, best: Decimal, worst: Decimal) -> Decimal:
    share = (x - worst) / (best - worst) * HUNDRED
    return min(HUNDRED, max(Decimal(0), share))


def _thresholds(method: Mapping[str, Any], value_kind: str, value: Any) -> Scored:
    scores = [Decimal(s) for s in method["scores"]]
    levels: list[str] | None = method.get("levels")
    if value_kind == "grade":
        assert levels is not None
        grade = value["grade"]
        if grade not in levels:
            return Scored(None, f"grade {grade!r} is not one of {', '.join(levels)}")
        position = levels.index(grade)
    else:
        x = number_of(value_kind, value)
        if x is None:
            return Scored(None, "the ratio's denominator is zero")
        position = sum(1 for cut in method["cuts"] if x >= Decimal(cut))
    return Scored(scores[position], None, levels[position] if levels else None)


def score_value(
    method: Mapping[str, Any],
    value_kind: str,
    value: Mapping[str, Any],
    prior: Mapping[str, Any] | None = None,
) -> Scored:
    """Score one recorded value (``prior``: year T−1's value, for ``variation``).

    Derived ratios are scored with ``score_number`` on the quotient instead.
    """
    name = method["method"]
    if name == "thresholds":
        return _thresholds(method, value_kind, value)
    if name == "as_score":
        if value_kind == "text":
            return Scored(None, "a text value is scored only by a score revision")
        amount = Decimal(value["amount"])
        if not 0 <= amount <= HUNDRED:
            return Scored(None, f"value {value['amount']} is not a 0-100 score")
        return Scored(amount)
    x = number_of(value_kind, value)
    if x is None:
        return Scored(None, "the ratio's denominator is zero")
    if name == "variation":
        if prior is None:
            return Scored(None, "no value for year T-1 to compare with")
        before = number_of(value_kind, prior)
        if not before:
            return Scored(None, "the T-1 value is zero: the variation is undefined")
        x = (x - before) / abs(before) * HUNDRED
    return score_number(method, x)


def score_number(method: Mapping[str, Any], x: Decimal) -> Scored:
    """Place a number on the method's linear scale (ratio defaults: 1 best, 0 worst)."""
    best = Decimal(method.get("best", "1"))
    worst = Decimal(method.get("worst", "0"))
    return Scored(_linear(x, best, worst))


@dataclass(frozen=True)
class Part:
    """One child of an aggregate: its score (None if excluded, with the reason)."""

    code: str
    score: Decimal | None
    weight: Decimal
    reason: str | None = None


@dataclass(frozen=True)
class Aggregate:
    score: Decimal | None
    excluded: tuple[tuple[str, str], ...]  # (child code, reason), in child order
    reason: str | None = None


def aggregate(parts: Sequence[Part], how: str) -> Aggregate:
    """Weighted ``mean`` or ``min`` (weakest link) of the children that have a score.

    The exclusion rule (docs/scoring.md): a child without a score — missing,
    not used, not applicable, insufficient information, unscorable, or an
    aggregate of nothing — is left out and listed with its reason; the rest
    are aggregated as they stand (weights are not re-scaled into zeros). An
    aggregate with no scored child has no score itself. Children enter with
    their shown (two-decimal) scores, so anyone can redo the sum by hand.
    """
    excluded = tuple((p.code, p.reason or "no score") for p in parts if p.score is None)
    scored = [p for p in parts if p.score is not None and p.weight > 0]
    if not scored:
        return Aggregate(None, excluded, "none of its parts has a score")
    shown = [
        (Decimal(format_score(p.score)), p.weight) for p in scored if p.score is not None
    ]
    if how == "min":
        return Aggregate(min(s for s, _ in shown), excluded)
    total = sum((w for _, w in shown), Decimal(0))
    return Aggregate(sum((s * w for s, w in shown), Decimal(0)) / total, excluded)
