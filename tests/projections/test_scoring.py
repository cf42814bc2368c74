"""Scoring methods (``verify/scoring/methods.py``) and score tables
(``verify/scoring/scoreboard.py``).

The first half checks each method and the aggregation against numbers worked by
hand (docs/scoring.md), and against a naive reference written straight from the
docs with exact fractions. The second half feeds a ``Scoreboard`` real log
entries — statements signed with a fixed Ed25519 key, checked against the schema
and wrapped as entries exactly as the ledger stores them — and reads the tables
back: exclusions, score revisions, restatement by a T−1 correction, provenance,
KPI versions by reference year and the published table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from verify.formats.entry import Entry, entry_bytes, parse_entry
from verify.formats.schema import check_body, statement_type
from verify.formats.statement import key_id, public_key_bytes, sign
from verify.scoring.methods import (
    METHODS,
    Part,
    Scored,
    aggregate,
    format_score,
    method_inputs,
    method_problem,
    score_number,
    score_value,
)
from verify.scoring.scoreboard import Scoreboard
from verify.scoring.tables import ScoreRow, ScoreTable, table_difference

LINEAR = {"method": "linear", "best": "100", "worst": "0"}
HOURS = {"method": "linear", "best": "2", "worst": "72"}  # lower is better
MRA = {  # thresholds with named levels
    "method": "thresholds",
    "cuts": ["500", "1500", "3000"],
    "levels": ["emerging", "developing", "established", "advanced"],
    "scores": ["0", "40", "70", "100"],
}
GRADES = {
    "method": "thresholds",
    "levels": ["A", "B", "C", "D", "E"],
    "scores": ["100", "75", "50", "25", "0"],
}
VARIATION = {"method": "variation", "best": "20", "worst": "-20"}


def shown(scored: Scored) -> str | None:
    """A score as the tables show it (two decimals), or None."""
    return None if scored.score is None else format_score(scored.score)


# -- naive reference, written from docs/scoring.md with exact fractions ----------------


def two_decimals(q: Fraction) -> str:
    """``q`` (≥ 0) rounded half-even to two decimals, as a decimal string."""
    cents = q * 100
    whole = math.floor(cents)
    rest = cents - whole
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and whole % 2 == 1):
        whole += 1
    return f"{whole // 100}.{whole % 100:02d}"


def reference_linear(x: str | Fraction, best: str, worst: str) -> str:
    """0 at worst, 100 at best, a straight line between, clamped to 0..100."""
    share = (Fraction(x) - Fraction(worst)) / (Fraction(best) - Fraction(worst)) * 100
    return two_decimals(min(Fraction(100), max(Fraction(0), share)))


def reference_mean(children: list[tuple[str, str]]) -> str:
    """Weighted mean of (two-decimal score, weight) pairs, shown with two decimals."""
    total = sum((Fraction(w) for _, w in children), Fraction(0))
    weighted = sum((Fraction(s) * Fraction(w) for s, w in children), Fraction(0))
    return two_decimals(weighted / total)


def test_reference_rounding_is_half_even() -> None:
    assert [two_decimals(Fraction(x)) for x in ("2.345", "2.355", "2.3451", "0")] == [
        "2.34",
        "2.36",
        "2.35",
        "0.00",
    ]


# -- method_problem: what a definition may name ----------------------------------------


@pytest.mark.parametrize(
    ("method", "kind", "direction", "problem"),
    [
        (LINEAR, "number", "higher_is_better", None),
        (HOURS, "number", "lower_is_better", None),
        (MRA, "number", "higher_is_better", None),
        (GRADES, "grade", "higher_is_better", None),
        ({"method": "as_score"}, "text", "none", None),
        ({"method": "ratio"}, "ratio", "higher_is_better", None),
        (
            {"method": "ratio", "numerator": "K1", "denominator": "K2"},
            "ratio",
            "none",
            None,
        ),
        (VARIATION, "percentage", "higher_is_better", None),
        (
            {"method": "linear", "best": "0", "worst": "1"},
            "yes_no",
            "lower_is_better",
            None,
        ),
        (
            {"method": "linear", "best": "5", "worst": "5"},
            "number",
            "none",
            "best and worst are both 5: the scale has no width",
        ),
        (
            {"method": "ratio", "best": "0.5", "worst": "0.5"},
            "ratio",
            "none",
            "best and worst are both 0.5: the scale has no width",
        ),
        (
            {"method": "linear", "best": "0", "worst": "100"},
            "number",
            "higher_is_better",
            "best must exceed worst for a higher_is_better KPI",
        ),
        (
            {"method": "linear", "best": "100", "worst": "0"},
            "number",
            "lower_is_better",
            "best must be below worst for a lower_is_better KPI",
        ),
        (
            {"method": "variation", "best": "-20", "worst": "20"},
            "number",
            "higher_is_better",
            "best must exceed worst for a higher_is_better KPI",
        ),
        ({"method": "linear", "best": "1"}, "number", "none", "linear needs worst"),
        ({"method": "variation"}, "number", "none", "variation needs best, worst"),
        ({"method": "thresholds"}, "number", "none", "thresholds needs scores"),
        (
            {"method": "linear", "best": "1", "worst": "0", "step": "1"},
            "number",
            "none",
            "linear takes no step",
        ),
        ({"method": "as_score", "best": "1"}, "number", "none", "as_score takes no best"),
        (
            {"method": "linear", "best": 1, "worst": "0"},
            "number",
            "none",
            'best must be a decimal string such as "12.5"',
        ),
        (
            {"method": "linear", "best": "1e2", "worst": "0"},
            "number",
            "none",
            'best must be a decimal string such as "12.5"',
        ),
        (LINEAR, "grade", "none", "linear cannot score a grade value"),
        (LINEAR, "text", "none", "linear cannot score a text value"),
        ({"method": "as_score"}, "yes_no", "none", "as_score cannot score a yes_no value"),
        (
            {"method": "ratio", "numerator": "K1"},
            "ratio",
            "none",
            "a derived ratio names both a numerator and a denominator KPI",
        ),
        (
            {**MRA, "cuts": ["1500", "500", "3000"]},
            "number",
            "none",
            "cuts must be strictly ascending",
        ),
        (
            {**MRA, "cuts": ["500", "500", "3000"]},
            "number",
            "none",
            "cuts must be strictly ascending",
        ),
        (
            {"method": "thresholds", "scores": ["0", "100"]},
            "number",
            "none",
            "thresholds need cuts: a list of ascending decimal strings",
        ),
        (
            {**MRA, "scores": ["0", "40", "70"]},
            "number",
            "none",
            "scores must list 4 decimal strings (one per level)",
        ),
        (
            {**MRA, "scores": ["0", "40", "70", "100.5"]},
            "number",
            "none",
            "scores must be decimal strings from 0 to 100, not '100.5'",
        ),
        (
            {**MRA, "levels": ["low", "high"]},
            "number",
            "none",
            "levels must name 4 levels: one below each cut and one above",
        ),
        (
            {**GRADES, "cuts": ["1"]},
            "grade",
            "none",
            "a grade KPI's thresholds name its grades in levels (no cuts)",
        ),
        (
            {**GRADES, "levels": ["A", "A", "C", "D", "E"]},
            "grade",
            "none",
            "levels must be a list of distinct non-empty names",
        ),
        ("linear", "number", "none", "must be an object with a 'method' name"),
        ({"best": "1"}, "number", "none", "must be an object with a 'method' name"),
    ],
)
def test_method_problem(
    method: Any, kind: str, direction: str, problem: str | None
) -> None:
    assert method_problem(method, kind, direction) == problem


def test_unknown_method_lists_the_known_methods() -> None:
    problem = method_problem({"method": "z_score"}, "number", "none")
    assert problem == (
        "has unknown method 'z_score'; known methods: "
        "linear, thresholds, as_score, ratio, variation"
    )
    assert METHODS == ("linear", "thresholds", "as_score", "ratio", "variation")


@pytest.mark.parametrize("best", [".5", "1.", "01"])
def test_non_canonical_decimal_parameters_are_refused(best: str) -> None:
    method = {"method": "linear", "best": best, "worst": "0"}
    assert method_problem(method, "number", "none") is not None


def test_method_inputs_names_the_kpis_a_derived_ratio_reads() -> None:
    derived = {"method": "ratio", "numerator": "KPI-20", "denominator": "KPI-21"}
    assert method_inputs(derived) == ("KPI-20", "KPI-21")
    assert method_inputs({"method": "ratio", "best": "1", "worst": "0"}) == ()
    assert method_inputs(LINEAR) == ()
    assert method_inputs(GRADES) == ()


# -- format_score ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "text"),
    [
        ("85", "85.00"),
        ("85.004999", "85.00"),
        ("2.345", "2.34"),  # a tie goes to the even cent
        ("2.355", "2.36"),
        ("2.3451", "2.35"),
        ("66.665", "66.66"),
        ("66.675", "66.68"),
        ("0", "0.00"),
        ("100", "100.00"),
        ("0E+2", "0.00"),
    ],
)
def test_format_score_rounds_half_even_to_two_decimals(score: str, text: str) -> None:
    assert format_score(Decimal(score)) == text


# -- linear ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "score"),
    [
        ("100", "100.00"),
        ("61.8", "61.80"),
        ("0", "0.00"),
        ("-5", "0.00"),  # clamped at 0
        ("130", "100.00"),  # clamped at 100
        ("33.333", "33.33"),
        ("0.005", "0.00"),  # 0.005 → half-even → 0.00
        ("0.015", "0.02"),
    ],
)
def test_linear_higher_is_better(amount: str, score: str) -> None:
    assert shown(score_value(LINEAR, "percentage", {"amount": amount})) == score
    assert score == reference_linear(amount, "100", "0")


@pytest.mark.parametrize(
    ("amount", "score"),
    [
        ("2", "100.00"),
        ("1", "100.00"),  # better than best: clamped at 100
        ("72", "0.00"),
        ("240", "0.00"),  # worse than worst: clamped at 0
        ("12.5", "85.00"),  # (12.5 − 72) / (2 − 72) = 0.85
        ("37", "50.00"),
        ("10", "88.57"),  # 62/70 = 0.885714…
        ("3.0035", "98.57"),  # 98.5664…
    ],
)
def test_linear_lower_is_better_has_best_below_worst(amount: str, score: str) -> None:
    assert shown(score_value(HOURS, "number", {"amount": amount})) == score
    assert score == reference_linear(amount, "2", "72")


def test_linear_rounding_tie_goes_to_the_even_cent() -> None:
    # best 1000, worst 0: 0.12345 → 0.012345 %, 123.45 → 12.345 % exactly.
    method = {"method": "linear", "best": "1000", "worst": "0"}
    assert shown(score_value(method, "number", {"amount": "123.45"})) == "12.34"
    assert shown(score_value(method, "number", {"amount": "123.55"})) == "12.36"
    assert shown(score_value(method, "number", {"amount": "123.4501"})) == "12.35"


def test_linear_scores_a_ratio_value_by_its_quotient() -> None:
    method = {"method": "linear", "best": "1", "worst": "0"}
    value = {"numerator": "3", "denominator": "8"}
    assert shown(score_value(method, "ratio", value)) == "37.50"


def test_linear_is_exact_decimal_arithmetic() -> None:
    # In binary floats 0.1 + 0.2 != 0.3; here the value 0.3 is exactly 30.
    method = {"method": "linear", "best": "1", "worst": "0"}
    scored = score_value(method, "number", {"amount": "0.3"})
    assert scored.score == Decimal("30") and shown(scored) == "30.00"


@pytest.mark.parametrize(
    ("answer", "score"), [(True, "100.00"), (False, "0.00")], ids=["yes", "no"]
)
def test_yes_no_is_one_for_yes_and_zero_for_no(answer: bool, score: str) -> None:
    yes_best = {"method": "linear", "best": "1", "worst": "0"}
    no_best = {"method": "linear", "best": "0", "worst": "1"}
    assert shown(score_value(yes_best, "yes_no", {"answer": answer})) == score
    flipped = "0.00" if score == "100.00" else "100.00"
    assert shown(score_value(no_best, "yes_no", {"answer": answer})) == flipped
    cut = {"method": "thresholds", "cuts": ["1"], "scores": ["0", "100"]}
    assert shown(score_value(cut, "yes_no", {"answer": answer})) == score


# -- thresholds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "score", "level"),
    [
        ("-5", "0.00", "emerging"),  # below the first cut: the first level
        ("0", "0.00", "emerging"),
        ("499.99", "0.00", "emerging"),
        ("500", "40.00", "developing"),  # exactly on a cut: goes up
        ("1499", "40.00", "developing"),
        ("1500", "70.00", "established"),
        ("2999.999", "70.00", "established"),
        ("3000", "100.00", "advanced"),
        ("1000000", "100.00", "advanced"),
    ],
)
def test_thresholds_with_cuts(amount: str, score: str, level: str) -> None:
    scored = score_value(MRA, "number", {"amount": amount})
    assert (shown(scored), scored.level, scored.reason) == (score, level, None)


def test_thresholds_without_levels_give_no_level() -> None:
    method = {"method": "thresholds", "cuts": ["0.5"], "scores": ["20", "80"]}
    scored = score_value(method, "ratio", {"numerator": "1", "denominator": "2"})
    assert (shown(scored), scored.level) == ("80.00", None)
    zero = score_value(method, "ratio", {"numerator": "1", "denominator": "0"})
    assert (zero.score, zero.reason) == (None, "the ratio's denominator is zero")


@pytest.mark.parametrize(
    ("grade", "score"), [("A", "100.00"), ("B", "75.00"), ("C", "50.00"), ("E", "0.00")]
)
def test_thresholds_for_grades(grade: str, score: str) -> None:
    scored = score_value(GRADES, "grade", {"grade": grade})
    assert (shown(scored), scored.level) == (score, grade)


def test_an_unknown_grade_has_no_score_and_says_why() -> None:
    scored = score_value(GRADES, "grade", {"grade": "F"})
    assert scored.score is None and scored.level is None
    assert scored.reason == "grade 'F' is not one of A, B, C, D, E"


# -- as_score --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "amount", "score"),
    [
        ("number", "0", "0.00"),
        ("number", "55.555", "55.56"),
        ("percentage", "100", "100.00"),
        ("percentage", "62.125", "62.12"),
    ],
)
def test_as_score_in_range(kind: str, amount: str, score: str) -> None:
    assert shown(score_value({"method": "as_score"}, kind, {"amount": amount})) == score


@pytest.mark.parametrize("amount", ["-0.01", "100.01", "250"])
def test_as_score_out_of_range_is_excluded_with_the_reason(amount: str) -> None:
    scored = score_value({"method": "as_score"}, "number", {"amount": amount})
    assert scored == Scored(None, f"value {amount} is not a 0-100 score")


def test_as_score_of_text_is_only_by_a_score_revision() -> None:
    scored = score_value({"method": "as_score"}, "text", {"text": "A full programme"})
    assert scored == Scored(None, "a text value is scored only by a score revision")


# -- ratio -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "score"),
    [
        ("3", "4", "75.00"),
        ("0", "4", "0.00"),
        ("5", "4", "100.00"),  # above best: clamped
        ("1", "3", "33.33"),
        ("2", "3", "66.67"),
    ],
)
def test_ratio_of_the_kpis_own_value_defaults_best_1_worst_0(
    numerator: str, denominator: str, score: str
) -> None:
    value = {"numerator": numerator, "denominator": denominator}
    assert shown(score_value({"method": "ratio"}, "ratio", value)) == score


def test_ratio_with_its_own_scale() -> None:
    method = {"method": "ratio", "best": "0.2", "worst": "1"}  # lower is better
    value = {"numerator": "30", "denominator": "100"}
    assert shown(score_value(method, "ratio", value)) == "87.50"


def test_ratio_with_a_zero_denominator_has_no_score() -> None:
    value = {"numerator": "3", "denominator": "0"}
    assert score_value({"method": "ratio"}, "ratio", value) == Scored(
        None, "the ratio's denominator is zero"
    )


def test_derived_ratio_places_the_quotient_of_two_kpis_on_the_scale() -> None:
    derived = {"method": "ratio", "numerator": "K-NUM", "denominator": "K-DEN"}
    assert shown(score_number(derived, Decimal(30) / Decimal(40))) == "75.00"
    scaled = {**derived, "best": "2", "worst": "0"}
    assert shown(score_number(scaled, Decimal(3) / Decimal(2))) == "75.00"
    assert shown(score_number(scaled, Decimal(5))) == "100.00"


# -- variation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "now", "score"),
    [
        ("100", "110", "75.00"),  # +10 % on a −20..+20 scale
        ("100", "100", "50.00"),
        ("100", "80", "0.00"),  # −20 %
        ("100", "150", "100.00"),  # +50 %: clamped
        ("105", "110", "61.90"),  # +4.7619… %
        ("-100", "-90", "75.00"),  # percent change is over |T−1|
    ],
)
def test_variation_is_the_percent_change_from_t_minus_1(
    before: str, now: str, score: str
) -> None:
    scored = score_value(VARIATION, "number", {"amount": now}, {"amount": before})
    assert shown(scored) == score
    change = (Fraction(now) - Fraction(before)) / abs(Fraction(before)) * 100
    assert score == reference_linear(change, "20", "-20")


def test_variation_of_ratios() -> None:
    before, now = (
        {"numerator": "1", "denominator": "2"},
        {"numerator": "3", "denominator": "5"},
    )
    assert shown(score_value(VARIATION, "ratio", now, before)) == "100.00"  # +20 %


def test_variation_without_t_minus_1_is_excluded_with_the_reason() -> None:
    scored = score_value(VARIATION, "number", {"amount": "110"})
    assert scored == Scored(None, "no value for year T-1 to compare with")


def test_variation_from_zero_is_undefined() -> None:
    scored = score_value(VARIATION, "number", {"amount": "110"}, {"amount": "0"})
    assert scored == Scored(None, "the T-1 value is zero: the variation is undefined")


# -- aggregate -------------------------------------------------------------------------


def part(
    code: str, score: str | None, weight: str = "1", reason: str | None = None
) -> Part:
    return Part(code, None if score is None else Decimal(score), Decimal(weight), reason)


def test_mean_is_weighted() -> None:
    result = aggregate([part("A", "50"), part("B", "70", "3")], "mean")
    assert result.score is not None and format_score(result.score) == "65.00"
    assert result.excluded == () and result.reason is None
    assert reference_mean([("50.00", "1"), ("70.00", "3")]) == "65.00"


def test_children_enter_with_their_two_decimal_scores() -> None:
    # Unrounded, (33.333 + 66.666) / 2 = 49.9995 → 50.00 either way; here the
    # rounding of the children decides: 10.005 → 10.00 and 10.015 → 10.02.
    result = aggregate([part("A", "10.005"), part("B", "10.015")], "mean")
    assert result.score == Decimal("10.01")
    result = aggregate([part("A", "10.004"), part("B", "10.004"), part("C", "0")], "mean")
    assert result.score is not None and format_score(result.score) == "6.67"
    assert reference_mean([("10.00", "1"), ("10.00", "1"), ("0.00", "1")]) == "6.67"


def test_min_is_the_weakest_link() -> None:
    result = aggregate(
        [part("A", "90"), part("B", "35.554"), part("C", None, reason="missing")], "min"
    )
    assert result.score == Decimal("35.55")
    assert result.excluded == (("C", "missing"),)


def test_exclusions_are_reported_with_reasons_in_child_order() -> None:
    parts = [
        part("K4", None, reason="not_used"),
        part("K1", "40"),
        part("K3", None, reason="missing"),
        part("K2", None, reason="no value for year T-1 to compare with"),
        part("K0", "80", "3"),
        part("K5", None),
    ]
    result = aggregate(parts, "mean")
    assert result.score == Decimal("70")  # (40 + 3·80) / 4: weights are not re-scaled
    assert result.excluded == (
        ("K4", "not_used"),
        ("K3", "missing"),
        ("K2", "no value for year T-1 to compare with"),
        ("K5", "no score"),
    )


@pytest.mark.parametrize("how", ["mean", "min"])
def test_nothing_to_aggregate(how: str) -> None:
    assert aggregate([], how).score is None
    result = aggregate([part("A", None, reason="not_applicable")], how)
    assert result.score is None
    assert result.reason == "none of its parts has a score"
    assert result.excluded == (("A", "not_applicable"),)


def test_a_zero_score_is_a_score_not_an_exclusion() -> None:
    result = aggregate([part("A", "0"), part("B", "100")], "mean")
    assert result.score == Decimal(50) and result.excluded == ()
    assert aggregate([part("A", "0"), part("B", "100")], "min").score == Decimal(0)


# -- properties ------------------------------------------------------------------------

amounts = st.decimals(
    min_value=-100000, max_value=100000, places=3, allow_nan=False, allow_infinity=False
)


@settings(max_examples=300, deadline=None)
@given(best=amounts, worst=amounts, x=amounts, y=amounts)
def test_linear_scores_stay_in_range_and_are_monotonic(
    best: Decimal, worst: Decimal, x: Decimal, y: Decimal
) -> None:
    assume(best != worst)
    method = {"method": "linear", "best": format(best, "f"), "worst": format(worst, "f")}
    low, high = sorted((x, y))
    s_low = score_value(method, "number", {"amount": format(low, "f")}).score
    s_high = score_value(method, "number", {"amount": format(high, "f")}).score
    assert s_low is not None and s_high is not None
    assert 0 <= s_low <= 100 and 0 <= s_high <= 100
    assert (s_low <= s_high) if best > worst else (s_low >= s_high)
    assert format_score(s_low) == reference_linear(
        format(low, "f"), method["best"], method["worst"]
    )


scores = st.decimals(min_value=0, max_value=100, places=3)
weights = st.decimals(min_value=Decimal("0.1"), max_value=10, places=1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(scores, weights), min_size=1, max_size=8))
def test_mean_agrees_with_the_reference(children: list[tuple[Decimal, Decimal]]) -> None:
    parts = [Part(f"K{i}", s, w) for i, (s, w) in enumerate(children)]
    result = aggregate(parts, "mean")
    assert result.score is not None
    expected = reference_mean([(format_score(s), str(w)) for s, w in children])
    assert format_score(result.score) == expected
    least = aggregate(parts, "min").score
    assert least is not None and format_score(least) == min(
        (format_score(s) for s, _ in children), key=Decimal
    )


# -- the scoreboard, fed real log entries ----------------------------------------------

SIGNER = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEY_ID = key_id(public_key_bytes(SIGNER.public_key()))
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UNITS = {
    "number": "hours",
    "percentage": "percent",
    "ratio": "ratio",
    "yes_no": "yes_no",
    "grade": "grade",
    "text": "text",
}


def kpi(
    code: str,
    kind: str = "number",
    method: Mapping[str, Any] = LINEAR,
    *,
    outcome: str = "O1",
    applies_from: int = 2015,
    disclosure: str = "public",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "applies_from": applies_from,
        "code": code,
        "direction": "none",
        "disclosure": disclosure,
        "name": f"KPI {code}",
        "outcome": outcome,
        "scoring_method": dict(method),
        "unit": UNITS[kind],
        "value_kind": kind,
        **extra,
    }


class Log:
    """A log of signed entries, fed to a Scoreboard as they are appended."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.versions: dict[str, int] = {}
        self.units: dict[str, str] = {}
        self.board = Scoreboard()

    def add(self, stream: str, kind: str, body: dict[str, Any]) -> int:
        """Sign, check and append one statement; its log index."""
        version = self.versions.get(stream, 0)
        index = len(self.entries)
        statement = {
            "body": body,
            "expected_version": version,
            "format": "pmm-statement/v1",
            "issued_at": "2026-03-02T09:00:00.000000Z",
            "key_id": KEY_ID,
            "nonce": f"nonce-{index:016d}",
            "origin": "test.pmm.example/ledger",
            "principal": "wco-sec",
            "stream": stream,
            "type": kind,
        }
        raw = entry_bytes(
            sign(statement, SIGNER), version + 1, START + timedelta(seconds=index)
        )
        entry = parse_entry(raw)
        self.entries.append(entry)
        self.versions[stream] = version + 1
        self.board.apply(index, entry)
        return index

    def framework(
        self,
        *kpis: dict[str, Any],
        outcomes: tuple[dict[str, Any], ...] = ({"code": "O1", "dimension": "D1"},),
        dimensions: tuple[dict[str, Any], ...] = ({"code": "D1"},),
        overall: str = "mean",
    ) -> dict[str, int]:
        """Record a framework; the log index of each definition, by code."""
        created = {"title": "PMM test framework"}
        if overall != "mean":
            created["aggregation"] = overall
        where = {"framework": self.add("framework", "framework.created", created)}
        for body in dimensions:
            body = {"name": f"Dimension {body['code']}", **body}
            where[body["code"]] = self.add("framework", "dimension.defined", body)
        for body in outcomes:
            body = {"name": f"Outcome {body['code']}", **body}
            where[body["code"]] = self.add("framework", "outcome.defined", body)
        for body in kpis:
            self.units[body["code"]] = body["unit"]
            where[body["code"]] = self.add("framework", "kpi.defined", body)
        return where

    def open(self, member: str = "KEN", cycle: str = "1", year: int = 2022) -> str:
        stream = f"assessment/{member}/{cycle}"
        body = {"cycle": cycle, "member": member, "reference_year": year}
        self.add(stream, "assessment.opened", body)
        return stream

    def value(
        self,
        stream: str,
        code: str,
        value: dict[str, Any] | None,
        *,
        year: int = 2022,
        status: str = "value",
        disclosure: str = "public",
        corrects: int | None = None,
    ) -> int:
        """A value.submitted (or a value.corrected of log entry ``corrects``)."""
        body: dict[str, Any] = {
            "disclosure": disclosure,
            "evidence": [],
            "kpi": code,
            "reference_year": year,
            "status": status,
            "unit": self.units[code],
            "value": value,
        }
        if corrects is None:
            return self.add(stream, "value.submitted", body)
        body |= {
            "kind": "correction",
            "reason": "the first figure counted transit twice",
            "supersedes": self.entries[corrects].stream_version,
        }
        return self.add(stream, "value.corrected", body)

    def amount(self, stream: str, code: str, amount: str, **options: Any) -> int:
        return self.value(stream, code, {"amount": amount}, **options)

    def revise(self, stream: str, code: str, score: str, year: int = 2022) -> int:
        body = {
            "justification": "peer review found the method misapplied",
            "kpi": code,
            "reference_year": year,
            "score": score,
        }
        return self.add(stream, "score.revised", body)

    def table(self, stream: str, year: int | None = None) -> ScoreTable:
        return self.board.table(stream, year)

    def row(self, stream: str, code: str, year: int | None = None) -> ScoreRow:
        return next(r for r in self.table(stream, year).rows if r.code == code)

    def replay(self, size: int) -> Scoreboard:
        """A fresh board fed the first ``size`` entries (the log as of then)."""
        board = Scoreboard()
        board.apply_all(enumerate(self.entries[:size]))
        return board


