"""Shared fixtures: every ledger suite runs on SQLite and on PostgreSQL.

PostgreSQL tests get a fresh schema each (dropped afterwards) in the database
named by ``PMM_TEST_DATABASE_URL`` (default: the local trust-auth server's
``test`` database). Where no server answers, they skip with the reason, except
under CI (``CI`` set), where an unreachable server fails the run instead.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

import psycopg
import pytest

from ledger.application import Ledger, Recorded, Statement
from ledger.dialect import POSTGRESQL
from ledger.errors import NotFoundError
from ledger.home import init_ledger, resolve_key
from ledger.keys import KeyPair, with_approvals
from ledger.log_store import LogStore
from ledger.persistence import Settings
from ledger.scores import replay_table
from ledger.tokens import issue_token
from verify.formats.statement import SignedStatement, signing_input
from verify.rules.registry import THRESHOLD_TYPES

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
ORIGIN = "test.pmm.example/ledger"


def pg_base_url() -> str:
    return os.environ.get("PMM_TEST_DATABASE_URL", DEFAULT_PG_URL)


def _pg_schema() -> Iterator[str]:
    base = pg_base_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        with psycopg.connect(base, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL not reachable at {base}: {exc}".strip()
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set: PostgreSQL tests must run)")
        pytest.skip(message)
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    home = tmp_path / "home"
    if backend == "sqlite":
        yield Settings(home)
        return
    yield from (Settings(home, url) for url in _pg_schema())


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    """A new ledger with its genesis entry, on the backend under test."""
    app = init_ledger(settings, ORIGIN)
    try:
        yield app
    finally:
        app.close()


@dataclass(frozen=True)
class Operator:
    """What an operator with database rights can do behind the ledger's back."""

    store: LogStore

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """One raw statement in its own committed transaction (``{p}``, ``%s``)."""
        with self.store.transaction(commit=True) as cur:
            cur.execute(sql, params)

    def drop_access_guards(self) -> None:
        """Drop the access log's append-only triggers."""
        if self.store.dialect is POSTGRESQL:
            self.execute("DROP TRIGGER pmm_access_log_append_only ON {p}pmm_access_log")
        else:
            self.execute("DROP TRIGGER pmm_access_log_no_update")
            self.execute("DROP TRIGGER pmm_access_log_no_delete")


@pytest.fixture
def operator(ledger: Ledger) -> Operator:
    return Operator(ledger.sequencer.store)


@pytest.fixture
def admin_key(ledger: Ledger) -> KeyPair:
    return resolve_key(ledger.settings, "admin")


class Registration(Protocol):
    def __call__(
        self, ledger: Ledger, body: dict[str, Any], version: int | None = None
    ) -> SignedStatement: ...


@pytest.fixture
def registration() -> Registration:
    """Signs a ``principal.registered`` body for ``ledger`` at registry
    ``version`` (default: the current one) by the home's genesis admin, approved
    by its second genesis admin: the 2-of-3 threshold ``init_ledger`` sets by
    default (decision 15)."""

    def make(
        ledger: Ledger, body: dict[str, Any], version: int | None = None
    ) -> SignedStatement:
        admin = resolve_key(ledger.settings, "admin")
        other = resolve_key(ledger.settings, "admin-2")
        at = ledger.stream_version("registry") if version is None else version
        statement = admin.statement(
            ledger.origin, "registry", "principal.registered", body, at
        )
        return admin.sign(with_approvals(statement, [other]))

    return make


# -- a small realistic PMM setup, built through signed statements only -------

KEN = "assessment/KEN/1"
BRA = "assessment/BRA/1"
REFERENCE_YEAR = 2022
KPI_HOURS = "TF.1.1"  # number, in hours
KPI_PERCENT = "TF.1.2"  # percentage
KPI_RATIO = "TF.1.3"  # ratio (numerator / denominator)
KPI_YES_NO = "TF.1.4"  # yes / no


def value_body(
    kpi: str,
    value: dict[str, Any] | None,
    unit: str,
    *,
    year: int = REFERENCE_YEAR,
    status: str = "value",
    disclosure: str = "public",
    **extra: Any,
) -> dict[str, Any]:
    """The body of a value.submitted (or, with ``extra``, value.corrected)."""
    return {
        "disclosure": disclosure,
        "evidence": [],
        "kpi": kpi,
        "reference_year": year,
        "status": status,
        "unit": unit,
        "value": value,
        **extra,
    }


def empty_scores(year: int) -> dict[str, Any]:
    """A well-formed published score table with nothing in it."""
    return {
        "dimensions": {},
        "format": "pmm-scores/v1",
        "kpis": {},
        "outcomes": {},
        "overall": None,
        "reference_year": year,
    }


