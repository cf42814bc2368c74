"""The scores benchmark's cached ledgers: built once per backend, size and seed
(``<cache>/scores-<backend>-<N>/``, its ``built.json`` naming the PostgreSQL
schema, which stays in the database until ``python -m benchmarks --drop-cache``).
A folder without ``built.json`` is an interrupted build and is built again.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from benchmarks.common import create_schema, drop_schema, progress, without_query
from benchmarks.scores_workload import Built, build_ledger, shape_for
from ledger.home import open_ledger
from ledger.persistence import Settings

BUILT_FILE = "built.json"


def cache_dir(cache: Path, backend: str, size: int) -> Path:
    return cache / f"scores-{backend}-{size}"


def _schema_of(url: str | None) -> str | None:
    if url is None:
        return None
    query = urlsplit(url).query
    return query.removeprefix("schema=") if query.startswith("schema=") else None


def load_cached(home: Path) -> Built | None:
    """The cached ledger's record, if it was built completely."""
    try:
        return Built(**json.loads((home / BUILT_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def forget(home: Path, base_url: str | None) -> None:
    """Remove a cached ledger (its folder and, on PostgreSQL, its schema)."""
    if not home.exists():
        return
    built = load_cached(home)
    schema = _schema_of(built.database_url) if built else None
    if schema is None and (home / "schema").exists():
        schema = (home / "schema").read_text().strip()
    if schema and base_url:
        drop_schema(base_url, schema)
    shutil.rmtree(home)


def cached_ledger(
    cache: Path, backend: str, size: int, base_url: str | None, seed: int
) -> tuple[Settings, Built, bool]:
    """Settings of the cached ledger of ``size`` entries, built first if missing."""
    home = cache_dir(cache, backend, size)
    built = load_cached(home)
    if built is not None and built.seed == seed:
        settings = Settings(home, built.database_url)
        try:
            ledger = open_ledger(settings)
        except Exception as exc:  # the schema was dropped, the file damaged...
            progress(f"cached ledger in {home} unusable ({exc}); building it again")
        else:
            found = ledger.log_size()
            ledger.close()
            if found == size:
                return settings, built, True
            progress(f"cached ledger in {home} holds {found} entries; building it again")
    forget(home, base_url)
    shape = shape_for(size)
    url = None
    if base_url is not None:
        schema = create_schema(base_url, "bench_scores")
        home.mkdir(parents=True)
        (home / "schema").write_text(schema + "\n")
        url = f"{base_url}?schema={schema}"
    settings = Settings(home, url)
    progress(
        f"building a {size:,}-entry ledger ({backend}) in {home}: {shape.members} Members "
        f"x {shape.cycles} cycles, {shape.per_stream} entries per assessment; this is "
        "done once and cached"
    )
    built = build_ledger(settings, shape, seed)
    (home / BUILT_FILE).write_text(json.dumps(asdict(built), indent=2) + "\n")
    progress(f"  built in {built.build_seconds:,.0f} s")
    return settings, built, False


def analyze(settings: Settings) -> str:
    """ANALYZE the ledger's schema, as autovacuum would; say whether it is on.

    Without statistics the planner takes a one-row range read for thousands of
    rows (parallel bitmap scans, sorts), and a server with autovacuum off never
    gathers them: that measures the server's configuration, not the ledger.
    """
    schema = _schema_of(settings.database_url)
    base = without_query(str(settings.database_url))
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SHOW autovacuum").fetchone()
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                sql.SQL("ANALYZE {}.{}").format(
                    sql.Identifier(str(schema)), sql.Identifier(table)
                )
            )
    autovacuum = row[0] if row else "unknown"
    return (
        f"(PostgreSQL: ANALYZE run on the {len(tables)} tables of schema {schema} before "
        f"measuring; autovacuum is {autovacuum} on this server)"
    )


# -- measurements -------------------------------------------------------------------


def drop_all(cache: Path, base_url: str) -> int:
    """Remove every cached scores ledger (and its PostgreSQL schema); how many."""
    homes = sorted(cache.glob("scores-*")) if cache.exists() else []
    for home in homes:
        forget(home, base_url)
    return len(homes)
