"""The scores benchmark's ledger: N signed entries through the real ledger.

``Ledger.record_batch`` (1,000 a batch): genesis; the Secretariat and one NCP per
Member registered; the demo framework (``api/frameworks/pmm-demo.toml``, 4
dimensions, 23 outcomes, 51 KPIs of every value kind and scoring method) applied
with ``apply_framework``; then, cycle after cycle (biennial reference years 2022,
2024, ...), every Member's assessment opened by the Secretariat, every NCP's 51
values for T-1, then for T (``api.demo_kit.sample_value``), then 5
``value.corrected`` per assessment: 108 entries per assessment; at 10^6, 186
Members x 50 cycles, the last cycle cut off where the log reaches N.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter
from typing import Any

from api.cli.framework import apply_framework
from api.demo_data import FRAMEWORK_FILE, KPIS, Kpi
from api.demo_kit import sample_value, value_body
from benchmarks.common import progress, register_principals
from intake.framework_file import load_framework
from ledger.home import init_ledger, resolve_key
from ledger.keys import KeyPair
from ledger.persistence import Settings
from verify.formats.statement import SignedStatement

ORIGIN = "bench.pmm.example/ledger"
RECORD_BATCH = 1000  # statements per Ledger.record_batch while building
MEMBERS = 186  # about the WCO's membership
CORRECTIONS = 5  # value.corrected per assessment
FIRST_YEAR = 2022  # cycle 1's reference year; cycles are biennial
LAST_YEAR = 2200  # the schema's last reference year
FRAMEWORK_ENTRIES = 1 + len(load_framework(FRAMEWORK_FILE).definitions)


@dataclass(frozen=True)
class Shape:
    """How N entries are spread: Members x cycles, one assessment stream each."""

    size: int
    members: int
    cycles: int
    kpis: int

    @property
    def per_stream(self) -> int:
        return 1 + 2 * self.kpis + CORRECTIONS  # opened, T-1 and T values, corrections

    @property
    def setup(self) -> int:
        # genesis, the Secretariat and one NCP per Member, the framework
        return 1 + 1 + self.members + FRAMEWORK_ENTRIES


def shape_for(size: int) -> Shape:
    """Up to ``MEMBERS`` Members, as many cycles as N entries need (the last may
    be partial); more Members only if the cycles would run past ``LAST_YEAR``."""
    kpis, max_cycles = len(KPIS), (LAST_YEAR - FIRST_YEAR) // 2 + 1
    members = MEMBERS
    while True:
        shape = Shape(size, members, 1, kpis)
        streams = max(1, math.ceil((size - shape.setup) / shape.per_stream))
        if streams < members:  # a small ledger: one cycle, fewer Members
            members -= 1
            continue
        if math.ceil(streams / members) > max_cycles:
            members = math.ceil(streams / max_cycles)
            continue
        break
    if members > 26**3:
        raise SystemExit(f"--size {size} needs more Members than 3-letter codes")
    return Shape(size, members, math.ceil(streams / members), kpis)


def member_code(index: int) -> str:
    letters = string.ascii_uppercase
    return letters[index // 676 % 26] + letters[index // 26 % 26] + letters[index % 26]


def reference_year(cycle: int) -> int:
    return FIRST_YEAR + 2 * (cycle - 1)


@dataclass(frozen=True)
class Planned:
    """One statement to sign: who, where, what, and the version it expects."""

    who: str
    stream: str
    kind: str
    body: dict[str, Any]
    expected_version: int


def workload(shape: Shape, rng: random.Random) -> Iterator[Planned]:
    """Assessment statements in recording order, cycle after cycle.

    In each cycle the Secretariat opens every Member's assessment; then every
    NCP submits its T-1 values, then every NCP its T values, then a few
    corrections each, so an assessment's entries are spread over the cycle.
    """
    versions: dict[str, int] = {}
    members = [member_code(i) for i in range(shape.members)]

    def planned(who: str, stream: str, kind: str, body: dict[str, Any]) -> Planned:
        version = versions.get(stream, 0)
        versions[stream] = version + 1
        return Planned(who, stream, kind, body, version)

    for cycle in range(1, shape.cycles + 1):
        year = reference_year(cycle)
        streams = {m: f"assessment/{m}/{cycle}" for m in members}
        for member in members:
            body = {"member": member, "cycle": str(cycle), "reference_year": year}
            yield planned("secretariat", streams[member], "assessment.opened", body)
        values: dict[str, list[tuple[Kpi, int, int]]] = {m: [] for m in members}
        for value_year in (year - 1, year):
            for member in members:
                for kpi in KPIS:
                    body = value_body(kpi, value_year, sample_value(kpi, rng), member)
                    item = planned(member, streams[member], "value.submitted", body)
                    values[member].append((kpi, value_year, item.expected_version + 1))
                    yield item
        for member in members:
            for kpi, value_year, entry in rng.sample(values[member], CORRECTIONS):
                body = value_body(kpi, value_year, sample_value(kpi, rng), member)
                body |= {
                    "supersedes": entry,
                    "kind": rng.choice(("correction", "revision")),
                    "reason": "Figure restated after the national statistics office's "
                    "annual revision.",
                }
                yield planned(member, streams[member], "value.corrected", body)


# -- stores and the cached ledger ----------------------------------------------------


@dataclass
class Built:
    """What ``built.json`` records about a cached ledger."""

    size: int
    backend: str
    database_url: str | None
    members: int
    cycles: int
    streams: int
    seed: int
    build_seconds: float
    started: str
    finished: str


def by_stream(statements: list[SignedStatement]) -> list[SignedStatement]:
    """The batch with each stream's statements together (streams in order of first
    appearance, each stream's own order kept).

    ``Ledger._record_all`` gives each statement its ``recorded_at`` in batch
    order but stores the events aggregate by aggregate, so a batch that
    interleaves streams would put a later ``recorded_at`` before an earlier one
    in the log (which the verifier rejects, and which breaks ``size_at``).
    """
    groups: dict[str, list[SignedStatement]] = {}
    for statement in statements:
        groups.setdefault(statement.stream, []).append(statement)
    return [statement for group in groups.values() for statement in group]


def build_ledger(settings: Settings, shape: Shape, seed: int) -> Built:
    """N entries through ``Ledger.record_batch``, every statement signed."""
    started = datetime.now().astimezone()
    start = perf_counter()
    ledger = init_ledger(settings, ORIGIN, admins=1, threshold=1)
    try:
        admin = resolve_key(settings, "admin")
        keys = {"secretariat": KeyPair.generate("secretariat")}
        keys |= {
            code: KeyPair.generate(f"ncp.{code.lower()}")
            for code in (member_code(i) for i in range(shape.members))
        }
        principals: list[tuple[KeyPair, str, str, str | None]] = [
            (key, "WCO Secretariat", "secretariat", None)
            if who == "secretariat"
            else (key, f"NCP {who}", "ncp", who)
            for who, key in keys.items()
        ]
        register_principals(ledger, admin, principals, RECORD_BATCH)
        apply_framework(ledger, keys["secretariat"], load_framework(FRAMEWORK_FILE))
        size = ledger.log_size()
        if size != shape.setup:
            raise RuntimeError(f"setup made {size} entries, expected {shape.setup}")
        rng = random.Random(seed)
        pending: list[SignedStatement] = []
        last_report = perf_counter()
        for item in workload(shape, rng):
            if size + len(pending) >= shape.size:
                break
            key = keys[item.who]
            pending.append(
                key.sign(
                    key.statement(
                        ORIGIN, item.stream, item.kind, item.body, item.expected_version
                    )
                )
            )
            if len(pending) == RECORD_BATCH:
                size += len(ledger.record_batch(by_stream(pending)))
                pending = []
                if perf_counter() - last_report > 30:
                    last_report = perf_counter()
                    rate = (size - shape.setup) / (last_report - start)
                    progress(
                        f"  built {size:,} / {shape.size:,} entries ({rate:,.0f}/s, "
                        f"about {(shape.size - size) / rate / 60:.1f} min left)"
                    )
        if pending:
            size += len(ledger.record_batch(by_stream(pending)))
        if ledger.log_size() != shape.size:
            raise RuntimeError(f"built {ledger.log_size()} entries, expected {shape.size}")
        elapsed = perf_counter() - start
        store = ledger.sequencer.store
        streams = len(store.opened("assessment/"))
    finally:
        ledger.close()
    return Built(
        size=shape.size,
        backend=settings.backend,
        database_url=settings.database_url,
        members=shape.members,
        cycles=shape.cycles,
        streams=streams,
        seed=seed,
        build_seconds=round(elapsed, 1),
        started=started.isoformat(timespec="seconds"),
        finished=datetime.now().astimezone().isoformat(timespec="seconds"),
    )
