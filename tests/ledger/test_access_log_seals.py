"""The access log is anchored in the Merkle log (docs/decisions.md, decision 16).

The operator's attack the hash chain alone cannot see: drop the guards, delete
or rewrite records, recompute the chain. Every write that follows restricted
reads seals the head into the integrity log (``access_log.sealed``, signed by
the ledger's own principal, covered by the next checkpoint), so the rewritten
log contradicts a signed seal: ``check()``, ``pmm access-log verify`` and the
verifier (with the access log in the bundle) say where. Both backends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger.access_log import AccessLog
from ledger.errors import AccessLogIntegrityError
from verify.formats.access_chain import record_hash
from verify.formats.entry import parse_entry

if TYPE_CHECKING:
    from tests.conftest import Operator, World

runner = CliRunner()


def read(log: AccessLog, n: int) -> dict[str, Any]:
    """A restricted read, as the HTTP layer logs it."""
    return log.append(
        principal="integrity",
        role="integrity_officer",
        member="KEN",
        request=f"GET /scores?member=KEN&year=2022&read={n}",
        shown=[f"score kpi TF.1.3 #{n}"],
        token=f"jti-{n}",
    )


def seals(world: World) -> list[tuple[int, dict[str, Any]]]:
    store = world.ledger.sequencer.store
    return [
        (index, parse_entry(raw).signed.body)
        for index, raw in store.stream_entries(["access-log"], store.size())
    ]


def recompute_chain(operator: Operator, keep: list[dict[str, Any]]) -> None:
    """The operator rewrites the whole table as a valid chain of ``keep``."""
    operator.execute("DELETE FROM {p}pmm_access_log")
    prev = "0" * 64
    for seq, old in enumerate(keep):
        record = {**old, "seq": seq, "prev": prev}
        record["hash"] = prev = record_hash(record)
        operator.execute(
            "INSERT INTO {p}pmm_access_log (seq, recorded_at, principal, member, record, "
            "hash) VALUES (%s, %s, %s, %s, %s, %s)",
            (
                seq,
                record["recorded_at"],
                record["principal"],
                record["member"],
                json.dumps(record),
                record["hash"],
            ),
        )


def pmm(world: World, *args: str) -> tuple[int, str]:
    settings = world.ledger.settings
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    result = runner.invoke(app, [*args, "--home", str(settings.home)], env=env)
    return result.exit_code, result.output


def test_a_write_after_restricted_reads_seals_them(world: World) -> None:
    log = world.ledger.access_log
    world.hours(world.ncp_ken, world.KEN, "12")
    assert seals(world) == []  # nothing read, nothing sealed
    records = [read(log, n) for n in range(3)]
    recorded = world.hours(world.ncp_bra, world.BRA, "30")
    [(index, body)] = seals(world)
    assert body == {"size": 3, "head": records[-1]["hash"]}
    # The seal is in the same integration: the writer's receipt's tree covers it.
    assert index == recorded.log_index + 1 and recorded.tree_size == index + 1
    entry = parse_entry(world.ledger.sequencer.store.entry(index))
    assert (entry.signed.principal, entry.entry_type) == ("ledger", "access_log.sealed")
    world.hours(world.ncp_bra, world.BRA, "31", year=world.REFERENCE_YEAR - 1)
    assert len(seals(world)) == 1  # no read since: no second seal
    assert log.check().ok and log.check().seals == 1


def test_pmm_access_log_seal_and_verify(world: World) -> None:
    code, output = pmm(world, "access-log", "seal")
    assert code == 0 and "nothing to seal" in output
    read(world.ledger.access_log, 0)
    code, output = pmm(world, "access-log", "seal", "--json")
    assert code == 0, output
    assert json.loads(output)["entry_type"] == "access_log.sealed"
    code, output = pmm(world, "access-log", "verify")
    assert code == 0 and "consistent with 1 seal(s)" in output, output


def test_deleting_sealed_records_and_recomputing_the_chain_is_caught(
    world: World, operator: Operator
) -> None:
    log = world.ledger.access_log
    records = [read(log, n) for n in range(4)]
    world.hours(world.ncp_ken, world.KEN, "12")  # seals size 4
    [(seal_index, _)] = seals(world)
    operator.drop_access_guards()
    # Drop read 1 (who read what, hidden) and rebuild a chain that links.
    recompute_chain(operator, [records[0], records[2], records[3]])
    result = log.check()
    assert not result.ok
    assert f"the seal at log entry {seal_index}" in result.problem
    assert "deleted after they were sealed" in result.problem
    code, output = pmm(world, "access-log", "verify")
    assert code == 1 and f"seal at log entry {seal_index}" in output, output


def test_rewriting_a_sealed_record_and_recomputing_the_chain_is_caught(
    world: World, operator: Operator
) -> None:
    log = world.ledger.access_log
    records = [read(log, n) for n in range(3)]
    world.hours(world.ncp_ken, world.KEN, "12")
    [(seal_index, _)] = seals(world)
    operator.drop_access_guards()
    forged = {**records[1], "principal": "someone-else", "shown": []}
    recompute_chain(operator, [records[0], forged, records[2]])
    result = log.check()
    assert not result.ok and result.broken_at == 2
    assert f"the seal at log entry {seal_index} names head" in result.problem
    assert "rewritten after it was sealed" in result.problem


def test_records_after_the_last_seal_are_the_only_unsealed_window(
    world: World, operator: Operator
) -> None:
    """What the seal promises, and no more: reads since the last write are not yet
    sealed, so cutting them leaves a chain consistent with every seal."""
    log = world.ledger.access_log
    kept = [read(log, n) for n in range(2)]
    world.hours(world.ncp_ken, world.KEN, "12")  # seals size 2
    read(log, 2)
    operator.drop_access_guards()
    operator.execute("DELETE FROM {p}pmm_access_log WHERE seq = 2")
    assert log.check().ok and log.head() == (2, kept[-1]["hash"])
    # The next write seals what is there; the window never reaches sealed reads.
    read(log, 3)
    world.hours(world.ncp_bra, world.BRA, "30")
    assert [body["size"] for _, body in seals(world)] == [2, 3]


def test_seals_are_verified_offline_with_the_export(
    world: World, operator: Operator, tmp_path: Path
) -> None:
    log = world.ledger.access_log
    records = [read(log, n) for n in range(3)]
    world.hours(world.ncp_ken, world.KEN, "12")
    code, output = pmm(world, "verify")
    assert code == 0, output
    operator.drop_access_guards()
    recompute_chain(operator, records[:2])
    code, output = pmm(world, "verify")
    assert code == 1, output
    assert "access_log" in output and "deleted after they were sealed" in output


def test_writes_stop_when_the_access_log_contradicts_its_seal(
    world: World, operator: Operator
) -> None:
    """Cutting sealed records is not silent: the next write would have to seal a
    log that went back, so the ledger refuses it and says why."""
    log = world.ledger.access_log
    for n in range(3):
        read(log, n)
    world.hours(world.ncp_ken, world.KEN, "12")  # seals size 3
    operator.drop_access_guards()
    operator.execute("DELETE FROM {p}pmm_access_log WHERE seq = 2")
    before = world.ledger.log_size()
    with pytest.raises(AccessLogIntegrityError, match="contradicts its last seal"):
        world.hours(world.ncp_bra, world.BRA, "30")
    assert world.ledger.log_size() == before
