"""The red-flag rules about when corrections come: in bursts, or just before a
deadline (docs/flags.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from projections.flag_facts import Act, Facts
from projections.flag_rules import Raised, Rule, delay, raised
from projections.flag_thresholds import Thresholds


def burst(facts: Facts, t: Thresholds) -> Iterable[Raised]:
    """``count`` or more corrections by one principal within ``window_hours``."""
    count = int(t.get("burst", "count"))
    window = timedelta(hours=float(t.get("burst", "window_hours")))
    by_principal: dict[str, list[Act]] = defaultdict(list)
    for act in facts.of("value.corrected"):
        by_principal[act.principal].append(act)
    for principal, acts in sorted(by_principal.items()):
        clusters: list[list[Act]] = []
        for i in range(len(acts) - count + 1):
            if acts[i + count - 1].at - acts[i].at > window:
                continue
            run = acts[i : i + count]
            if clusters and clusters[-1][-1].index >= run[0].index:
                clusters[-1] += [a for a in run if a.index > clusters[-1][-1].index]
            else:
                clusters.append(run)
        for run in clusters:
            span = run[-1].at - run[0].at
            yield raised(
                "burst",
                "medium",
                run,
                f"{principal}: {len(run)} corrections in {delay(span)} (entries "
                f"{run[0].index} to {run[-1].index}), at least {count} within "
                f"{delay(window)}",
                (principal,),
            )


def deadline(facts: Facts, t: Thresholds) -> Iterable[Raised]:
    """Corrections in the last ``days`` before their assessment's publication (the
    log names no other deadline), one finding per publication."""
    days = timedelta(days=float(t.get("deadline", "days")))
    pending: dict[str, list[Act]] = defaultdict(list)
    for act in facts.of("assessment.published", "value.corrected"):
        if act.kind == "value.corrected":
            pending[act.stream].append(act)
            continue
        late = [c for c in pending.pop(act.stream, []) if act.at - c.at <= days]
        if late:
            who = sorted({c.principal for c in late})
            yield raised(
                "deadline",
                "low",
                (*late, act),
                f"{act.member}: {len(late)} correction(s) by {', '.join(who)} in the "
                f"last {delay(days)} before publication (entry {act.index})",
                who,
            )


TIMING: tuple[Rule, ...] = (burst, deadline)