def test_a_scored_table_with_weights_min_and_provenance() -> None:
    log = Log()
    where = log.framework(
        kpi("K1", "percentage", weight="3"),
        kpi("K2", "number", HOURS, direction="lower_is_better"),
        kpi("K3", "grade", GRADES, outcome="O2"),
        kpi("K4", "yes_no", {"method": "linear", "best": "1", "worst": "0"}, outcome="O2"),
        outcomes=(
            {"code": "O1", "dimension": "D1"},
            {"code": "O2", "dimension": "D2", "aggregation": "min"},
        ),
        dimensions=({"code": "D1", "weight": "2"}, {"code": "D2"}),
    )
    ken = log.open()
    v1 = log.amount(ken, "K1", "80")
    v2 = log.amount(ken, "K2", "12.5")
    v3 = log.value(ken, "K3", {"grade": "B"})
    v4 = log.value(ken, "K4", {"answer": True})
    rows = {r.code: r for r in log.table(ken).rows}
    assert [(r.level, r.code, r.score) for r in log.table(ken).rows] == [
        ("kpi", "K1", "80.00"),
        ("kpi", "K2", "85.00"),
        ("kpi", "K3", "75.00"),
        ("kpi", "K4", "100.00"),
        ("outcome", "O1", "81.25"),  # (3·80 + 85) / 4
        ("outcome", "O2", "75.00"),  # min(75, 100)
        ("dimension", "D1", "81.25"),
        ("dimension", "D2", "75.00"),
        ("overall", "overall", "79.17"),  # (2·81.25 + 75) / 3 = 79.1666…
    ]
    assert rows["K3"].grade == "B" and rows["K1"].grade is None
    assert reference_mean([("81.25", "2"), ("75.00", "1")]) == "79.17"
    # Provenance: the definition (with its version) and the value, as log indexes.
    assert rows["K1"].method_version == f"v1 (entry {where['K1']})"
    assert rows["K1"].method == "linear" and rows["K3"].method == "thresholds"
    assert rows["K1"].sources == (where["K1"], v1)
    assert rows["K4"].sources == (where["K4"], v4)
    assert rows["O1"].sources == tuple(sorted({where["K1"], v1, where["K2"], v2}))
    assert rows["O2"].sources == tuple(sorted({where["K3"], v3, where["K4"], v4}))
    assert rows["O2"].method == "min" and rows["overall"].method == "mean"
    assert rows["overall"].sources == tuple(
        sorted({where[k] for k in ("K1", "K2", "K3", "K4")} | {v1, v2, v3, v4})
    )
    for row in rows.values():
        assert row.status == "scored" and row.excluded == ()
        assert row.sources and all(0 <= i < len(log.entries) for i in row.sources)
        assert (row.method_version is not None) == (row.level == "kpi")