def kpi_body(
    code: str, unit: str, value_kind: str, *, applies_from: int = 2015, **extra: Any
) -> dict[str, Any]:
    return {
        "applies_from": applies_from,
        "code": code,
        "direction": "none",
        "disclosure": "public",
        "name": f"KPI {code}",
        "outcome": "EO.1",
        "scoring_method": {"method": "linear", "best": "100", "worst": "0"},
        "unit": unit,
        "value_kind": value_kind,
        **extra,
    }


@dataclass
class World:
    """The ``ledger`` with principals, a framework and two open assessments.

    Test modules import this class for type checking only (``if TYPE_CHECKING:
    from tests.conftest import World``), so everything a test needs at run
    time is reachable from the fixture: stream names, KPI codes, body helpers.
    """

    KEN: ClassVar[str] = KEN
    BRA: ClassVar[str] = BRA
    REFERENCE_YEAR: ClassVar[int] = REFERENCE_YEAR
    KPI_HOURS: ClassVar[str] = KPI_HOURS
    KPI_PERCENT: ClassVar[str] = KPI_PERCENT
    KPI_RATIO: ClassVar[str] = KPI_RATIO
    KPI_YES_NO: ClassVar[str] = KPI_YES_NO
    value_body = staticmethod(value_body)
    kpi_body = staticmethod(kpi_body)

    ledger: Ledger
    admin: KeyPair
    admin2: KeyPair  # the second of the genesis's 2-of-3 admins
    sec: KeyPair
    sec2: KeyPair
    ncp_ken: KeyPair
    ncp_bra: KeyPair
    reviewer: KeyPair
    officer: KeyPair

    def statement(
        self,
        key: KeyPair,
        stream: str,
        statement_type: str,
        body: dict[str, Any],
        *,
        expected_version: int | None = None,
        issued_at: datetime | None = None,
    ) -> dict[str, Any]:
        """An unsigned statement; the version defaults to the stream's current one.

        A registry change that needs the admins' threshold, signed by one admin
        and without ``approvals``, gets the other genesis admin's approval: the
        suites' common case. Tests of the threshold itself pass ``approvals``."""
        if expected_version is None:
            expected_version = self.ledger.stream_version(stream)
        statement = key.statement(
            self.ledger.origin, stream, statement_type, body, expected_version, issued_at
        )
        if statement_type in THRESHOLD_TYPES and "approvals" not in body:
            other = self.admin2 if key.principal != self.admin2.principal else self.admin
            statement = with_approvals(statement, [other])
        return statement

    def sign(
        self,
        key: KeyPair,
        stream: str,
        statement_type: str,
        body: dict[str, Any],
        *,
        expected_version: int | None = None,
    ) -> SignedStatement:
        return key.sign(
            self.statement(
                key, stream, statement_type, body, expected_version=expected_version
            )
        )

    def sign_unchecked(
        self,
        key: KeyPair,
        stream: str,
        statement_type: str,
        body: dict[str, Any],
        *,
        expected_version: int | None = None,
    ) -> SignedStatement:
        """Sign without the client-side shape check (``KeyPair.sign`` refuses a
        malformed statement), to show the ledger refuses it too."""
        statement = self.statement(
            key, stream, statement_type, body, expected_version=expected_version
        )
        signature = key.private_key.sign(signing_input(statement))
        return SignedStatement(statement, base64.b64encode(signature).decode("ascii"))

    def record(
        self, key: KeyPair, stream: str, statement_type: str, body: dict[str, Any]
    ) -> Recorded:
        return self.ledger.record(self.sign(key, stream, statement_type, body))

    def submit(
        self,
        key: KeyPair,
        stream: str,
        kpi: str,
        value: dict[str, Any] | None,
        unit: str,
        **options: Any,
    ) -> Recorded:
        """Record a value.submitted of ``kpi``."""
        return self.record(
            key, stream, "value.submitted", value_body(kpi, value, unit, **options)
        )

    def publication(
        self, stream: str, cut_at: int | None = None, title: str = "PMM cycle 1 report"
    ) -> dict[str, Any]:
        """An ``assessment.published`` body with the scores the log gives at cut_at."""
        cut_at = self.ledger.log_size() if cut_at is None else cut_at
        try:
            table = replay_table(self.ledger.sequencer.store, stream, cut_at).published()
        except NotFoundError:  # the stream is younger than cut_at: any valid table
            table = empty_scores(REFERENCE_YEAR)
        return {"cut_at": cut_at, "scores": table, "title": title}

    def hours(self, key: KeyPair, stream: str, amount: str, **options: Any) -> Recorded:
        """Submit the hours KPI (the most common case in these tests)."""
        return self.submit(key, stream, KPI_HOURS, {"amount": amount}, "hours", **options)

    def bearer(self, key: KeyPair) -> dict[str, str]:
        """Request headers carrying a fresh token of ``key``'s principal."""
        return {"Authorization": f"Bearer {issue_token(key, self.ledger.origin)}"}

    def one_of_each_disclosure(self) -> dict[str, Recorded]:
        """Kenya's NCP records hours (public), a percentage (wco) and a ratio
        (restricted): the three audiences' reads then differ."""
        ncp = self.ncp_ken
        return {
            "public": self.hours(ncp, KEN, "12"),
            "wco": self.submit(
                ncp, KEN, KPI_PERCENT, {"amount": "80"}, "percent", disclosure="wco"
            ),
            "restricted": self.submit(
                ncp,
                KEN,
                KPI_RATIO,
                {"denominator": "4", "numerator": "3"},
                "ratio",
                disclosure="restricted",
            ),
        }

    def state(self, *streams: str) -> tuple[int, dict[str, int]]:
        """The log size and the version of the world's streams (and ``streams``)."""
        names = ("registry", "framework", KEN, BRA, *streams)
        return self.ledger.log_size(), {s: self.ledger.stream_version(s) for s in names}

    def refused(
        self,
        statement: Statement | Sequence[Statement],
        error: type[Exception],
        *phrases: str,
        streams: tuple[str, ...] = (),
    ) -> Exception:
        """Record ``statement`` (a list: as one batch) and require that it is
        refused with exactly ``error``, a message containing every phrase, and
        nothing recorded: the log size and every stream version unchanged."""
        before = self.state(*streams)
        batch = [statement] if isinstance(statement, bytes | SignedStatement) else statement
        with pytest.raises(error) as caught:
            self.ledger.record_batch(batch)
        assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
        message = str(caught.value)
        for phrase in phrases:
            assert phrase in message, f"{phrase!r} not in {message!r}"
        assert self.state(*streams) == before, "a refused statement changed the ledger"
        return caught.value


