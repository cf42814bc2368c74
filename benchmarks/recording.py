"""Recording throughput: ``Ledger.record`` / ``Ledger.record_batch`` against plain
``eventsourcing``.

For each backend and mode (one statement per transaction; a 50-value submission
per transaction) N signed ``value.submitted`` statements are recorded from their
wire bytes, and in the same run N equivalent unsigned events (the same body
dicts) are saved by a plain ``eventsourcing`` application on the ledger's own
environment (``persistence_env``: same persistence module, database, text ids
and aggregate cache). Signing is the client's work and is done before the clock
starts; parsing, admission (principal, key, signature, role, clock), domain rules,
entry bytes and the write are timed. Every measured store is new. Target: the
batch ratio at least 0.7.
"""

from __future__ import annotations

import hashlib
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from benchmarks.baseline_eventsourcing import measure_plain
from benchmarks.common import (
    Options,
    PeakMemory,
    Ratio,
    Section,
    backends,
    fresh_store,
    key_sample,
    progress,
    raw_rate,
    register_principals,
)
from ledger.application import Ledger
from ledger.home import init_ledger, resolve_key
from ledger.keys import KeyPair
from ledger.persistence import Settings
from verify.formats.statement import signing_input

NAME = "recording"
DEFAULT_SIZE, QUICK_SIZE = 2000, 300
ORIGIN = "bench.pmm.example/ledger"
BATCH = 50
TARGET = 0.7
SINGLE, BATCHED = "single", f"batch-{BATCH}"
KPI_CODES = tuple(f"BENCH.K{i:02d}" for i in range(BATCH))
CYCLES = (2022, 2023, 2024, 2025)


@dataclass(frozen=True)
class StreamPlan:
    """One assessment stream and the value bodies submitted to it."""

    stream: str
    member: str
    year: int
    bodies: list[dict[str, Any]]


