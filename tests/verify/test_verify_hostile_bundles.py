"""Hostile bundles: every damaged file is a verdict, never an input error.

A real signed ledger (``world``, SQLite and PostgreSQL) with a publication is
exported, then one file is damaged per test: a byte flipped in an entry's JSON
or in a length prefix, a truncated, padded, emptied or deleted entry bundle, a
zero-length entry, a deleted or resized hash tile, a garbled or missing
checkpoint. ``python -m verify`` must answer *failed, at entry K, because…*:
exit 1 with the first failure's check and index (docs/verifier.md), and
nothing on standard error. A grown mirror, whose partial tiles are replaced
by full ones (C2SP tlog-tiles), still verifies an older checkpoint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.export import export
from verify.__main__ import main
from verify.check import replay
from verify.formats.entry import parse_entry
from verify.formats.tiles import tile_path, tiles_of

if TYPE_CHECKING:
    from tests.conftest import World


class Hostile:
    """An exported world with a publication, and a pinned copy of its trust file."""

    def __init__(self, world: World, tmp_path: Path) -> None:
        w = world
        self.world = w
        self.ken_hours = w.hours(w.ncp_ken, w.KEN, "12.5").log_index
        w.hours(w.ncp_bra, w.BRA, "30")
        note = {"note": "all KPIs done"}
        self.completed = w.record(w.ncp_ken, w.KEN, "submission.completed", note)
        publication = w.publication(w.KEN)
        self.published = w.record(w.sec, w.KEN, "assessment.published", publication)
        w.hours(w.ncp_bra, w.BRA, "31", year=w.REFERENCE_YEAR - 1)
        self.size = w.ledger.log_size()
        self.out = tmp_path / "export"
        export(w.ledger, self.out)
        self.trust = tmp_path / "pinned-trust.json"
        shutil.copy(self.out / "trust.json", self.trust)
        self.bundle = self.out / tile_path("entries", 0, self.size)
        self.tile = self.out / tile_path(0, 0, self.size)

    def offset(self, index: int) -> int:
        """Where entry ``index``'s 2-byte length prefix starts in the bundle."""
        data, at = self.bundle.read_bytes(), 0
        for _ in range(index):
            at += 2 + int.from_bytes(data[at : at + 2], "big")
        return at

    def flip(self, path: Path, at: int, mask: int) -> None:
        data = bytearray(path.read_bytes())
        data[at] ^= mask
        path.write_bytes(bytes(data))


@pytest.fixture
def hostile(world: World, tmp_path: Path) -> Hostile:
    return Hostile(world, tmp_path)


def verdict(
    capsys: pytest.CaptureFixture[str], hostile: Hostile, *extra: str | Path
) -> dict[str, Any]:
    """``python -m verify --json``: exit 1, nothing on stderr; the report."""
    args = [str(hostile.out), "--trust", str(hostile.trust), *map(str, extra), "--json"]
    code = main(args)
    captured = capsys.readouterr()
    assert (code, captured.err) == (1, ""), captured.out + captured.err
    report: dict[str, Any] = json.loads(captured.out)
    assert report["verified"] is False and report["exit_code"] == 1
    assert str(hostile.out.parent) not in json.dumps(report["findings"])  # relative paths
    # The plain report says the same, first line first.
    assert main(args[:-1]) == 1
    first = report["first_failure"]
    plain = capsys.readouterr().out
    assert plain.startswith(f"FAILED {hostile.world.ledger.origin}: "), plain
    assert f": {first['check']}: {first['reason']}" in plain.splitlines()[0]
    return report


def first(report: dict[str, Any]) -> tuple[str, int | None]:
    failure = report["first_failure"]
    return failure["check"], failure["index"]


def checks(report: dict[str, Any]) -> list[tuple[str, int | None]]:
    return [(f["check"], f["index"]) for f in report["findings"]]


def test_the_clean_export_verifies(
    hostile: Hostile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(hostile.out), "--trust", str(hostile.trust)]) == 0
    assert capsys.readouterr().out.startswith("verified ")
    assert hostile.published.log_index > hostile.ken_hours