def test_the_overall_aggregation_is_the_frameworks() -> None:
    log = Log()
    log.framework(
        kpi("K1"),
        kpi("K2", outcome="O2"),
        outcomes=({"code": "O1", "dimension": "D1"}, {"code": "O2", "dimension": "D2"}),
        dimensions=({"code": "D1"}, {"code": "D2"}),
        overall="min",
    )
    ken = log.open()
    log.amount(ken, "K1", "30")
    log.amount(ken, "K2", "90")
    assert log.row(ken, "overall").score == "30.00"
    assert log.row(ken, "overall").method == "min"


def test_not_used_not_applicable_and_missing_are_excluded_and_reported() -> None:
    log = Log()
    log.framework(*(kpi(code) for code in ("K1", "K2", "K3", "K4", "K5", "K6")))
    ken = log.open()
    log.amount(ken, "K1", "50")
    zero = log.amount(ken, "K2", "0")  # a value of 0 is a score of 0, not an exclusion
    unused = log.add(
        ken, "kpi.not_used", {"justification": "no national data", "kpi": "K3"}
    )
    na = log.value(ken, "K4", None, status="not_applicable")
    log.value(ken, "K5", None, status="insufficient_information")
    rows = {r.code: r for r in log.table(ken).rows}
    assert [
        (c, rows[c].score, rows[c].status) for c in ("K1", "K2", "K3", "K4", "K5", "K6")
    ] == [
        ("K1", "50.00", "scored"),
        ("K2", "0.00", "scored"),
        ("K3", None, "not_used"),
        ("K4", None, "not_applicable"),
        ("K5", None, "insufficient_information"),
        ("K6", None, "missing"),
    ]
    assert rows["O1"].score == "25.00"
    assert rows["O1"].excluded == (
        ("K3", "not_used"),
        ("K4", "not_applicable"),
        ("K5", "insufficient_information"),
        ("K6", "missing"),
    )
    assert unused in rows["K3"].sources and na in rows["K4"].sources
    assert zero in rows["K2"].sources
    assert rows["D1"].excluded == () and rows["overall"].score == "25.00"