def _member(index: int) -> str:
    letters = string.ascii_uppercase
    return letters[index // 676 % 26] + letters[index // 26 % 26] + letters[index % 26]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def plan_workload(n: int) -> list[StreamPlan]:
    """N value bodies over streams of at most 50 (one per KPI); each stream its own
    Member and cycle (AAA, AAB, ... over four cycles each)."""
    plans = []
    for index in range((n + BATCH - 1) // BATCH):
        member, year = _member(index // len(CYCLES)), CYCLES[index % len(CYCLES)]
        stream = f"assessment/{member}/{year}"
        source = {"name": f"WCO survey export {year}.csv", "sha256": _digest(str(year))}
        bodies = [
            {
                "kpi": KPI_CODES[k],
                "reference_year": year,
                "status": "value",
                "value": {"amount": f"{(index * BATCH + k) % 997}.{k % 10}5"},
                "unit": "hours",
                "evidence": [_digest(f"evidence {stream} {k}")],
                "disclosure": "public",
                "source": source,  # a Secretariat import: one key writes every stream
            }
            for k in range(min(BATCH, n - index * BATCH))
        ]
        plans.append(StreamPlan(stream, member, year, bodies))
    return plans


def _kpi(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "outcome": "D1.O1",
        "name": f"Average release time {code}",
        "unit": "hours",
        "value_kind": "number",
        "direction": "lower_is_better",
        "disclosure": "public",
        "scoring_method": {"method": "linear", "best": "1", "worst": "240"},
        "applies_from": CYCLES[0],
    }


def prepare_ledger(settings: Settings, plans: list[StreamPlan]) -> tuple[Ledger, KeyPair]:
    """Genesis, a Secretariat and an NCP for KEN, a 50-KPI framework, the streams."""
    ledger = init_ledger(settings, ORIGIN, admins=1, threshold=1)
    secretariat, ncp = KeyPair.generate("secretariat"), KeyPair.generate("ncp.ken")
    principals: list[tuple[KeyPair, str, str, str | None]] = [
        (secretariat, "WCO Secretariat", "secretariat", None)
    ]
    principals.append((ncp, "NCP Kenya", "ncp", "KEN"))
    register_principals(ledger, resolve_key(settings, "admin"), principals)
    framework: list[tuple[str, dict[str, Any]]] = [
        ("framework.created", {"title": "PMM benchmark framework"}),
        ("dimension.defined", {"code": "D1", "name": "Trade facilitation"}),
        ("outcome.defined", {"code": "D1.O1", "dimension": "D1", "name": "Faster"}),
    ]
    framework += [("kpi.defined", _kpi(code)) for code in KPI_CODES]
    statements = [
        secretariat.sign(secretariat.statement(ORIGIN, "framework", kind, body, version))
        for version, (kind, body) in enumerate(framework)
    ]
    for plan in plans:
        body = {"member": plan.member, "cycle": str(plan.year), "reference_year": plan.year}
        opened = secretariat.statement(ORIGIN, plan.stream, "assessment.opened", body, 0)
        statements.append(secretariat.sign(opened))
    for first in range(0, len(statements), BATCH):
        ledger.record_batch(statements[first : first + BATCH])
    return ledger, secretariat


def presign(key: KeyPair, plans: list[StreamPlan]) -> list[list[bytes]]:
    """Every value statement's wire bytes, per stream, expected versions chained."""
    return [
        [
            key.sign(
                key.statement(ORIGIN, plan.stream, "value.submitted", body, 1 + offset)
            ).to_bytes()
            for offset, body in enumerate(plan.bodies)
        ]
        for plan in plans
    ]


def measure_ours(
    backend: str, options: Options, workdir: Path, plans: list[StreamPlan], mode: str
) -> tuple[float, float]:
    """(statements per second, peak RSS MB) recorded by the ledger in a new store."""
    n = sum(len(plan.bodies) for plan in plans)
    home = Path(tempfile.mkdtemp(prefix="ours-", dir=workdir))
    with fresh_store(backend, home, options.database_url) as settings:
        ledger, secretariat = prepare_ledger(settings, plans)
        try:
            streams, before = presign(secretariat, plans), ledger.log_size()
            with PeakMemory() as memory:
                start = perf_counter()
                for statements in streams:
                    if mode == SINGLE:
                        for raw in statements:
                            ledger.record(raw)
                    else:
                        ledger.record_batch(statements)
                elapsed = perf_counter() - start
            if ledger.log_size() - before != n:
                raise RuntimeError(
                    f"the ledger recorded {ledger.log_size() - before} of {n}"
                )
        finally:
            ledger.close()
    return n / elapsed, memory.mb


def verify_sample() -> list[tuple[bytes, bytes, bytes]]:
    """Signatures of value statements like the measured ones (a loaded key)."""
    key = KeyPair.generate("secretariat")
    plan = plan_workload(BATCH)[0]
    messages = [
        signing_input(key.statement(ORIGIN, plan.stream, "value.submitted", body, 1))
        for body in plan.bodies
    ]
    return key_sample(key, messages)


def run(options: Options, size: int) -> Section:
    section = Section(NAME)
    plans, sample = plan_workload(size), verify_sample()
    verify_rate = raw_rate(sample, seconds=options.raw_seconds)
    measured: list[tuple[str, str, float, float, float, float]] = []
    for backend in backends(options, section):
        with tempfile.TemporaryDirectory(prefix=f"pmm-bench-{backend}-") as tmp:
            for mode in (SINGLE, BATCHED):
                ours = plain = (0.0, 0.0)
                for _ in range(options.repeat):  # the sides alternate; best kept
                    ours = max(ours, measure_ours(backend, options, Path(tmp), plans, mode))
                    plain = max(
                        plain, measure_plain(backend, options, Path(tmp), plans, mode)
                    )
                progress(f"{NAME} {backend} {mode}: {ours[0]:,.0f} vs {plain[0]:,.0f}/s")
                measured.append((backend, mode, *ours, *plain))
    verify_rate = max(
        verify_rate, raw_rate(sample, seconds=options.raw_seconds)
    )  # before and after, best kept
    for backend, mode, ours_rate, ours_mb, plain_rate, plain_mb in measured:
        # The ratio if a statement cost what plain spends on an event plus one verify.
        ceiling = (1 / plain_rate) / (1 / plain_rate + 1 / verify_rate)
        call = (
            "Ledger.record, 1 a transaction"
            if mode == SINGLE
            else (f"Ledger.record_batch, {BATCH} a transaction")
        )
        figures = {
            "raw Ed25519 verifies/s": verify_rate,
            "verifies per statement": verify_rate / ours_rate,
            "plain: verifies per event": verify_rate / plain_rate,
            "ratio ceiling with one verify on top of plain": ceiling,
            "plain peak RSS MB": plain_mb,
        }
        section.rows.append(
            Ratio(
                *(NAME, backend, size, call, ours_rate, plain_rate),
                *("plain eventsourcing events/s", "statements/s", "higher", ours_mb),
                target=TARGET if mode == BATCHED else None,
                figures=figures,
            )
        )
    return section