def test_flipped_byte_in_an_entry_json(
    hostile: Hostile, capsys: pytest.CaptureFixture[str]
) -> None:
    # The closing brace of a value the publication's replay reads: "}" -> "|".
    at = hostile.ken_hours
    end = hostile.offset(at + 1) - 1
    assert hostile.bundle.read_bytes()[end : end + 1] == b"}"
    hostile.flip(hostile.bundle, end, 0x01)
    report = verdict(capsys, hostile)
    assert first(report) == ("entry", at)
    assert report["first_failure"]["reason"].startswith("entry is malformed: ")
    # The entry counts as read; the rest of the log is checked as usual.
    assert report["counts"]["entries"] == hostile.size


def test_length_prefix_longer_than_the_rest(
    hostile: Hostile, capsys: pytest.CaptureFixture[str]
) -> None:
    at = hostile.ken_hours
    hostile.flip(hostile.bundle, hostile.offset(at), 0x80)  # +32768 bytes
    report = verdict(capsys, hostile)
    assert first(report) == ("entry", at)
    reason = report["first_failure"]["reason"]
    assert reason.startswith(f"entry {at} cannot be read from tile/entries/000.p/")
    assert "its length says" in reason and "remain" in reason
    # The entries after the break are unreadable: missing, from the next one.
    assert checks(report)[1] == ("missing", at + 1)
    gone = f"entries {at + 1} to {hostile.size - 1} are missing"
    assert report["findings"][1]["reason"].startswith(gone)
    assert report["counts"]["entries"] == at


def test_length_prefix_shorter(
    hostile: Hostile, capsys: pytest.CaptureFixture[str]
) -> None:
    at = hostile.ken_hours
    prefix = hostile.offset(at)
    length = int.from_bytes(hostile.bundle.read_bytes()[prefix : prefix + 2], "big")
    assert length >= 256
    hostile.flip(hostile.bundle, prefix, 1 << ((length >> 8).bit_length() - 1))
    report = verdict(capsys, hostile)
    # Entry ``at`` is cut short (not JSON); what follows is read out of its tail.
    assert first(report) == ("entry", at)
    assert report["first_failure"]["reason"].startswith("entry is malformed: ")


def test_truncated_bundle_file(
    hostile: Hostile, capsys: pytest.CaptureFixture[str]
) -> None:
    data = hostile.bundle.read_bytes()
    hostile.bundle.write_bytes(data[:-10])
    report = verdict(capsys, hostile)
    last = hostile.size - 1
    assert first(report) == ("entry", last)
    assert report["first_failure"]["reason"] == (
        f"entry {last} cannot be read from tile/entries/000.p/{hostile.size}: its length "
        f"says {hostile.offset(last + 1) - hostile.offset(last) - 2} bytes, "
        f"{hostile.offset(last + 1) - hostile.offset(last) - 12} remain"
    )


