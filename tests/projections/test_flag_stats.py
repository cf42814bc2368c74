"""The red flags' statistics and time windows, without a ledger (docs/flags.md).

The pandas statistics are checked against naive pure-Python versions written
here from their textbook definitions; the rules whose thresholds are times
(bursts, deadlines, late changes) get facts with chosen record times, a
planted positive and a near miss each.
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.flag_defaults import PACKAGED_FILE, load_thresholds, packaged
from projections.errors import ThresholdsFileError
from projections.flag_facts import Act, Facts
from projections.flag_outliers import benford
from projections.flag_rules import key_recovered, late_change, same_party
from projections.flag_stats import benford as benford_test
from projections.flag_stats import first_digit, robust_z
from projections.flag_thresholds import PARAMETERS, from_body
from projections.flag_timing import burst, deadline

START = datetime(2023, 12, 1, tzinfo=UTC)


# -- naive references ---------------------------------------------------------


def naive_robust_z(xs: list[float]) -> list[float]:
    median = statistics.median(xs)
    mad = statistics.median([abs(x - median) for x in xs])
    if mad == 0:
        return [math.nan for _ in xs]
    return [0.6745 * (x - median) / mad for x in xs]


def naive_first_digit(number: Decimal) -> int:
    text = str(abs(number)).replace(".", "").lstrip("0")
    return int(text[0])


def naive_benford(numbers: list[Decimal]) -> tuple[int, float, float]:
    digits = [naive_first_digit(n) for n in numbers if n != 0]
    total = len(digits)
    chi2, deviations = 0.0, []
    for d in range(1, 10):
        expected_share = math.log10(1 + 1 / d)
        observed = digits.count(d)
        chi2 += (observed - total * expected_share) ** 2 / (total * expected_share)
        deviations.append(abs(observed / total - expected_share))
    return total, chi2, sum(deviations) / 9


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1e9"), places=3)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, min_size=1, max_size=60))
def test_robust_z_matches_the_naive_definition(xs: list[float]) -> None:
    found = robust_z(pd.Series(xs)).tolist()
    for got, want in zip(found, naive_robust_z(xs), strict=True):
        if math.isnan(want):
            assert math.isnan(got)
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(positive, min_size=1, max_size=300))
def test_benford_matches_the_naive_definition(numbers: list[Decimal]) -> None:
    test = benford_test(numbers)
    total, chi2, mad = naive_benford(numbers)
    assert test.count == total
    assert test.chi2 == pytest.approx(chi2, rel=1e-9)
    assert test.mad == pytest.approx(mad, rel=1e-9, abs=1e-12)
    assert sum(test.observed) == total


@given(positive)
def test_first_digit_matches_the_naive_one(number: Decimal) -> None:
    assert first_digit(number) == naive_first_digit(number)
    assert first_digit(Decimal(0)) is None


def test_a_benford_sample_conforms_and_a_uniform_one_does_not() -> None:
    # 2^k has leading digits that follow Benford's law closely; 100..999 do not.
    conforming = benford_test(Decimal(2**k) for k in range(1, 400))
    assert conforming.chi2 < 26.125 and conforming.mad < 0.015
    uniform = benford_test(Decimal(n) for n in range(100, 1000))
    assert uniform.chi2 > 26.125 and uniform.mad > 0.015


# -- rules over chosen record times ---------------------------------------------


def act(index: int, kind: str, minutes: float, **body: Any) -> Act:
    principal = body.pop("by", "ncp-ken")
    version = body.pop("version", index)
    stream = body.pop("stream", "assessment/KEN/1")
    at = START + timedelta(minutes=minutes)
    return Act(index, at, stream, version, kind, principal, body)


def facts_of(*acts: Act) -> Facts:
    facts = Facts(max(a.index for a in acts) + 1)
    facts.roles.update({"ncp-ken": ("ncp", "KEN"), "sec": ("secretariat", None)})
    for a in acts:
        facts.by_kind[a.kind].append(a)
        facts.at_version[(a.stream, a.version)] = a
    return facts


def correction(index: int, minutes: float, by: str = "ncp-ken") -> Act:
    return act(index, "value.corrected", minutes, by=by, kpi="TF.1.1", reference_year=2022)


def test_a_burst_is_five_corrections_within_a_day() -> None:
    day = 24 * 60
    five = facts_of(*(correction(i, i * day / 5) for i in range(5)))  # 4/5 of a day
    [found] = burst(five, packaged())
    assert found.entries == (0, 1, 2, 3, 4) and found.principals == ("ncp-ken",)
    spread = facts_of(*(correction(i, i * day / 3.9) for i in range(5)))  # > a day
    assert list(burst(spread, packaged())) == []
    four = facts_of(*(correction(i, i) for i in range(4)))
    assert list(burst(four, packaged())) == []
    # Two principals' corrections never make one burst.
    mixed = facts_of(
        *(correction(i, i, by="sec" if i % 2 else "ncp-ken") for i in range(8))
    )
    assert list(burst(mixed, packaged())) == []


def test_overlapping_burst_windows_are_one_flag() -> None:
    seven = facts_of(*(correction(i, i * 60) for i in range(7)))
    [found] = burst(seven, packaged())
    assert found.entries == tuple(range(7))


def test_deadline_takes_the_corrections_of_the_last_three_days() -> None:
    days = 24 * 60
    facts = facts_of(
        correction(0, 0),  # 3 days and a minute before publication: too early
        correction(1, 1),  # exactly 3 days before: in
        act(2, "assessment.published", 3 * days + 1, by="sec", cut_at=2),
    )
    [found] = deadline(facts, packaged())
    assert found.entries == (1, 2) and found.severity == "low"


def test_a_late_change_is_within_fourteen_days_of_publication() -> None:
    days = 24 * 60
    validated = act(1, "value.validated", 0, by="sec", entry=99)
    change = correction(2, 1, by="sec")
    published = act(3, "assessment.published", 14 * days + 1, by="sec", cut_at=3)
    [found] = late_change(facts_of(validated, change, published), packaged())
    assert found.severity == "high" and found.entries == (1, 2, 3)
    later = act(3, "assessment.published", 14 * days + 2, by="sec", cut_at=3)
    assert list(late_change(facts_of(validated, change, later), packaged())) == []
    # A change before the review began is not a late change.
    early = correction(0, -1, by="sec")
    assert list(late_change(facts_of(early, validated, published), packaged())) == []


def amounts(count: int, digits: str) -> list[Act]:
    """``count`` current values of distinct KPIs with amounts whose leading
    digits cycle through ``digits``."""
    found = []
    for i in range(count):
        value = {"amount": f"{digits[i % len(digits)]}{i % 7}.5"}
        body = {"kpi": f"K{i}", "reference_year": 2022, "status": "value"}
        found.append(act(i, "value.submitted", i, unit="count", value=value, **body))
    return found


def test_benford_needs_enough_values_and_a_departure() -> None:
    # Only 8s and 9s: as far from Benford as leading digits get.
    [found] = benford(facts_of(*amounts(100, "89")), packaged())
    assert found.member == "KEN" and len(found.entries) == 100
    assert list(benford(facts_of(*amounts(99, "89")), packaged())) == []
    spread = "1" * 30 + "2" * 18 + "3" * 12 + "4" * 10 + "5" * 8 + "6" * 7 + "7" * 6
    conforming = spread + "8" * 5 + "9" * 4
    assert list(benford(facts_of(*amounts(100, conforming)), packaged())) == []


# -- the thresholds file ---------------------------------------------------------


def test_the_packaged_file_gives_every_rule_its_thresholds() -> None:
    thresholds, reason = load_thresholds(PACKAGED_FILE)
    assert thresholds.version == 1 and reason
    assert {r: set(p) for r, p in thresholds.values.items()} == {
        r: set(p) for r, p in PARAMETERS.items()
    }
    assert thresholds.label == "thresholds: packaged v1, not recorded in the ledger"
    text = PACKAGED_FILE.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(text):  # every threshold says why, just above it
        if "=" in line and not line.startswith(("#", "version", "reason")):
            assert text[n - 1].startswith("#"), line


def test_a_thresholds_file_with_problems_names_each(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    text = PACKAGED_FILE.read_text(encoding="utf-8")
    path.write_text(
        text.replace('factor = "10"', "factor = 10.5").replace("version = 1", "version = 0")
        + '\n[nonsense]\nx = "1"\n'
    )
    with pytest.raises(ThresholdsFileError) as caught:
        load_thresholds(path)
    message = str(caught.value)
    for phrase in ["jump_history.factor", "version must be", "nonsense is not a rule"]:
        assert phrase in message


def test_a_partial_recorded_set_takes_the_rest_from_the_packaged_file() -> None:
    body = {"version": 2, "thresholds": {"burst": {"count": "3"}}, "reason": "r"}
    found = from_body(body, 7, packaged())
    assert found.get("burst", "count") == 3
    assert found.get("burst", "window_hours") == packaged().get("burst", "window_hours")
    assert found.label.startswith("thresholds: v2, recorded at log index 7 (packaged v1")
    assert "burst.window_hours" in found.label and "burst.count" not in found.label


# -- what the ledger refuses, should it ever appear in a log ------------------------


def test_a_rotation_not_signed_by_the_principal_is_high() -> None:
    own = act(0, "principal.key_rotated", 0, by="ncp-ken", principal="ncp-ken",
              stream="registry")  # fmt: skip
    foreign = act(1, "principal.key_rotated", 1, by="admin", principal="ncp-ken",
                  stream="registry")  # fmt: skip
    [found] = key_recovered(facts_of(own, foreign), packaged())
    assert found.entries == (1,) and found.severity == "high"
    assert found.principals == ("ncp-ken", "admin")


def test_a_value_validated_by_its_own_submitter_is_high() -> None:
    value = act(0, "value.submitted", 0, by="sec", version=5, kpi="TF.1.1",
                reference_year=2022)  # fmt: skip
    check = act(1, "value.validated", 1, by="sec", entry=5)
    [found] = same_party(facts_of(value, check), packaged())
    assert found.severity == "high" and "its own submitter" in found.summary
    other = act(1, "value.validated", 1, by="ncp-ken", entry=5)
    assert list(same_party(facts_of(value, other), packaged())) == []
