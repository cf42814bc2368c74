"""The statistical red flags: values far from the Member's own history or from
its peers, and amounts whose leading digits do not follow Benford's law
(docs/flags.md). They read each value as it stands at the record time (the
current value of every assessment, KPI and reference year).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

import pandas as pd

from projections.flag_facts import Act, Facts, amount
from projections.flag_rules import Raised, Rule, raised
from projections.flag_stats import benford as benford_test
from projections.flag_stats import robust_z
from projections.flag_thresholds import Thresholds


def _numbers(facts: Facts) -> list[tuple[Act, Decimal]]:
    return [(act, n) for act in facts.current_values() if (n := amount(act)) is not None]


def jump_history(facts: Facts, t: Thresholds) -> Iterable[Raised]:
    """Year T at least ``factor`` times year T−1 (or at most 1/``factor`` of it)."""
    factor = t.get("jump_history", "factor")
    by_kpi: dict[tuple[str, str | None], dict[int | None, tuple[Act, Decimal]]] = (
        defaultdict(dict)
    )
    for act, number in _numbers(facts):
        by_kpi[(act.stream, act.kpi)][act.year] = (act, number)
    for years in by_kpi.values():
        for year, (act, number) in sorted(years.items(), key=lambda y: y[0] or 0):
            before = years.get(year - 1) if year is not None else None
            if before is None:
                continue
            old_act, old = before
            if old <= 0 or number <= 0:  # no ratio: a zero or negative base
                continue
            ratio = number / old
            if ratio < factor and ratio > 1 / factor:
                continue
            yield raised(
                "jump_history",
                "low",
                (old_act, act),
                f"{act.member} {act.kpi}: {old} in {old_act.year} (entry {old_act.index}) "
                f"to {number} in {year} (entry {act.index}), ×{ratio:.3g}; at least "
                f"×{factor} or ÷{factor} from the Member's own previous year",
                (act.principal, old_act.principal),
            )


def peer_outlier(facts: Facts, t: Thresholds) -> Iterable[Raised]:
    """A value whose robust z-score among the cycle's values of the same KPI and
    year (one per Member) exceeds ``z``."""
    limit = float(t.get("peer_outlier", "z"))
    peers = int(t.get("peer_outlier", "min_peers"))
    rows = [
        {"cycle": a.cycle, "kpi": a.kpi, "year": a.year, "act": a, "number": float(n)}
        for a, n in _numbers(facts)
        if a.cycle is not None
    ]
    if not rows:
        return
    frame = pd.DataFrame(rows)
    for _, group in frame.groupby(["cycle", "kpi", "year"], sort=True):
        if len(group) < peers:
            continue
        scores = robust_z(group["number"])
        median = group["number"].median()
        for act, number, z in zip(group["act"], group["number"], scores, strict=True):
            if pd.isna(z) or abs(z) <= limit:
                continue
            yield raised(
                "peer_outlier",
                "low",
                (act,),
                f"{act.member} {act.kpi} {act.year}: {number:g} against a median of "
                f"{median:g} among {len(group)} Members (robust z {z:+.2f}, beyond "
                f"±{limit:g})",
                (act.principal,),
            )


def benford(facts: Facts, t: Thresholds) -> Iterable[Raised]:
    """One Member's amounts (not percentages or ratios) in one assessment whose
    leading digits depart from Benford's law, when there are enough of them."""
    least = int(t.get("benford", "min_values"))
    critical = float(t.get("benford", "chi2_critical"))
    mad_limit = float(t.get("benford", "mad_nonconformity"))
    by_stream: dict[str, list[tuple[Act, Decimal]]] = defaultdict(list)
    for act, number in _numbers(facts):
        plain = "amount" in act.body["value"] and act.body.get("unit") != "percent"
        if act.cycle is not None and plain and number > 0:
            by_stream[act.stream].append((act, number))
    for stream, values in sorted(by_stream.items()):
        if len(values) < least:
            continue
        test = benford_test(n for _, n in values)
        if test.chi2 <= critical or test.mad <= mad_limit:
            continue
        acts = [a for a, _ in values]
        yield raised(
            "benford",
            "low",
            acts,
            f"{acts[0].member} ({stream}): leading digits of {test.count} amounts depart "
            f"from Benford's law (chi-square {test.chi2:.1f} > {critical:g}, MAD "
            f"{test.mad:.4f} > {mad_limit:g})",
            sorted({a.principal for a in acts}),
        )


STATISTICAL: tuple[Rule, ...] = (jump_history, peer_outlier, benford)