def build_world(ledger: Ledger) -> World:
    """Principals, framework and assessments, each from a signed statement."""
    admin = resolve_key(ledger.settings, "admin")
    world = World(
        ledger,
        admin,
        resolve_key(ledger.settings, "admin-2"),
        sec=KeyPair.generate("sec"),
        sec2=KeyPair.generate("sec2"),
        ncp_ken=KeyPair.generate("ncp-ken"),
        ncp_bra=KeyPair.generate("ncp-bra"),
        reviewer=KeyPair.generate("reviewer"),
        officer=KeyPair.generate("integrity"),
    )
    principals = [
        (world.sec, "WCO Secretariat analyst", "secretariat", None),
        (world.sec2, "WCO Secretariat reviewer", "secretariat", None),
        (world.ncp_ken, "NCP Kenya Revenue Authority", "ncp", "KEN"),
        (world.ncp_bra, "NCP Receita Federal do Brasil", "ncp", "BRA"),
        (world.reviewer, "Peer reviewer", "peer_reviewer", None),
        (world.officer, "Integrity officer", "integrity_officer", None),
    ]
    for key, name, role, member in principals:
        world.record(
            admin,
            "registry",
            "principal.registered",
            {
                "member": member,
                "name": name,
                "principal": key.principal,
                "public_key": key.public_key,
                "role": role,
            },
        )
    sec = world.sec
    world.record(sec, "framework", "framework.created", {"title": "PMM version 1"})
    world.record(
        sec,
        "framework",
        "dimension.defined",
        {"code": "TF", "name": "Trade Facilitation and Economic Competitiveness"},
    )
    world.record(
        sec,
        "framework",
        "outcome.defined",
        {"code": "EO.1", "dimension": "TF", "name": "Goods are released quickly"},
    )
    for code, unit, kind in [
        (KPI_HOURS, "hours", "number"),
        (KPI_PERCENT, "percent", "percentage"),
        (KPI_RATIO, "ratio", "ratio"),
        (KPI_YES_NO, "yes_no", "yes_no"),
    ]:
        world.record(sec, "framework", "kpi.defined", kpi_body(code, unit, kind))
    for member, stream in [("KEN", KEN), ("BRA", BRA)]:
        world.record(
            sec,
            stream,
            "assessment.opened",
            {"cycle": "1", "member": member, "reference_year": REFERENCE_YEAR},
        )
    return world


@pytest.fixture
def world(ledger: Ledger) -> World:
    """A realistic small setup on the ``ledger`` fixture (both backends)."""
    return build_world(ledger)
