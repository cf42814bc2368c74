"""How values, changes and scoring methods read on a page (Jinja2 filters).

Everything returned here is plain text: the templates escape it (autoescape),
so a Member's free text, a reason or an evidence name can never become markup.
Numbers stay the decimal strings they travel as (docs/design.md §1); nothing is
turned into a binary float on the way to the page.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

STATUS_WORDS = {
    "value": "value",
    "not_applicable": "not applicable",
    "insufficient_information": "insufficient information",
}


def value_text(value: Any) -> str:
    """A submitted value as its kind shows it: ``12``, ``3 / 4``, ``yes``, ``B``."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        if "amount" in value:
            return str(value["amount"])
        if "numerator" in value and "denominator" in value:
            return f"{value['numerator']} / {value['denominator']}"
        if "answer" in value:
            return "yes" if value["answer"] else "no"
        if "grade" in value:
            return str(value["grade"])
        if "text" in value:
            return str(value["text"])
    return plain(value)


def change_text(value: Any) -> str:
    """The ``old`` or ``new`` side of a change (``projections/changes.py``)."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        if set(value) == {"status", "value"}:
            status = str(value["status"])
            if status == "value":
                return value_text(value["value"])
            return STATUS_WORDS.get(status, status)
        if set(value) == {"disclosure", "entry"}:
            return f"disclosure {value['disclosure']} (of entry {value['entry']})"
        if "code" in value and "name" in value:  # a definition
            return f"{value['code']}: {value['name']}" + (
                f" — {method_text(value['scoring_method'])}"
                if isinstance(value.get("scoring_method"), dict)
                else ""
            )
    return plain(value)


def plain(value: Any) -> str:
    """Anything else, compactly: ``key: value; …`` or the text itself."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {plain(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    return json.dumps(value)


def method_text(method: dict[str, Any]) -> str:
    """A scoring method in words: ``linear (best 100, worst 0)``, thresholds by level."""
    name = str(method.get("method", "?"))
    levels, scores = method.get("levels"), method.get("scores")
    if name == "thresholds" and isinstance(levels, list) and isinstance(scores, list):
        cuts = method.get("cuts")
        parts = []
        for i, (level, score) in enumerate(zip(levels, scores, strict=False)):
            if isinstance(cuts, list) and cuts:
                where = f"below {cuts[0]}" if i == 0 else f"from {cuts[i - 1]}"
                parts.append(f"{level} ({where}) → {score}")
            else:
                parts.append(f"{level} → {score}")
        return f"thresholds: {'; '.join(parts)}"
    rest = {k: v for k, v in method.items() if k != "method"}
    return f"{name} ({plain(rest)})" if rest else name


def short(digest: Any, keep: int = 12) -> str:
    """The start of a long hex digest, for a table cell (the full one in a title)."""
    text = str(digest)
    return text if len(text) <= keep + 1 else f"{text[:keep]}…"


def words(identifier: Any) -> str:
    """``value.corrected`` → ``value corrected``; ``not_used`` → ``not used``."""
    return str(identifier).replace("_", " ").replace(".", " ")


def number(value: Any) -> Decimal | None:
    """A value's number, where it has one: an amount, a ratio's quotient, a
    score's decimal string. Yes/no, grades and text have none."""
    if isinstance(value, dict):
        if "amount" in value:
            return number(value["amount"])
        if "numerator" in value and "denominator" in value:
            top, bottom = number(value["numerator"]), number(value["denominator"])
            return top / bottom if top is not None and bottom else None
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            found = Decimal(value)
        except InvalidOperation:
            return None
        return found if found.is_finite() else None
    return None


TREND_WORDS = {"better": "▲ better", "worse": "▼ worse", "same": "= same"}


def trend(old: Any, new: Any, direction: str) -> str:
    """``better``, ``worse``, ``same`` or ``changed`` (no direction, or no number
    on one side) for a move from ``old`` to ``new``; ``""`` if nothing was there
    before. ``direction`` is the KPI's (``higher_is_better``...); a score is
    always higher-is-better, so a drop in score is never called better."""
    if old is None:
        return ""
    before, after = number(old), number(new)
    if before is None or after is None:
        return "changed"
    if before == after:
        return "same"
    if direction not in ("higher_is_better", "lower_is_better"):
        return "changed"
    up = after > before
    return "better" if up == (direction == "higher_is_better") else "worse"


def trend_text(kind: str) -> str:
    return TREND_WORDS.get(kind, "changed" if kind else "")


FILTERS = {
    "value_text": value_text,
    "change_text": change_text,
    "plain": plain,
    "method_text": method_text,
    "short": short,
    "words": words,
    "trend_text": trend_text,
}
