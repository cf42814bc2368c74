"""Recording throughput of the ledger against plain ``eventsourcing``.

For each backend (SQLite, PostgreSQL) and each mode (one statement per
transaction, a 50-value submission per transaction) this records N signed
``value.submitted`` statements through ``Ledger.record`` / ``Ledger.record_batch``
and, in the same run, saves N equivalent unsigned events with a plain
``eventsourcing`` application configured exactly like the ledger (same
persistence module, database, text stream ids and aggregate cache). It prints
statements per second for each and the ratio ours / plain. Target: a batch
ratio of at least 0.7.

Only the recording is timed. Building and signing statements is the client's
work and happens before the clock starts; verification, admission, domain rules,
entry bytes and the database write are the ledger's and are timed. Every
measured store is new: a temporary SQLite file, or a new PostgreSQL schema that
is dropped afterwards.

    python benchmarks/bench_ledger.py [--n 2000] [--backend sqlite|postgresql|both]
        [--database-url URL] [--statements bytes|objects] [--repeat R] [--profile]

See benchmarks/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import platform
import pstats
import string
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version as package_version
from pathlib import Path
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
    event,
)
from psycopg import sql

from ledger.application import Ledger
from ledger.home import init_ledger, resolve_key
from ledger.keys import KeyPair
from ledger.persistence import Settings, persistence_env
from verify.statement import SignedStatement, signing_input

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
ORIGIN = "bench.pmm.example/ledger"
BATCH = 50
TARGET = 0.7
SINGLE, BATCHED = "single", f"batch-{BATCH}"
KPI_CODES = tuple(f"BENCH.K{i:02d}" for i in range(BATCH))
CYCLES = (2022, 2023, 2024, 2025)


# -- the workload (shared by both sides) ---------------------------------------


@dataclass(frozen=True)
class StreamPlan:
    """One assessment stream and the value bodies submitted to it."""

    stream: str
    member: str
    cycle: str
    reference_year: int
    bodies: list[dict[str, Any]]


def _member(index: int) -> str:
    letters = string.ascii_uppercase
    return letters[index // 676 % 26] + letters[index // 26 % 26] + letters[index % 26]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def plan_workload(n: int) -> list[StreamPlan]:
    """N value bodies spread over streams of at most 50 (one per KPI).

    A KPI takes one value per reference year in a stream, so every stream gets
    its own Member and cycle: Members AAA, AAB, ... each over four cycles.
    """
    plans: list[StreamPlan] = []
    for index in range((n + BATCH - 1) // BATCH):
        member, year = _member(index // len(CYCLES)), CYCLES[index % len(CYCLES)]
        stream = f"assessment/{member}/{year}"
        count = min(BATCH, n - index * BATCH)
        bodies = [
            {
                "kpi": KPI_CODES[k],
                "reference_year": year,
                "status": "value",
                "value": {"amount": f"{(index * BATCH + k) % 997}.{k % 10}5"},
                "unit": "hours",
                "evidence": [_digest(f"evidence {stream} {k}")],
                "disclosure": "public",
                "source": {
                    "name": f"WCO survey export {year}.csv",
                    "sha256": _digest(f"source {year}"),
                },
            }
            for k in range(count)
        ]
        plans.append(StreamPlan(stream, member, str(year), year, bodies))
    return plans


# -- stores --------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    name: str  # "sqlite" | "postgresql"
    base_url: str | None = None  # PostgreSQL database URL, no query


@contextmanager
def fresh_store(backend: Backend, home: Path) -> Iterator[Settings]:
    """Settings for a new, empty store: a SQLite file in ``home`` or a new schema."""
    if backend.base_url is None:
        yield Settings(home)
        return
    schema = f"bench_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(backend.base_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield Settings(home, f"{backend.base_url}?schema={schema}")
    finally:
        with psycopg.connect(backend.base_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


def postgres_problem(url: str) -> str | None:
    """Why PostgreSQL at ``url`` cannot be used, or None."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        detail = " ".join(str(exc).split()) or "no detail"
        return f"{type(exc).__name__}: {detail}"
    return None


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# -- our side: signed statements through the ledger ----------------------------


@dataclass
class LedgerFixture:
    """An initialised ledger with principals, a 50-KPI framework and open streams."""

    ledger: Ledger
    secretariat: KeyPair
    setup_entries: int = 0


def _record_in_batches(ledger: Ledger, statements: list[SignedStatement]) -> None:
    for start in range(0, len(statements), BATCH):
        ledger.record_batch(statements[start : start + BATCH])


