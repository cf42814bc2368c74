"""``pmm token`` and ``pmm access-log show|verify``, on SQLite and PostgreSQL: a
token the server accepts for the key's principal, refused lifetimes, the access
log listed and filtered, and its chain check failing (exit 1) on an edited row."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
from typer.testing import CliRunner

from api.cli import app
from ledger.access_log import AccessLog
from ledger.dialect import POSTGRESQL
from ledger.tokens import check_token

if TYPE_CHECKING:
    from tests.conftest import World

runner = CliRunner()


def pmm(world: World, *args: str) -> tuple[int, str]:
    settings = world.ledger.settings
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    result = runner.invoke(app, [*args, "--home", str(settings.home)], env=env)
    return result.exit_code, result.output


def test_token_speaks_for_the_key_file(world: World, tmp_path: Path) -> None:
    key_file = tmp_path / "officer.key"
    world.officer.save(key_file)
    code, output = pmm(world, "token", "--as", str(key_file), "--ttl", "5m")
    assert code == 0, output
    token = output.strip()
    holder = check_token(world.ledger.registry(), world.ledger.origin, token)
    assert holder.principal.id == world.officer.principal
    claims = jwt.decode(token, options={"verify_signature": False})
    assert timedelta(seconds=claims["exp"] - claims["iat"]) == timedelta(minutes=5)
    for ttl, phrase in (("13h", "not 13:00:00"), ("5x", "e.g. 15m"), ("0m", "e.g. 15m")):
        code, output = pmm(world, "token", "--as", str(key_file), "--ttl", ttl)
        assert code == 2 and phrase in output, (ttl, output)


def test_access_log_show_and_verify(world: World) -> None:
    log = AccessLog(world.ledger.sequencer.store)
    for principal, member in (("ncp-ken", "KEN"), ("integrity", None)):
        log.append(
            principal=principal,
            role="ncp" if member else "integrity_officer",
            member=member,
            request="GET /scores?member=KEN&year=2022",
            shown=["score kpi TF.1.3"],
            token="jti",
        )
    code, output = pmm(world, "access-log", "show", "--json")
    assert code == 0, output
    records = json.loads(output)["records"]
    assert [r["seq"] for r in records] == [0, 1]
    code, output = pmm(world, "access-log", "show", "--json", "--principal", "ncp-ken")
    assert [r["principal"] for r in json.loads(output)["records"]] == ["ncp-ken"]
    code, output = pmm(world, "access-log", "verify")
    assert code == 0 and "verified: 2 records" in output, output
    store = world.ledger.sequencer.store
    with store.transaction(commit=True) as cur:  # an operator behind the guard
        if store.dialect is POSTGRESQL:
            cur.execute("DROP TRIGGER pmm_access_log_append_only ON {p}pmm_access_log")
        else:
            cur.execute("DROP TRIGGER pmm_access_log_no_update")
        cur.execute(
            "UPDATE {p}pmm_access_log SET record = REPLACE(record, 'ncp-ken', 'ncp-bra') "
            "WHERE seq = 0"
        )
    code, output = pmm(world, "access-log", "verify", "--json")
    assert code == 1, output
    found = json.loads(output)
    assert found["verified"] is False and found["broken_at"] == 0