def test_nothing_to_aggregate_has_no_score_up_the_tree() -> None:
    log = Log()
    log.framework(
        kpi("K1"),
        kpi("K2", outcome="O2"),
        outcomes=({"code": "O1", "dimension": "D1"}, {"code": "O2", "dimension": "D2"}),
        dimensions=({"code": "D1"}, {"code": "D2"}),
    )
    ken = log.open()
    rows = {r.code: r for r in log.table(ken).rows}
    assert (rows["O1"].score, rows["O1"].status) == (None, "nothing to aggregate")
    assert rows["O1"].excluded == (("K1", "missing"),)
    assert rows["D1"].excluded == (("O1", "nothing to aggregate"),)
    assert rows["overall"].score is None
    assert rows["overall"].excluded == (
        ("D1", "nothing to aggregate"),
        ("D2", "nothing to aggregate"),
    )
    log.amount(ken, "K2", "64.125")
    rows = {r.code: r for r in log.table(ken).rows}
    assert (rows["O2"].score, rows["D2"].score, rows["overall"].score) == (
        "64.12",
        "64.12",
        "64.12",
    )
    assert rows["overall"].excluded == (("D1", "nothing to aggregate"),)


def test_unscorable_values_are_excluded_with_their_reason() -> None:
    log = Log()
    log.framework(
        kpi("K1"),
        kpi("K2", "grade", GRADES),
        kpi("K3", "text", {"method": "as_score"}),
        kpi("K4", "number", {"method": "as_score"}),
    )
    ken = log.open()
    log.amount(ken, "K1", "20")
    log.value(ken, "K2", {"grade": "F"})
    log.value(ken, "K3", {"text": "A trader compliance programme since 2019."})
    log.amount(ken, "K4", "140")
    assert log.row(ken, "O1").excluded == (
        ("K2", "grade 'F' is not one of A, B, C, D, E"),
        ("K3", "a text value is scored only by a score revision"),
        ("K4", "value 140 is not a 0-100 score"),
    )
    assert log.row(ken, "O1").score == "20.00"
    revised = log.revise(ken, "K3", "80")
    row = log.row(ken, "K3")
    assert (row.score, row.status) == ("80.00", "revised") and revised in row.sources
    assert log.row(ken, "O1").score == "50.00"