def prepare_ledger(settings: Settings, plans: list[StreamPlan]) -> LedgerFixture:
    """Genesis, a secretariat and an NCP for KEN, the framework, the streams."""
    # One admin, threshold 1: registrations are set-up here, not what is measured.
    ledger = init_ledger(settings, ORIGIN, admins=1, threshold=1)
    admin = resolve_key(settings, "admin")
    secretariat = KeyPair.generate("secretariat")
    ncp = KeyPair.generate("ncp.ken")
    registrations = [
        admin.sign(
            admin.statement(
                ORIGIN,
                "registry",
                "principal.registered",
                {
                    "principal": key.principal,
                    "name": name,
                    "role": role,
                    "member": member,
                    "public_key": key.public_key,
                    "approvals": [],
                },
                version,
            )
        )
        for version, (key, name, role, member) in enumerate(
            [
                (secretariat, "WCO Secretariat", "secretariat", None),
                (ncp, "NCP Kenya", "ncp", "KEN"),
            ],
            start=1,
        )
    ]
    ledger.record_batch(registrations)

    framework: list[tuple[str, dict[str, Any]]] = [
        ("framework.created", {"title": "PMM benchmark framework"}),
        ("dimension.defined", {"code": "D1", "name": "Trade facilitation"}),
        (
            "outcome.defined",
            {"code": "D1.O1", "dimension": "D1", "name": "Faster clearance"},
        ),
    ]
    framework += [
        (
            "kpi.defined",
            {
                "code": code,
                "outcome": "D1.O1",
                "name": f"Average release time {code}",
                "unit": "hours",
                "value_kind": "number",
                "direction": "lower_is_better",
                "disclosure": "public",
                "scoring_method": {"method": "linear", "best": "1", "worst": "240"},
                "applies_from": CYCLES[0],
            },
        )
        for code in KPI_CODES
    ]
    _record_in_batches(
        ledger,
        [
            secretariat.sign(
                secretariat.statement(ORIGIN, "framework", kind, body, version)
            )
            for version, (kind, body) in enumerate(framework)
        ],
    )
    _record_in_batches(
        ledger,
        [
            secretariat.sign(
                secretariat.statement(
                    ORIGIN,
                    plan.stream,
                    "assessment.opened",
                    {
                        "member": plan.member,
                        "cycle": plan.cycle,
                        "reference_year": plan.reference_year,
                    },
                    0,
                )
            )
            for plan in plans
        ],
    )
    return LedgerFixture(ledger, secretariat, ledger.log_size())


def presign(
    secretariat: KeyPair, plans: list[StreamPlan], as_bytes: bool
) -> list[list[bytes | SignedStatement]]:
    """Every value statement, signed, per stream, with chained expected versions."""
    signed_streams: list[list[bytes | SignedStatement]] = []
    for plan in plans:
        signed: list[bytes | SignedStatement] = []
        for offset, body in enumerate(plan.bodies):
            statement = secretariat.sign(
                secretariat.statement(
                    ORIGIN, plan.stream, "value.submitted", body, 1 + offset
                )
            )
            signed.append(statement.to_bytes() if as_bytes else statement)
        signed_streams.append(signed)
    return signed_streams


def run_ours(
    fixture: LedgerFixture,
    streams: list[list[bytes | SignedStatement]],
    mode: str,
) -> float:
    """Record the pre-signed statements; return the elapsed seconds."""
    ledger = fixture.ledger
    start = perf_counter()
    if mode == SINGLE:
        for statements in streams:
            for statement in statements:
                ledger.record(statement)
    else:
        for statements in streams:
            ledger.record_batch(statements)
    return perf_counter() - start


def measure_ours(
    backend: Backend,
    workdir: Path,
    plans: list[StreamPlan],
    mode: str,
    as_bytes: bool,
    profiler: cProfile.Profile | None = None,
) -> float:
    """Statements per second recorded by the ledger in a fresh store."""
    n = sum(len(plan.bodies) for plan in plans)
    home = Path(tempfile.mkdtemp(prefix="ours-", dir=workdir))
    with fresh_store(backend, home) as settings:
        fixture = prepare_ledger(settings, plans)
        try:
            streams = presign(fixture.secretariat, plans, as_bytes)
            if profiler is not None:
                profiler.enable()
            elapsed = run_ours(fixture, streams, mode)
            if profiler is not None:
                profiler.disable()
            recorded = fixture.ledger.log_size() - fixture.setup_entries
            if recorded != n:
                raise RuntimeError(f"ledger recorded {recorded} entries, expected {n}")
        finally:
            fixture.ledger.close()
    return n / elapsed


# -- the baseline: plain eventsourcing, unsigned events ------------------------


