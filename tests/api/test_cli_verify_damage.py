"""``pmm verify`` of a live ledger whose database lost a row, on SQLite and
PostgreSQL: the export hides nothing, and the verdict names what is missing.

A stored event deleted behind the ledger's back (or the log leaf that maps
its index to it) is *entry K is missing*, at K; a deleted subtree hash is the
hash tile it belongs to. Each is exit 1 with the ledger's stored entries named
as the bundle, never exit 2 and never the scratch folder's path.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from typer.testing import CliRunner

from api.cli import app
from verify.formats.tiles import tile_path

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import World

runner = CliRunner()
SCRATCH = re.compile(r"pmm-verify-(?!result/)|/log/tile")


def pmm(world: World, *args: str) -> tuple[int, str]:
    settings = world.ledger.settings
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    result = runner.invoke(app, [*args, "--home", str(settings.home)], env=env)
    return result.exit_code, result.output


def delete(world: World, sql: str, params: tuple[Any, ...]) -> None:
    """Delete rows behind the ledger's back (one statement, committed)."""
    store = world.ledger.sequencer.store
    rowid = store.dialect.rowid
    sql = sql.replace("{events}", store.events_table).replace("{rowid}", rowid)
    count = sql.replace("DELETE FROM", "SELECT COUNT(*) FROM", 1)
    with store.transaction(commit=True) as cur:
        assert cur.execute(count, params).one() == (1,)
        cur.execute(sql, params)
        assert cur.execute(count, params).one() == (0,)


def verified_first(world: World) -> int:
    w = world
    w.hours(w.ncp_ken, w.KEN, "12.5")
    w.hours(w.ncp_bra, w.BRA, "30")
    code, output = pmm(world, "verify")
    assert code == 0 and output.startswith("verified "), output
    return w.ledger.log_size()


def failed(world: World) -> tuple[dict[str, Any], str]:
    """``pmm verify`` (JSON, then plain): exit 1 both times; (report, plain text)."""
    code, output = pmm(world, "verify", "--json")
    assert code == 1, output
    report: dict[str, Any] = json.loads(output)
    assert report["verified"] is False and report["bundle"] == "the ledger's stored entries"
    code, plain = pmm(world, "verify")
    assert code == 1 and plain.startswith("FAILED "), plain
    for text in (output, plain):  # the scratch export is tempfile's pmm-verify-*
        assert not SCRATCH.search(text), text
    return report, plain


def _at(report: dict[str, Any]) -> tuple[str, int | None]:
    return report["first_failure"]["check"], report["first_failure"]["index"]


def test_a_deleted_stored_event_is_that_entry_missing(world: World) -> None:
    size = verified_first(world)
    gone = 5
    delete(
        world,
        "DELETE FROM {events} WHERE {rowid} = "
        "(SELECT notification_id FROM {p}pmm_log_leaves WHERE log_index = %s)",
        (gone,),
    )
    report, plain = failed(world)
    assert _at(report) == ("missing", gone)
    assert report["first_failure"]["reason"] == (
        f"entry {gone} is empty or absent (zero length in tile/entries/000.p/{size})"
    )
    assert report["checkpoint"]["size"] == size  # the bundle is named by the checkpoint
    assert plain.splitlines()[0].startswith(
        f"FAILED {world.ledger.origin}: entry {gone}: missing: entry {gone} is empty"
    )


def test_a_deleted_log_leaf_is_that_entry_missing(world: World) -> None:
    verified_first(world)
    gone = 4
    delete(world, "DELETE FROM {p}pmm_log_leaves WHERE log_index = %s", (gone,))
    report, _ = failed(world)
    assert _at(report) == ("missing", gone)
    assert f"entry {gone} is empty or absent" in report["first_failure"]["reason"]


def test_a_deleted_subtree_hash_is_its_tile_missing(world: World) -> None:
    size = verified_first(world)
    assert size > 4 and size % 2 == 0  # hash 3 is no part of the tree's right edge
    delete(world, "DELETE FROM {p}pmm_log_nodes WHERE level = 0 AND idx = %s", (3,))
    report, plain = failed(world)
    tile = tile_path(0, 0, size)
    assert [(f["check"], f["index"]) for f in report["findings"]] == [("tiles", None)]
    assert report["first_failure"]["reason"] == f"hash tile {tile} does not exist"
    assert f"log: tiles: hash tile {tile} does not exist" in plain


def test_export_writes_what_is_missing_and_says_so(world: World, tmp_path: Path) -> None:
    size = verified_first(world)
    delete(world, "DELETE FROM {p}pmm_log_leaves WHERE log_index = %s", (2,))
    out = tmp_path / "log"
    code, output = pmm(world, "export", "--out", str(out))
    assert code == 0, output
    assert "warning: the database lacks entries [2] (exported as zero-length)" in output
    bundle = (out / tile_path("entries", 0, size)).read_bytes()
    at = 0
    for _ in range(2):
        at += 2 + int.from_bytes(bundle[at : at + 2], "big")
    assert bundle[at : at + 2] == b"\x00\x00"


def test_a_deleted_last_leaf_is_that_entry_missing(world: World) -> None:
    """Opening the ledger would integrate the orphaned event again; the live
    verifier reads the tables as they are and names the entry."""
    size = verified_first(world)
    delete(world, "DELETE FROM {p}pmm_log_leaves WHERE log_index = %s", (size - 1,))
    report, _ = failed(world)
    assert _at(report) == ("missing", size - 1)


def test_a_deleted_right_edge_hash_is_its_tile_missing(world: World) -> None:
    """A hash on the tree's right edge is what the next integration starts from;
    the verifier does not integrate, so it reports the tile instead of crashing."""
    size = verified_first(world)
    last = size - 1
    delete(world, "DELETE FROM {p}pmm_log_nodes WHERE level = 0 AND idx = %s", (last,))
    report, _ = failed(world)
    assert [(f["check"], f["index"]) for f in report["findings"]] == [("tiles", None)]
    assert tile_path(0, 0, size) in report["first_failure"]["reason"]