def test_a_score_revision_holds_until_a_later_correction() -> None:
    log = Log()
    log.framework(kpi("K1"), kpi("K2"))
    ken = log.open()
    first = log.amount(ken, "K1", "40")
    assert (log.row(ken, "K1").score, log.row(ken, "K1").status) == ("40.00", "scored")
    revision = log.revise(ken, "K1", "90")
    row = log.row(ken, "K1")
    assert (row.score, row.status) == ("90.00", "revised")
    assert first in row.sources and revision in row.sources
    assert log.row(ken, "O1").score == "90.00"
    correction = log.amount(ken, "K1", "50", corrects=first)
    row = log.row(ken, "K1")
    assert (row.score, row.status) == ("50.00", "scored")
    assert correction in row.sources and revision not in row.sources
    # A revision recorded after the correction wins again.
    log.revise(ken, "K1", "55.555")
    assert (log.row(ken, "K1").score, log.row(ken, "K1").status) == ("55.56", "revised")
    # A KPI with no value at all can be scored by revision too.
    log.revise(ken, "K2", "10")
    assert (log.row(ken, "K2").score, log.row(ken, "K2").status) == ("10.00", "revised")


def test_a_later_correction_to_not_applicable_beats_a_score_revision() -> None:
    log = Log()
    log.framework(kpi("K1"))
    ken = log.open()
    first = log.amount(ken, "K1", "40")
    log.revise(ken, "K1", "90")
    log.value(ken, "K1", None, status="not_applicable", corrects=first)
    row = log.row(ken, "K1")
    assert (row.score, row.status) == (None, "not_applicable")