class TextIdAggregate(BaseAggregate[str]):
    """A plain ``eventsourcing`` aggregate whose ids are text (like our streams)."""

    @dataclass(frozen=True)
    class Event(CanMutateAggregate[str], metaclass=MetaDomainEvent):
        originator_id: str
        originator_version: int
        timestamp: datetime

    @dataclass(frozen=True)
    class Created(Event, CanInitAggregate[str]):
        originator_topic: str


class PlainAssessment(TextIdAggregate):
    """The baseline's assessment: opened, then one event per value."""

    @staticmethod
    def create_id(stream: str) -> str:
        return stream

    @event("Opened")
    def __init__(self, stream: str) -> None:
        self.values: dict[tuple[str, int], int] = {}

    @event("ValueSubmitted")
    def submit_value(self, body: dict[str, Any]) -> None:
        self.values[(body["kpi"], body["reference_year"])] = self.version


class PlainApp(Application[str]):
    name = "PlainBaseline"


def measure_plain(
    backend: Backend, workdir: Path, plans: list[StreamPlan], mode: str
) -> float:
    """Events per second saved by a plain application in a fresh store.

    The idiomatic command pattern on the same environment as the ledger
    (persistence module, text ids, aggregate cache): get the aggregate, call
    the command method(s), save; one save per value or per 50 values.
    """
    n = sum(len(plan.bodies) for plan in plans)
    home = Path(tempfile.mkdtemp(prefix="plain-", dir=workdir))
    with fresh_store(backend, home) as settings:
        app = PlainApp(persistence_env(settings))
        try:
            for first in range(0, len(plans), BATCH):
                app.save(*(PlainAssessment(p.stream) for p in plans[first : first + BATCH]))
            setup_events = int(app.recorder.max_notification_id() or 0)
            bodies = [[dict(body) for body in plan.bodies] for plan in plans]
            repository = app.repository
            start = perf_counter()
            if mode == SINGLE:
                for plan, plan_bodies in zip(plans, bodies, strict=True):
                    for body in plan_bodies:
                        aggregate: PlainAssessment = repository.get(plan.stream)
                        aggregate.submit_value(body)
                        app.save(aggregate)
            else:
                for plan, plan_bodies in zip(plans, bodies, strict=True):
                    aggregate = repository.get(plan.stream)
                    for body in plan_bodies:
                        aggregate.submit_value(body)
                    app.save(aggregate)
            elapsed = perf_counter() - start
            saved = int(app.recorder.max_notification_id() or 0) - setup_events
            if saved != n:
                raise RuntimeError(f"plain app saved {saved} events, expected {n}")
        finally:
            app.close()
    return n / elapsed


# -- context: the raw cost of one signature check ------------------------------


def ed25519_verify_rate(count: int, repeat: int) -> float:
    """Raw ``cryptography`` Ed25519 verifies per second over a value statement
    (a loaded public key, the signing input ready): the floor of our cost."""
    key = KeyPair.generate("secretariat")
    body = plan_workload(1)[0].bodies[0]
    data = signing_input(
        key.statement(ORIGIN, "assessment/AAA/2022", "value.submitted", body, 1)
    )
    signature = key.private_key.sign(data)
    public_key = key.private_key.public_key()
    best = 0.0
    for _ in range(repeat):
        start = perf_counter()
        for _ in range(count):
            public_key.verify(signature, data)
        best = max(best, count / (perf_counter() - start))
    return best


# -- running and reporting ------------------------------------------------------


@dataclass
class Row:
    backend: str
    mode: str
    ours: float
    plain: float

    @property
    def ratio(self) -> float:
        return self.ours / self.plain


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    skipped_backends: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)


def bench_backend(
    backend: Backend,
    plans: list[StreamPlan],
    as_bytes: bool,
    repeat: int,
    profile: bool,
    report: Report,
) -> None:
    with tempfile.TemporaryDirectory(prefix=f"pmm-bench-{backend.name}-") as tmp:
        workdir = Path(tmp)
        for mode in (SINGLE, BATCHED):
            # Ours and plain alternate, so a busy moment on the machine hits
            # both sides alike; each keeps its best of ``repeat`` runs.
            ours = plain = 0.0
            for _ in range(repeat):
                ours = max(ours, measure_ours(backend, workdir, plans, mode, as_bytes))
                plain = max(plain, measure_plain(backend, workdir, plans, mode))
            report.rows.append(Row(backend.name, mode, ours, plain))
            print(
                f"  measured {backend.name} {mode}: ours {ours:,.0f}/s, "
                f"plain {plain:,.0f}/s",
                file=sys.stderr,
            )
        if profile:
            for mode in (SINGLE, BATCHED):
                profiler = cProfile.Profile()
                measure_ours(backend, workdir, plans, mode, as_bytes, profiler)
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("cumulative").print_stats(30)
                stats.sort_stats("tottime").print_stats(20)
                report.profiles.append(
                    f"--- cProfile: ours, {backend.name}, {mode} (profiled run, "
                    f"rates above are unprofiled) ---\n{out.getvalue()}"
                )


