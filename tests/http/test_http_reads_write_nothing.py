"""Anonymous reads never write to the database (docs/decisions.md 24), on SQLite
and PostgreSQL: every anonymous GET route of the app is called, with sizes the
log passed without a stored checkpoint, and every table of the ledger's
database (the events, every ``pmm_*`` table, the library's own) holds the same
rows afterwards."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.routes_audit import router as audit_router
from api.http.routes_flags import router as flags_router
from api.http.routes_log import router as log_router
from api.http.routes_scores import router as scores_router
from api.http.routes_session import router as session_router
from api.http.routes_statements import router as statements_router
from api.web.act import router as act_router
from api.web.flag_pages import router as flag_pages_router
from api.web.pages import router as web_router
from api.web.signin import router as signin_router
from ledger.application import Ledger
from ledger.dialect import POSTGRESQL
from ledger.log_store import LogStore

if TYPE_CHECKING:
    from tests.conftest import World


def snapshot(store: LogStore) -> dict[str, tuple[int, str]]:
    """Every table of the ledger's database: its row count and a digest of its rows."""
    with store.read() as cur:
        if store.dialect is POSTGRESQL:
            cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (store.datastore.schema,),
            )
        else:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = sorted(str(row[0]) for row in cur.all())
        found = {}
        for table in tables:
            rows = cur.execute(f'SELECT * FROM {{p}}"{table}"').all()
            text = sorted(
                repr([bytes(v) if isinstance(v, memoryview) else v for v in row])
                for row in rows
            )
            found[table] = (len(rows), hashlib.sha256("\n".join(text).encode()).hexdigest())
    return found


def get_paths(app: FastAPI) -> set[str]:
    """The path of every GET route of the app (its own and its routers')."""
    routes: list[Any] = list(app.routes)
    routers = (statements_router, log_router, scores_router, audit_router, web_router)
    signing = (session_router, signin_router, act_router)
    for router in (*routers, flags_router, flag_pages_router, *signing):
        routes += router.routes
    return {
        route.path
        for route in routes
        if "GET" in (getattr(route, "methods", None) or ()) and hasattr(route, "path")
    }


def samples(ledger: Ledger, skipped: int) -> dict[str, list[str]]:
    """Anonymous requests for each GET route; ``skipped`` is a tree size the log
    passed without a stored checkpoint."""
    year = "year=2022"
    ken = f"member=KEN&{year}"
    return {
        "/openapi.json": ["/openapi.json"],
        "/docs": ["/docs"],
        "/docs/assets/{name}": ["/docs/assets/swagger-ui.css"],
        "/redoc": ["/redoc"],
        "/checkpoint": ["/checkpoint"],
        "/tile/{path:path}": [
            f"/tile/0/000.p/{ledger.log_size()}",
            f"/tile/0/000.p/{skipped}",
            "/tile/entries/000.p/1",
        ],
        "/receipts/{index}": ["/receipts/0", f"/receipts/1?size={skipped}"],
        "/proofs/inclusion/{index}": [f"/proofs/inclusion/2?size={skipped}"],
        "/proofs/consistency": [f"/proofs/consistency?old=1&new={skipped}"],
        "/scores": [
            f"/scores?{ken}",
            f"/scores?{ken}&at_size={skipped}",
            f"/scores?{ken}&as_of=2020-01-01",
        ],
        "/history": [f"/history?{ken}"],
        "/diff": [f"/diff?{ken}&from=size:0", f"/diff?{ken}&from=size:{skipped}"],
        "/exports/{kind}.{fmt}": [
            f"/exports/scores.csv?{ken}",
            f"/exports/history.parquet?{ken}",
            f"/exports/diff.csv?{ken}&from=size:0",
        ],
        "/whoami": ["/whoami"],
        "/events": ["/events"],
        "/access-log": ["/access-log"],
        "/access-log/head": ["/access-log/head"],
        "/framework": ["/framework", f"/framework?at_size={skipped}"],
        "/ui/": ["/ui/"],
        "/ui/scores": [f"/ui/scores?{ken}", f"/ui/scores?{ken}&at_size={skipped}"],
        "/ui/diff": [f"/ui/diff?{ken}&from=size:0"],
        "/ui/history": [f"/ui/history?{ken}"],
        "/ui/framework": ["/ui/framework"],
        "/ui/static/style.css": ["/ui/static/style.css"],
        "/flags": ["/flags", f"/flags?at_size={skipped}"],
        "/ui/flags": ["/ui/flags"],
        "/ui/static/{name}": ["/ui/static/signin.js", "/ui/static/icon.svg"],
        "/favicon.ico": ["/favicon.ico"],
        "/ui/sign-in": ["/ui/sign-in", "/ui/sign-in?signed_out=1"],
        "/ui/act": ["/ui/act"],
    }


def test_every_anonymous_get_route_leaves_the_database_as_it_was(
    world: World, client: TestClient
) -> None:
    world.one_of_each_disclosure()
    ledger = world.ledger
    before_batch = ledger.log_size()
    # One batch integrates three entries at once: sizes before_batch + 1 and + 2
    # are passed without a checkpoint of their own (decision 8).
    ledger.record_batch(
        [
            world.sign(
                world.ncp_bra,
                world.BRA,
                "value.submitted",
                world.value_body(world.KPI_HOURS, {"amount": "9"}, "hours"),
            ),
            world.sign(
                world.ncp_bra,
                world.BRA,
                "value.submitted",
                world.value_body(world.KPI_PERCENT, {"amount": "70"}, "percent"),
                expected_version=world.ledger.stream_version(world.BRA) + 1,
            ),
            world.sign(
                world.ncp_ken,
                world.KEN,
                "value.submitted",
                world.value_body(world.KPI_YES_NO, {"answer": True}, "yes_no"),
            ),
        ]
    )
    skipped = before_batch + 1
    assert ledger.sequencer.store.checkpoint(skipped) is None
    requests = samples(ledger, skipped)
    assert set(requests) == get_paths(client.app)  # type: ignore[arg-type]
    before = snapshot(ledger.sequencer.store)
    assert any(table.startswith("pmm_log") for table in before)
    answers = {}
    for path in (path for paths in requests.values() for path in paths):
        answers[path] = client.get(path).status_code
    assert all(status < 500 for status in answers.values()), answers
    assert answers["/events"] == 401 and answers["/tile/entries/000.p/1"] == 401
    assert answers["/flags"] == 401 and answers["/ui/flags"] == 401
    assert answers[f"/receipts/1?size={skipped}"] == 200
    assert snapshot(ledger.sequencer.store) == before
    assert ledger.sequencer.store.checkpoint(skipped) is None