def test_a_later_correction_of_a_derived_input_beats_a_score_revision() -> None:
    log = Log()
    derived = {"method": "ratio", "numerator": "K-NUM", "denominator": "K-DEN"}
    log.framework(kpi("K-NUM"), kpi("K-DEN"), kpi("K-RAT", "ratio", derived))
    ken = log.open()
    log.amount(ken, "K-NUM", "30")
    den = log.amount(ken, "K-DEN", "40")
    log.revise(ken, "K-RAT", "10")
    log.amount(ken, "K-DEN", "60", corrects=den)
    row = log.row(ken, "K-RAT")
    assert (row.score, row.status) == ("50.00", "scored")


def test_a_derived_ratio_reads_two_other_kpis() -> None:
    log = Log()
    derived = {"method": "ratio", "numerator": "K-NUM", "denominator": "K-DEN"}
    where = log.framework(
        kpi("K-DEN", disclosure="wco"),
        kpi("K-NUM"),
        kpi("K-RAT", "ratio", derived),
    )
    ken = log.open()
    row = log.row(ken, "K-RAT")
    assert (row.score, row.status) == (None, "K-NUM has no value for 2022")
    num = log.amount(ken, "K-NUM", "30")
    den = log.amount(ken, "K-DEN", "0", disclosure="restricted")
    row = log.row(ken, "K-RAT")
    assert (row.score, row.status) == (None, "K-DEN is zero: the ratio is undefined")
    den = log.amount(ken, "K-DEN", "40", corrects=den, disclosure="restricted")
    row = log.row(ken, "K-RAT")
    assert (row.score, row.status, row.method) == ("75.00", "scored", "ratio")
    assert row.sources == tuple(sorted((where["K-RAT"], num, den)))
    assert row.disclosure == "restricted"  # the most restrictive of its inputs


