"""``pmm demo``: a realistic first PMM cycle, recorded through signed statements.

Everything goes through the same use cases a real deployment uses: every
principal signs with its own key, and every refusal shown is a real one. The
scenario: the 4 dimensions, 23 expected outcomes and 51 KPIs of
``api.demo_data``; the Secretariat, 20 Members' NCPs, a peer reviewer and an
integrity officer; values for reference years T-1 and T, KPIs declared not
used, corrections with reasons, validations, a query answered by a
correction, a value recorded from an external source and validated by another
principal, a revised score, the red flags' thresholds, a value changed by the
Secretariat after validation just before publication (planted for ``pmm
flags`` to find), a publication, then a reopening and a revision.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from api import demo_data
from api.demo_flags import handle_flags, plant_late_change, record_thresholds
from api.demo_kit import ADMINS, ORIGIN, Demo
from api.demo_steps import (
    corrections_and_review,
    external_value,
    framework,
    integrity,
    principals,
    publish_and_revise,
    submissions,
)
from api.demo_trust import officer_reads, recover_a_key
from ledger.application import Ledger
from ledger.home import init_ledger, resolve_key
from ledger.persistence import Settings
from projections.log_reader import LogReader
from verify.formats.entry import parse_entry

STEPS = (
    "principals",
    "framework",
    "submissions",
    "external source",
    "review",
    "integrity",
    "publication",
    "access and recovery",
)


def run_demo(
    settings: Settings, seed: int = 2022, step: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Build the demo ledger in ``settings.home``; return a summary.

    ``step`` is called before each of ``STEPS`` (a progress bar hooks in here).
    """
    rng = random.Random(seed)
    ledger = init_ledger(settings, ORIGIN, admins=len(ADMINS), threshold=2)
    try:
        demo = Demo(ledger, keys={a: resolve_key(settings, a) for a in ADMINS})
        step(STEPS[0])
        principals(demo, settings)
        step(STEPS[1])
        framework(demo)
        step(STEPS[2])
        entries = submissions(demo, rng)
        step(STEPS[3])
        external = external_value(demo, rng)
        step(STEPS[4])
        corrections_and_review(demo, entries, rng)
        step(STEPS[5])
        integrity(demo, external, entries)
        record_thresholds(demo)
        step(STEPS[6])
        plant_late_change(demo, entries)
        publish_and_revise(demo, entries, rng)
        step(STEPS[7])
        officer_reads(demo)
        handle_flags(demo)
        recover_a_key(demo, settings)
        return {
            "home": str(settings.home),
            "backend": settings.backend,
            "origin": ledger.origin,
            "log_size": ledger.log_size(),
            "principals": len(demo.keys),
            "members": len(demo_data.MEMBERS),
            "dimensions": len(demo_data.DIMENSIONS),
            "expected_outcomes": len(demo_data.OUTCOMES),
            "kpis": len(demo_data.KPIS),
            "entries": _entry_types(ledger),
            "refused": demo.refused,
        }
    finally:
        ledger.close()


def _entry_types(ledger: Ledger) -> dict[str, int]:
    """How many entries of each type the log holds (the ledger's own seals too)."""
    log = LogReader.of(ledger)
    found = Counter(parse_entry(raw).entry_type for _, raw in log.entries(0, log.size()))
    return dict(sorted(found.items()))