def test_bundle_with_trailing_garbage(
    hostile: Hostile, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.bundle.write_bytes(hostile.bundle.read_bytes() + b"garbage")
    report = verdict(capsys, hostile)
    # Every entry is intact; the bundle as a whole holds more than its name says.
    assert checks(report) == [("extra", None)]
    assert report["first_failure"]["reason"] == (
        f"tile/entries/000.p/{hostile.size} holds 7 bytes after its {hostile.size} "
        "entries that are not whole entries"
    )


def test_empty_bundle_file(hostile: Hostile, capsys: pytest.CaptureFixture[str]) -> None:
    hostile.bundle.write_bytes(b"")
    report = verdict(capsys, hostile)
    assert first(report) == ("missing", 0)
    assert report["first_failure"]["reason"].endswith(
        f"needs {hostile.size}: entries 0 to {hostile.size - 1} are missing"
    )
    assert report["counts"]["entries"] == 0


def test_deleted_entry_bundle(hostile: Hostile, capsys: pytest.CaptureFixture[str]) -> None:
    hostile.bundle.unlink()
    report = verdict(capsys, hostile)
    assert first(report) == ("missing", 0)
    assert report["first_failure"]["reason"] == (
        f"entries 0 to {hostile.size - 1} are missing: tile/entries/000.p/{hostile.size} "
        "does not exist"
    )
    # The hash tiles still authenticate against the checkpoint: nothing else.
    assert checks(report) == [("missing", 0)]


def test_zero_length_entry(hostile: Hostile, capsys: pytest.CaptureFixture[str]) -> None:
    at = hostile.ken_hours
    data = hostile.bundle.read_bytes()
    start, stop = hostile.offset(at), hostile.offset(at + 1)
    hostile.bundle.write_bytes(data[:start] + b"\x00\x00" + data[stop:])
    report = verdict(capsys, hostile)
    assert first(report) == ("missing", at)
    assert report["first_failure"]["reason"] == (
        f"entry {at} is empty or absent (zero length in tile/entries/000.p/{hostile.size})"
    )
    # KEN's next entry now follows a gap in its stream.
    assert ("stream_version", hostile.completed.log_index) in checks(report)


def test_deleted_level0_hash_tile(
    hostile: Hostile, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.tile.unlink()
    report = verdict(capsys, hostile)
    # The entries hash to the signed root on their own: only the tile is at fault.
    assert checks(report) == [("tiles", None)]
    assert report["first_failure"]["reason"] == (
        f"hash tile tile/0/000.p/{hostile.size} does not exist"
    )


def test_hash_tile_of_the_wrong_length(
    hostile: Hostile, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.tile.write_bytes(hostile.tile.read_bytes()[:-32])
    report = verdict(capsys, hostile)
    assert checks(report) == [("tiles", None)]
    size = hostile.size
    assert report["first_failure"]["reason"] == (
        f"hash tile tile/0/000.p/{size} is {32 * (size - 1)} bytes, not the {32 * size} "
        f"bytes of {size} hashes its name says"
    )


def test_garbled_checkpoint(hostile: Hostile, capsys: pytest.CaptureFixture[str]) -> None:
    (hostile.out / "checkpoint").write_bytes(b"\xffnot a note at all")
    report = verdict(capsys, hostile)
    assert checks(report) == [("checkpoint", None)]
    reason = report["first_failure"]["reason"]
    assert reason.startswith("the checkpoint file is not a signed checkpoint note: ")
    assert report["checkpoint"] is None and report["counts"]["entries"] == 0
    main([str(hostile.out), "--trust", str(hostile.trust)])
    assert "checkpoint: none could be read" in capsys.readouterr().out


def test_missing_checkpoint(hostile: Hostile, capsys: pytest.CaptureFixture[str]) -> None:
    (hostile.out / "checkpoint").unlink()
    report = verdict(capsys, hostile)
    assert checks(report) == [("checkpoint", None)]
    assert report["first_failure"]["reason"] == "the checkpoint file does not exist"


def test_missing_checkpoint_leaves_the_state_alone(
    hostile: Hostile, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    assert (
        main([str(hostile.out), "--trust", str(hostile.trust), "--state", str(state)]) == 0
    )
    capsys.readouterr()
    before = state.read_text()
    (hostile.out / "checkpoint").unlink()
    report = verdict(capsys, hostile, "--state", state)
    assert report["state"] == {"file": str(state), "checkpoints_seen": 1, "updated": False}
    assert state.read_text() == before


def test_an_unexpected_error_at_one_entry_is_a_finding_there(
    hostile: Hostile, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = hostile.ken_hours
    check = replay.Replay.check

    def broken(self: replay.Replay, index: int, raw: bytes, **options: Any) -> Any:
        if index == at:
            raise RuntimeError("a case nobody foresaw")
        return check(self, index, raw, **options)

    monkeypatch.setattr(replay.Replay, "check", broken)
    report = verdict(capsys, hostile)
    assert first(report) == ("error", at)
    assert report["first_failure"]["reason"] == (
        "the verifier failed on this entry (RuntimeError: a case nobody foresaw); it is "
        "not verified"
    )


# -- several bundles: the walk goes on past a broken one --------------------------------


def _grow(world: World, count: int) -> None:
    w = world
    version = w.ledger.stream_version(w.BRA)
    w.ledger.record_batch(
        [
            w.sign(
                w.officer,
                w.BRA,
                "integrity.flag_raised",
                {"message": f"check {n}", "subject": "timing"},
                expected_version=version + n,
            )
            for n in range(count)
        ]
    )


def test_later_bundles_are_checked_past_a_broken_one(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _grow(world, 300)
    out = tmp_path / "export"
    export(world.ledger, out)
    size = world.ledger.log_size()
    assert [n for n, _ in tiles_of(size)] == [0, 1]
    width = size - 256
    first_bundle = out / tile_path("entries", 0, 256)
    data = bytearray(first_bundle.read_bytes())
    broken, at = 250, 0
    for _ in range(broken):
        at += 2 + int.from_bytes(data[at : at + 2], "big")
    data[at : at + 2] = b"\xff\xff"  # entry 250's length: more than the bundle holds
    first_bundle.write_bytes(bytes(data))
    second = out / tile_path("entries", 1, width)
    data = bytearray(second.read_bytes())
    at = data.index(b'"message":"check ')
    data[at + len('"message":"')] = ord("C")  # an edited flag: its signature breaks
    second.write_bytes(bytes(data))
    edited = 256  # the first entry of the second bundle is a flag
    assert parse_entry(bytes(data[2 : 2 + int.from_bytes(data[:2], "big")])).entry_type == (
        "integrity.flag_raised"
    )
    code = main([str(out), "--trust", str(out / "trust.json"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    found = [(f["check"], f["index"]) for f in report["findings"]]
    assert found[:2] == [("entry", broken), ("missing", broken + 1)]
    assert report["findings"][1]["reason"].startswith(
        f"entries {broken + 1} to 255 are missing"
    )
    assert ("signature", edited) in found
    assert report["counts"]["entries"] == size - (256 - broken)


def test_a_missing_level0_tile_does_not_hide_another_wrong_one(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _grow(world, 300)
    out = tmp_path / "export"
    export(world.ledger, out)
    width = world.ledger.log_size() - 256
    (out / tile_path(0, 0, 256)).unlink()
    wrong = out / tile_path(0, 1, width)
    data = bytearray(wrong.read_bytes())
    data[7] ^= 1
    wrong.write_bytes(bytes(data))
    code = main([str(out), "--trust", str(out / "trust.json"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    # The entries are intact (they hash to the signed root), so they stand in
    # for the missing tile, and the other tile is caught too.
    assert [(f["check"], f["index"]) for f in report["findings"]] == [("tiles", None)] * 2
    reasons = [f["reason"] for f in report["findings"]]
    assert reasons[0] == "hash tile tile/0/000 does not exist"
    assert reasons[1].startswith(
        "the level-0 hash tiles (the entries' leaf hashes for those missing) hash to root"
    )


# -- C2SP tlog-tiles: a grown mirror serves full tiles for older partial ones ----------


def test_an_older_checkpoint_verifies_against_a_grown_mirror(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old"
    export(world.ledger, old)
    old_size = world.ledger.log_size()
    trust = tmp_path / "trust.json"
    shutil.copy(old / "trust.json", trust)
    _grow(world, 300)
    grown = tmp_path / "grown"
    export(world.ledger, grown)
    # The grown mirror has full tiles where the old checkpoint names partial ones.
    for name in (tile_path(0, 0, old_size), tile_path("entries", 0, old_size)):
        assert (old / name).exists() and not (grown / name).exists()
    assert (grown / tile_path(0, 0, 256)).exists()
    mirror = tmp_path / "mirror"
    shutil.copytree(grown, mirror)
    shutil.copy(old / "checkpoint", mirror / "checkpoint")
    code = main([str(mirror), "--trust", str(trust), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["findings"]
    assert report["checkpoint"]["size"] == old_size
    assert report["counts"]["entries"] == old_size
    # An auditor who saw the grown log: the older checkpoint is a rollback.
    state = tmp_path / "state.json"
    assert main([str(grown), "--trust", str(trust), "--state", str(state)]) == 0
    capsys.readouterr()
    code = main([str(mirror), "--trust", str(trust), "--state", str(state), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(f["check"], f["index"]) for f in report["findings"]] == [("rollback", None)]


def test_a_full_tile_that_disagrees_is_still_caught(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old"
    export(world.ledger, old)
    old_size = world.ledger.log_size()
    _grow(world, 300)
    mirror = tmp_path / "mirror"
    export(world.ledger, mirror)
    shutil.copy(old / "checkpoint", mirror / "checkpoint")
    full = mirror / tile_path(0, 0, 256)
    data = bytearray(full.read_bytes())
    data[3 * 32] ^= 1  # leaf hash 3, inside the old checkpoint's prefix
    full.write_bytes(bytes(data))
    code = main([str(mirror), "--trust", str(old / "trust.json"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["checkpoint"]["size"] == old_size
    assert [(f["check"], f["index"]) for f in report["findings"]] == [("tiles", None)]
    assert "the level-0 hash tiles hash to root" in report["findings"][0]["reason"]