def test_disclosure_of_a_score_is_the_most_restrictive_of_its_inputs() -> None:
    log = Log()
    log.framework(kpi("K1"), kpi("K2"), kpi("K3"))
    ken = log.open()
    log.amount(ken, "K1", "10")
    second = log.amount(ken, "K2", "20", disclosure="wco")
    third = log.value(ken, "K3", None, status="not_applicable", disclosure="restricted")
    rows = {r.code: r for r in log.table(ken).rows}
    assert (rows["K1"].disclosure, rows["K2"].disclosure) == ("public", "wco")
    # A status travels at its value's level: K3's row, and every aggregate
    # above it, which names K3 as excluded "not_applicable" (decision 26).
    assert rows["K3"].disclosure == "restricted"
    assert rows["O1"].excluded == (("K3", "not_applicable"),)
    assert rows["O1"].disclosure == rows["D1"].disclosure == "restricted"
    assert rows["overall"].disclosure == "restricted"
    log.amount(ken, "K3", "5", corrects=third)  # a value now, and public
    rows = {r.code: r for r in log.table(ken).rows}
    assert rows["K3"].disclosure == "public"
    assert rows["O1"].disclosure == rows["overall"].disclosure == "wco"
    log.add(
        ken,
        "disclosure.set",
        {"disclosure": "restricted", "entry": log.entries[second].stream_version},
    )
    rows = {r.code: r for r in log.table(ken).rows}
    assert rows["K2"].disclosure == rows["O1"].disclosure == "restricted"
    assert rows["overall"].disclosure == "restricted"


def test_variation_needs_t_minus_1() -> None:
    log = Log()
    log.framework(kpi("K-VAR", "number", VARIATION), kpi("K1"))
    ken = log.open(year=2023)
    log.amount(ken, "K-VAR", "110", year=2023)
    log.amount(ken, "K1", "40", year=2023)
    row = log.row(ken, "K-VAR")
    assert (row.score, row.status) == (None, "no value for year T-1 to compare with")
    log.amount(ken, "K-VAR", "0", year=2022)
    assert log.row(ken, "O1").excluded == (
        ("K-VAR", "the T-1 value is zero: the variation is undefined"),
    )
    assert log.row(ken, "O1").score == "40.00"


