"""The statistics behind the red flags, with pandas (docs/flags.md).

* ``robust_z``: Iglewicz and Hoaglin's modified z-score, ``0.6745 (x − median)
  / MAD`` with MAD the median absolute deviation from the median; robust
  because one wild value moves neither the median nor the MAD. Undefined (NaN)
  when the MAD is 0 (more than half the values equal).
* ``benford``: the first-digit (leading significant digit) test of Benford's
  law, ``P(d) = log10(1 + 1/d)``: the chi-square statistic over the nine
  digits, and Nigrini's mean absolute deviation of the observed proportions.

The tests check both against naive pure-Python versions
(``tests/projections/test_flag_stats.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

# Makes the MAD of a normal sample estimate its standard deviation (1 / 1.4826).
MAD_SCALE = 0.6745
DIGITS = tuple(range(1, 10))
BENFORD = {d: math.log10(1 + 1 / d) for d in DIGITS}


def robust_z(values: pd.Series) -> pd.Series:
    """The modified z-score of each value against the series' median and MAD."""
    numbers = values.astype(float)
    median = numbers.median()
    mad = (numbers - median).abs().median()
    if not mad or math.isnan(mad):
        return pd.Series(math.nan, index=values.index)
    return MAD_SCALE * (numbers - median) / mad


def first_digit(number: Decimal) -> int | None:
    """The leading significant digit of a non-zero number (None for 0)."""
    if not number.is_finite() or number == 0:
        return None
    digits = number.as_tuple().digits
    return next((d for d in digits if d != 0), None)


@dataclass(frozen=True)
class BenfordTest:
    count: int  # values with a leading digit (non-zero)
    chi2: float
    mad: float
    observed: tuple[int, ...]  # counts of digits 1 to 9


def benford(numbers: Iterable[Decimal]) -> BenfordTest:
    """The first-digit test of ``numbers`` (zeros are left out)."""
    digits = pd.Series([first_digit(n) for n in numbers], dtype="object").dropna()
    counts = digits.astype(int).value_counts().reindex(DIGITS, fill_value=0)
    total = int(counts.sum())
    if total == 0:
        return BenfordTest(0, 0.0, 0.0, tuple(0 for _ in DIGITS))
    expected = pd.Series(BENFORD) * total
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    mad = float((counts / total - pd.Series(BENFORD)).abs().mean())
    return BenfordTest(total, chi2, mad, tuple(int(c) for c in counts))