def print_report(report: Report, n: int, as_bytes: bool, verify_rate: float) -> None:
    print()
    print(
        f"PMM ledger recording benchmark: N={n} value statements per measurement; "
        f"eventsourcing {package_version('eventsourcing')}, "
        f"cryptography {package_version('cryptography')}, "
        f"Python {platform.python_version()}"
    )
    print(
        "ours = signed statements recorded through Ledger ("
        + ("wire bytes" if as_bytes else "SignedStatement objects")
        + "); plain = equivalent unsigned events saved by a plain eventsourcing "
        "Application on the same backend"
    )
    print()
    header = (
        f"{'backend':<11} {'mode':<9} {'ours stmts/s':>13} {'plain events/s':>15} "
        f"{'ratio ours/plain':>17}"
    )
    print(header)
    print("-" * len(header))
    for row in report.rows:
        print(
            f"{row.backend:<11} {row.mode:<9} {row.ours:>13,.0f} {row.plain:>15,.0f} "
            f"{row.ratio:>17.2f}"
        )
    for line in report.skipped:
        print(line)
    print(
        f"(load average before {report.load_before[0]:.2f}, after "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs: other work on the "
        "machine lowers both sides; compare ratios, not rates)"
    )
    print()
    print(
        f"Ed25519 verify (cryptography, raw): {verify_rate:,.0f} verifies/s."
        + (" Cost of one recorded statement, in verifies:" if report.rows else "")
    )
    for row in report.rows:
        # If recording a statement cost exactly what plain eventsourcing spends
        # on an event plus one signature check, the ratio would be this:
        ceiling = (1 / row.plain) / (1 / row.plain + 1 / verify_rate)
        print(
            f"  {row.backend:<11} {row.mode:<9} ours {verify_rate / row.ours:6.1f} "
            f"verifies/statement, plain {verify_rate / row.plain:6.1f} verifies/event; "
            f"ratio ceiling with one verify on top of plain {ceiling:.2f}"
        )
    print()
    verdicts = [
        f"{row.backend} {'MET' if row.ratio >= TARGET else 'NOT MET'} ({row.ratio:.2f})"
        for row in report.rows
        if row.mode == BATCHED
    ] + [f"{name} SKIPPED" for name in report.skipped_backends]
    print(
        f"Target: {BATCHED} ratio ours/plain >= {TARGET}: "
        + ("; ".join(verdicts) if verdicts else "no backend measured")
    )
    for profile in report.profiles:
        print()
        print(profile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Ledger recording throughput against plain eventsourcing."
    )
    parser.add_argument("--n", type=int, default=2000, help="statements per measurement")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_PG_URL,
        help=f"PostgreSQL database for the measured schemas (default {DEFAULT_PG_URL})",
    )
    parser.add_argument(
        "--statements",
        choices=("bytes", "objects"),
        default="bytes",
        help="hand the ledger wire bytes (as the API does) or SignedStatement objects",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure each cell this often, keep the best"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile one extra run of ours per backend and mode, and print it",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        parser.error("--n and --repeat must be at least 1")

    plans = plan_workload(args.n)
    # Measured before and after the rest (best kept), like the rates: a busy
    # moment on the machine should not make verification look slow.
    verify_count = max(args.n, 2000)
    verify_rate = ed25519_verify_rate(verify_count, args.repeat)
    as_bytes = args.statements == "bytes"
    report = Report(load_before=os.getloadavg())
    if args.backend in ("sqlite", "both"):
        bench_backend(Backend("sqlite"), plans, as_bytes, args.repeat, args.profile, report)
    if args.backend in ("postgresql", "both"):
        base = _without_query(args.database_url)
        problem = postgres_problem(base)
        if problem is None:
            bench_backend(
                Backend("postgresql", base),
                plans,
                as_bytes,
                args.repeat,
                args.profile,
                report,
            )
        else:
            report.skipped.append(
                f"postgresql  SKIPPED: not reachable at {base} ({problem})"
            )
            report.skipped_backends.append("postgresql")
    verify_rate = max(verify_rate, ed25519_verify_rate(verify_count, args.repeat))
    print_report(report, args.n, as_bytes, verify_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