def test_a_correction_of_t_minus_1_restates_year_t() -> None:
    log = Log()
    where = log.framework(kpi("K-VAR", "number", VARIATION), kpi("K1"))
    ken = log.open(year=2023)
    before = log.amount(ken, "K-VAR", "100", year=2022)
    now = log.amount(ken, "K-VAR", "110", year=2023)
    log.amount(ken, "K1", "40", year=2023)
    row = log.row(ken, "K-VAR")
    assert (row.score, row.restated_by) == ("75.00", None)
    assert row.sources == (where["K-VAR"], before, now)
    published_at = len(log.entries)
    correction = log.amount(ken, "K-VAR", "105", year=2022, corrects=before)
    row = log.row(ken, "K-VAR")
    assert (row.score, row.status, row.restated_by) == ("61.90", "scored", correction)
    assert row.sources == (where["K-VAR"], now, correction)
    assert log.row(ken, "O1").score == "50.95"  # (61.90 + 40) / 2
    # As published then: the log up to the publication's cut gives the old table.
    then = log.replay(published_at).table(ken)
    assert next(r for r in then.rows if r.code == "K-VAR").score == "75.00"
    assert then.published()["outcomes"] == {"O1": "57.50"}


def test_a_kpi_revision_applies_from_its_reference_year() -> None:
    log = Log()
    where = log.framework(kpi("K1"), kpi("K2"))
    ken_2022 = log.open(cycle="1", year=2022)
    ken_2023 = log.open(cycle="2", year=2023)
    log.amount(ken_2022, "K1", "40", year=2022)
    log.amount(ken_2023, "K1", "40", year=2023)
    before_2022 = log.table(ken_2022)
    before_2023 = log.table(ken_2023)
    assert log.row(ken_2023, "K1").score == "40.00"
    revised_body = kpi(
        "K1",
        method={"method": "linear", "best": "50", "worst": "0"},
        applies_from=2023,
        reason="the frontier moved: 50 is now the best observed",
    )
    revision = log.add("framework", "kpi.revised", revised_body)
    assert log.table(ken_2022) == before_2022
    row = log.row(ken_2023, "K1")
    assert (row.score, row.method_version) == ("80.00", f"v2 (entry {revision})")
    assert revision in row.sources and where["K1"] not in row.sources
    assert log.table(ken_2023) != before_2023
    # Year 2022 is still scored by, and names, version 1.
    old = log.row(ken_2022, "K1")
    assert (old.score, old.method_version) == ("40.00", f"v1 (entry {where['K1']})")
    # Either table can be asked for another reference year explicitly.
    assert log.table(ken_2023, 2022).reference_year == 2022


def test_a_kpi_defined_from_a_later_year_is_not_in_earlier_tables() -> None:
    log = Log()
    log.framework(kpi("K1"), kpi("K-NEW", applies_from=2024))
    ken = log.open(year=2022)
    log.amount(ken, "K1", "40")
    codes = [r.code for r in log.table(ken).rows]
    assert "K-NEW" not in codes and "K-NEW" not in log.table(ken).published()["kpis"]
    assert "K-NEW" in [r.code for r in log.table(ken, 2024).rows]


def test_published_table_shape() -> None:
    log = Log()
    log.framework(
        kpi("KPI-01", outcome="D1.EO1"),
        kpi("KPI-29", "text", {"method": "as_score"}, outcome="D1.EO1"),
        outcomes=({"code": "D1.EO1", "dimension": "D1"},),
        dimensions=({"code": "D1"},),
    )
    ken = log.open()
    log.amount(ken, "KPI-01", "61.8")
    table = log.table(ken)
    assert table.stream == ken and (table.member, table.cycle) == ("KEN", "1")
    published = table.published()
    assert published == {
        "dimensions": {"D1": "61.80"},
        "format": "pmm-scores/v1",
        "kpis": {"KPI-01": "61.80", "KPI-29": None},
        "outcomes": {"D1.EO1": "61.80"},
        "overall": "61.80",
        "reference_year": 2022,
    }
    # What an assessment.published body may carry, by the schema's own check.
    body = {"cut_at": len(log.entries), "scores": published, "title": "PMM report"}
    check_body(statement_type("assessment.published"), body)
    assert table_difference(published, table.published()) is None
    changed = {**published, "kpis": {"KPI-01": "61.81", "KPI-29": None}}
    assert table_difference(changed, published) == (
        "kpis.KPI-01 is 61.81, the replay gives 61.80"
    )
    assert table_difference({**published, "overall": None}, published) == (
        "overall is None, the replay gives 61.80"
    )


def test_replaying_the_log_gives_the_same_tables() -> None:
    log = Log()
    log.framework(kpi("K1"), kpi("K-VAR", "number", VARIATION))
    ken = log.open()
    first = log.amount(ken, "K1", "40")
    log.amount(ken, "K-VAR", "100", year=2021)
    log.amount(ken, "K-VAR", "90")
    log.revise(ken, "K1", "70")
    log.amount(ken, "K1", "45", corrects=first)
    sizes = range(1, len(log.entries) + 1)
    tables = [log.replay(n) for n in sizes]
    assert log.replay(len(log.entries)).table(ken) == log.table(ken)
    overall = [
        board.table(ken).published()["overall"]
        for board in tables
        if ken in board.assessments
    ]
    assert overall == [None, "40.00", "40.00", "32.50", "47.50", "35.00"]
    # Entries of other streams are ignored; unknown assessments are ignored.
    board = Scoreboard()
    board.apply_all((i, e) for i, e in enumerate(log.entries) if e.stream != ken)
    assert board.assessments == {}
