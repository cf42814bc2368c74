"""Tampered exports: the verifier names the first bad entry and why.

Each test builds a real signed ledger (``world``, SQLite and PostgreSQL),
exports it, then attacks the files: edits, deletions, insertions and swaps of
entries, replaced signatures, statements signed by revoked or rotated keys or
by an NCP for another Member, checkpoints below the witness quorum, and the
operator's own attacks — re-signing checkpoints with the log key over a
truncated, forked or rewritten history, which only the state file catches.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.export import export
from ledger.home import key_path
from ledger.keys import KeyPair
from verify.__main__ import main
from verify.check.verifier import VerifyResult, verify_export
from verify.formats.bundle import split_bundle
from verify.formats.checkpoint import Checkpoint, parse_checkpoint, sign_checkpoint
from verify.formats.cosignature import CosignatureSigner
from verify.formats.entry import entry_bytes, parse_entry
from verify.formats.note_keys import Ed25519Signer
from verify.formats.statement import parse_timestamp, sign
from verify.formats.tiles import tile_path, tiles_of
from verify.merkle.tree import leaf_hash, memory_perfect, root_of

if TYPE_CHECKING:
    from tests.conftest import World


@dataclass
class Log:
    """An exported world: the folder, a pinned copy of its trust file, and
    the log indexes of the entries the tests attack."""

    world: World
    out: Path
    trust: Path
    index: dict[str, int]
    ken_key: KeyPair  # ncp-ken's key after its rotation

    def entries(self, out: Path | None = None) -> list[bytes]:
        return read_entries(out or self.out)

    def verify(self, out: Path | None = None, **options: Any) -> VerifyResult:
        return verify_export(out or self.out, self.trust, **options)


def read_entries(out: Path) -> list[bytes]:
    files = sorted((out / "tile" / "entries").rglob("*"))
    return [
        e for path in files if path.is_file() for e in split_bundle(path.read_bytes(), path)
    ]


def put_entries(out: Path, entries: list[bytes]) -> None:
    """Overwrite the (single) entry bundle in place, keeping its name."""
    [path] = [p for p in (out / "tile" / "entries").rglob("*") if p.is_file()]
    path.write_bytes(b"".join(len(e).to_bytes(2, "big") + e for e in entries))


def resign(log: Log, entries: list[bytes], out: Path) -> str:
    """The operator's export of ``entries``: tiles, bundles and a checkpoint
    signed with the ledger's own log key. Returns the checkpoint note."""
    if out.exists():
        shutil.rmtree(out)
    leaves = [leaf_hash(e) for e in entries]
    perfect = memory_perfect(leaves)
    for n, width in tiles_of(len(entries)):
        chunk = entries[n * 256 : n * 256 + width]
        _write(out / tile_path("entries", n, width), b"".join(_framed(e) for e in chunk))
    level = 0
    while len(leaves) >> (8 * level):
        for n, width in tiles_of(len(leaves) >> (8 * level)):
            hashes = [perfect(8 * level, n * 256 + i) for i in range(width)]
            _write(out / tile_path(level, n, width), b"".join(hashes))
        level += 1
    origin = log.world.ledger.origin
    key = KeyPair.load(key_path(log.world.ledger.settings, "log"))
    note = sign_checkpoint(
        Checkpoint(origin, len(entries), root_of(leaves)),
        Ed25519Signer(origin, key.private_key),
    )
    _write(out / "checkpoint", note.encode())
    return note


def _framed(entry: bytes) -> bytes:
    return len(entry).to_bytes(2, "big") + entry


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def forge(
    log: Log,
    key: KeyPair,
    stream: str,
    statement_type: str,
    body: dict[str, Any],
    version: int,
    after: bytes,
    *,
    signer: KeyPair | None = None,
) -> bytes:
    """An entry ``key``'s principal signs (with ``signer``'s key, if given),
    recorded at stream ``version`` a second after the entry ``after``."""
    statement = key.statement(
        log.world.ledger.origin, stream, statement_type, body, version - 1
    )
    signed = sign(statement, (signer or key).private_key)
    return entry_bytes(signed, version, _recorded_at(after) + timedelta(seconds=1))


def _recorded_at(raw: bytes) -> datetime:
    return parse_timestamp(parse_entry(raw).recorded_at)


def _version(raw: bytes) -> int:
    return parse_entry(raw).stream_version


@pytest.fixture
def log(world: World, tmp_path: Path) -> Log:
    w = world
    index = {"ken_hours": w.hours(w.ncp_ken, w.KEN, "12.5").log_index}
    index["bra_hours"] = w.hours(w.ncp_bra, w.BRA, "30").log_index
    ken_key = KeyPair.generate(w.ncp_ken.principal)
    body = {"principal": "ncp-ken", "public_key": ken_key.public_key, "reason": "rotation"}
    index["rotated"] = w.record(
        w.ncp_ken, "registry", "principal.key_rotated", body
    ).log_index
    pct = {"amount": "87.5"}
    index["ken_pct"] = w.submit(ken_key, w.KEN, w.KPI_PERCENT, pct, "percent").log_index
    body = {"principal": "ncp-bra", "reason": "left the administration"}
    index["revoked"] = w.record(w.admin, "registry", "principal.revoked", body).log_index
    source = {"name": "World Bank DataBank", "sha256": "a" * 64}
    ratio = {"numerator": "3", "denominator": "4"}
    recorded = w.submit(w.sec, w.BRA, w.KPI_RATIO, ratio, "ratio", source=source)
    index["last"] = recorded.log_index
    out = tmp_path / "export"
    export(w.ledger, out)
    trust = tmp_path / "pinned-trust.json"
    shutil.copy(out / "trust.json", trust)
    return Log(w, out, trust, index, ken_key)


def first(result: VerifyResult) -> tuple[str, int | None]:
    failure = result.first_failure
    assert failure is not None, "the tampered export verified"
    return failure.check, failure.index


def test_clean_export_verifies(log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    result = log.verify()
    assert result.verified, result.findings
    assert main([str(log.out), "--trust", str(log.trust)]) == 0
    assert capsys.readouterr().out.startswith("verified ")


def test_changed_value(log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    entries = log.entries()
    at = log.index["ken_hours"]
    assert b'"amount":"12.5"' in entries[at]
    entries[at] = entries[at].replace(b'"amount":"12.5"', b'"amount":"2.5"')
    put_entries(log.out, entries)
    result = log.verify()
    assert first(result) == ("signature", at)
    failure = result.findings[0]
    assert (failure.stream, failure.entry_type) == (log.world.KEN, "value.submitted")
    assert "signature does not verify for principal 'ncp-ken'" in failure.reason
    # The tiles still match the checkpoint, so the entry is also named as not
    # the one the signed tree holds.
    assert [(f.check, f.index) for f in result.findings] == [
        ("signature", at),
        ("tree", at),
    ]
    assert main([str(log.out), "--trust", str(log.trust), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is False and report["exit_code"] == 1
    assert report["first_failure"]["index"] == at
    assert report["first_failure"]["check"] == "signature"
    assert report["first_failure"]["stream"] == log.world.KEN
    assert report["first_failure"]["entry_type"] == "value.submitted"


def test_deleted_first_entry(log: Log) -> None:
    put_entries(log.out, log.entries()[1:])
    result = log.verify()
    assert first(result) == ("genesis", 0)
    assert (
        "entry 0 must be the genesis entry (registry.genesis), not principal.registered"
        in (result.findings[0].reason)
    )


def test_deleted_middle_entry(log: Log) -> None:
    entries = log.entries()
    # Entries 1..6 register the six principals, registry versions 2..7.
    assert parse_entry(entries[2]).entry_type == "principal.registered"
    del entries[2]
    put_entries(log.out, entries)
    result = log.verify()
    assert first(result) == ("stream_version", 2)
    assert result.findings[0].reason == (
        "stream 'registry' version 4 follows version 2; versions are contiguous from 1"
    )


def test_deleted_last_entry(log: Log) -> None:
    entries = log.entries()
    size = len(entries)
    put_entries(log.out, entries[:-1])
    result = log.verify()
    assert first(result) == ("missing", size - 1)
    assert result.findings[0].reason.endswith(f"needs {size}: entry {size - 1} is missing")


def test_truncated_tail(log: Log, tmp_path: Path) -> None:
    entries = log.entries()
    cut = tmp_path / "cut"
    shutil.copytree(log.out, cut)
    put_entries(cut, entries[:-3])
    result = log.verify(cut)
    size = len(entries)
    assert first(result) == ("missing", size - 3)
    assert f": entries {size - 3} to {size - 1} are missing" in result.findings[0].reason
    assert result.counts.entries == size - 3
    # Truncated and re-signed by the operator: a valid smaller log on its own,
    # a rollback for an auditor who saw the full one.
    state = tmp_path / "state.json"
    assert log.verify(state_file=state).verified
    shorter = tmp_path / "shorter"
    resign(log, entries[:-3], shorter)
    assert log.verify(shorter).verified
    result = log.verify(shorter, state_file=state)
    assert first(result) == ("rollback", None)


@pytest.mark.parametrize("resigned", [False, True], ids=["as-is", "checkpoint-resigned"])
def test_inserted_forged_entry(log: Log, tmp_path: Path, resigned: bool) -> None:
    w = log.world
    entries = log.entries()
    at = log.index["ken_hours"]  # the forgery goes where this value was recorded
    attacker = KeyPair.generate("attacker")
    body = w.value_body(w.KPI_YES_NO, {"answer": True}, "yes_no")
    forged = forge(
        log,
        log.world.ncp_ken,
        w.KEN,
        "value.submitted",
        body,
        _version(entries[at]),
        entries[at - 1],
        signer=attacker,
    )
    entries.insert(at, forged)
    out = tmp_path / "operator"
    if resigned:
        resign(log, entries, out)
    else:
        shutil.copytree(log.out, out)
        put_entries(out, entries)
    result = log.verify(out)
    assert first(result) == ("signature", at)
    assert result.findings[0].entry_type == "value.submitted"
    checks = {f.check for f in result.findings}
    assert ("extra" in checks) is not resigned  # the bundle outgrew its name


def test_swapped_entries(log: Log) -> None:
    entries = log.entries()
    kinds = [parse_entry(e).entry_type for e in entries]
    at = kinds.index("kpi.defined")  # four KPI definitions in a row
    entries[at], entries[at + 1] = entries[at + 1], entries[at]
    put_entries(log.out, entries)
    result = log.verify()
    assert first(result) == ("stream_version", at)
    version = _version(entries[at])
    assert result.findings[0].reason == (
        f"stream 'framework' version {version} follows version {version - 2}; "
        "versions are contiguous from 1"
    )


def test_swapped_entries_of_different_streams(log: Log) -> None:
    entries = log.entries()
    at = log.index["ken_hours"]  # KEN value, then the BRA value just after
    entries[at], entries[at + 1] = entries[at + 1], entries[at]
    put_entries(log.out, entries)
    result = log.verify()
    # Both entries are in order in their own streams; the signed tree and the
    # record time say otherwise.
    assert first(result) == ("tree", at)
    assert ("recorded_at", at + 1) in [(f.check, f.index) for f in result.findings]


def test_replaced_signature(log: Log) -> None:
    entries = log.entries()
    at, other = log.index["ken_hours"], log.index["bra_hours"]
    mine, theirs = parse_entry(entries[at]).signed, parse_entry(entries[other]).signed
    entries[at] = entries[at].replace(mine.signature.encode(), theirs.signature.encode())
    put_entries(log.out, entries)
    result = log.verify()
    assert first(result) == ("signature", at)
    assert "the statement was altered after signing or signed with another key" in (
        result.findings[0].reason
    )


def test_statement_signed_by_a_revoked_key(log: Log) -> None:
    w = log.world
    entries = log.entries()
    body = w.value_body(w.KPI_YES_NO, {"answer": False}, "yes_no")
    bra_version = _version(entries[log.index["last"]])
    forged = forge(
        log, w.ncp_bra, w.BRA, "value.submitted", body, bra_version + 1, entries[-1]
    )
    resign(log, [*entries, forged], log.out)
    result = log.verify()
    assert first(result) == ("principal", len(entries))
    assert result.findings[0].reason == (
        f"principal 'ncp-bra' was revoked at entry {log.index['revoked']} (left the "
        "administration); its keys sign nothing after that"
    )
    assert result.findings[0].stream == w.BRA


def test_statement_signed_by_a_rotated_out_key(log: Log) -> None:
    w = log.world
    entries = log.entries()
    body = w.value_body(w.KPI_YES_NO, {"answer": True}, "yes_no")
    ken_version = _version(entries[log.index["ken_pct"]])
    forged = forge(
        log, w.ncp_ken, w.KEN, "value.submitted", body, ken_version + 1, entries[-1]
    )
    resign(log, [*entries, forged], log.out)
    result = log.verify()
    assert first(result) == ("key", len(entries))
    assert f"was rotated out at entry {log.index['rotated']}" in result.findings[0].reason


def test_ncp_signing_for_another_member(log: Log) -> None:
    w = log.world
    entries = log.entries()
    body = w.value_body(w.KPI_YES_NO, {"answer": True}, "yes_no")
    bra_version = _version(entries[log.index["last"]])
    forged = forge(
        log, log.ken_key, w.BRA, "value.submitted", body, bra_version + 1, entries[-1]
    )
    resign(log, [*entries, forged], log.out)
    result = log.verify()
    assert first(result) == ("member", len(entries))
    assert result.findings[0].reason == (
        "principal 'ncp-ken' is the NCP for KEN, and may act only for its own Member, "
        f"not in stream {w.BRA!r}"
    )
    assert len(result.findings) == 1


def test_checkpoint_below_the_witness_quorum(
    log: Log, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = json.loads(log.trust.read_text())
    witness = CosignatureSigner.generate("audit.example/witness").verifier().vkey()
    trust["policy"] = (
        f"log {trust['log_vkey']}\nwitness auditor {witness}\nquorum auditor\n"
    )
    log.trust.write_text(json.dumps(trust))
    result = log.verify()
    assert first(result) == ("quorum", None)
    assert (
        "cosigned by no witness: does not meet quorum 'auditor'"
        in result.findings[0].reason
    )
    assert len(result.findings) == 1
    assert main([str(log.out), "--trust", str(log.trust)]) == 1
    assert capsys.readouterr().out.startswith("FAILED ")


def test_checkpoint_signed_by_another_key(log: Log) -> None:
    note = (log.out / "checkpoint").read_text()
    body = note[: note.index("\n\n") + 1]
    impostor = Ed25519Signer.generate(log.world.ledger.origin)
    (log.out / "checkpoint").write_text(
        sign_checkpoint(Checkpoint(*_fields(body)), impostor)
    )
    result = log.verify()
    assert first(result) == ("checkpoint", None)
    assert "no signature by a known key" in result.findings[0].reason


def _fields(body: str) -> tuple[str, int, bytes]:
    checkpoint = parse_checkpoint(body)
    return checkpoint.origin, checkpoint.size, checkpoint.root


def _alternative_history(log: Log) -> list[bytes]:
    """The log with its last entry (a Secretariat value) replaced by another
    value the same principal signed for the same stream version."""
    w = log.world
    entries = log.entries()
    last = entries[-1]
    source = {"name": "World Bank DataBank", "sha256": "b" * 64}
    ratio = {"numerator": "5", "denominator": "4"}
    body = w.value_body(w.KPI_RATIO, ratio, "ratio", source=source)
    other = forge(log, w.sec, w.BRA, "value.submitted", body, _version(last), entries[-2])
    return [*entries[:-1], other]


def test_fork_is_shown_with_both_checkpoints(
    log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    assert log.verify(state_file=state).verified
    seen = (log.out / "checkpoint").read_text()
    fork = tmp_path / "fork"
    forked_note = resign(log, _alternative_history(log), fork)
    assert log.verify(fork).verified  # valid on its own: only the state knows
    before = state.read_text()
    assert main([str(fork), "--trust", str(log.trust), "--state", str(state)]) == 1
    text = capsys.readouterr().out
    assert text.startswith("FAILED ") and "log: fork: equivocation" in text
    assert seen.rstrip("\n") in text and forked_note.rstrip("\n") in text
    assert state.read_text() == before
    result = log.verify(fork, state_file=state)
    assert first(result) == ("fork", None)
    evidence = result.findings[0].evidence
    assert [e.note for e in evidence] == [seen, forked_note]


def test_rollback_to_an_older_bundle(log: Log, tmp_path: Path) -> None:
    w = log.world
    state = tmp_path / "state.json"
    old = tmp_path / "old"
    shutil.copytree(log.out, old)
    w.hours(log.ken_key, w.KEN, "12", year=w.REFERENCE_YEAR - 1)
    newer = tmp_path / "newer"
    export(w.ledger, newer)
    assert log.verify(newer, state_file=state).verified
    before = state.read_text()
    result = log.verify(old, state_file=state)
    size = len(read_entries(old))
    assert first(result) == ("rollback", None)
    assert result.findings[0].reason == (
        f"checkpoint of size {size} is older than the checkpoint of size {size + 1} seen "
        "before: the log was rolled back or truncated"
    )
    assert len(result.findings[0].evidence) == 2
    assert state.read_text() == before and not result.state_updated


def test_history_rewritten_and_every_checkpoint_resigned(log: Log, tmp_path: Path) -> None:
    w = log.world
    state = tmp_path / "state.json"
    assert log.verify(state_file=state).verified
    entries = _alternative_history(log)
    body = w.value_body(w.KPI_YES_NO, {"answer": True}, "yes_no")
    more = forge(
        log,
        log.ken_key,
        w.KEN,
        "value.submitted",
        body,
        _version(entries[log.index["ken_pct"]]) + 1,
        entries[-1],
    )
    rewritten = tmp_path / "rewritten"
    resign(log, [*entries, more], rewritten)
    assert log.verify(rewritten).verified  # every entry and checkpoint is valid
    result = log.verify(rewritten, state_file=state)
    assert first(result) == ("rewrite", None)
    size = len(entries)
    assert (
        f"the checkpoint of size {size} seen before has root" in result.findings[0].reason
    )
    assert "history was rewritten" in result.findings[0].reason
    assert [e.label.split(" ")[0] for e in result.findings[0].evidence] == [
        "seen",
        "presented",
    ]


def test_first_failure_is_deterministic_across_parallel_chunks(
    world: World, tmp_path: Path
) -> None:
    w = world
    version = w.ledger.stream_version(w.KEN)
    flags = [
        w.sign(
            w.officer,
            w.KEN,
            "integrity.flag_raised",
            {"message": f"check {n}", "subject": "timing"},
            expected_version=version + n,
        )
        for n in range(300)
    ]
    w.ledger.record_batch(flags)
    out = tmp_path / "export"
    export(w.ledger, out)
    entries = read_entries(out)
    targets = [len(entries) - 10, len(entries) - 250]  # in bundles 1 and 0
    for at in targets:
        assert b'"message":"check ' in entries[at]
        entries[at] = entries[at].replace(b'"message":"check ', b'"message":"Check ')
    for n, width in tiles_of(len(entries)):
        chunk = entries[n * 256 : n * 256 + width]
        (out / tile_path("entries", n, width)).write_bytes(b"".join(map(_framed, chunk)))
    trust = out / "trust.json"
    inline = verify_export(out, trust, workers=1)
    parallel = verify_export(out, trust, workers=2)
    assert inline.findings == parallel.findings
    assert [(f.check, f.index) for f in inline.findings] == [
        ("signature", min(targets)),
        ("tree", min(targets)),
        ("signature", max(targets)),
    ]


def test_tampered_hash_tile(log: Log) -> None:
    [tile] = [p for p in (log.out / "tile" / "0").rglob("*") if p.is_file()]
    data = bytearray(tile.read_bytes())
    data[5 * 32] ^= 1  # leaf hash 5
    tile.write_bytes(bytes(data))
    result = log.verify()
    # The entries still hash to the signed root: the tiles are at fault, and
    # no entry is blamed.
    assert first(result) == ("tiles", None)
    assert [f.check for f in result.findings] == ["tiles"]
    assert "the level-0 hash tiles hash to root" in result.findings[0].reason


def test_published_table_that_the_entries_do_not_give(log: Log, tmp_path: Path) -> None:
    """docs/design.md §5 item 5: a Secretariat key signs a publication whose table
    lies (a KPI score raised), and the operator logs it and re-signs the
    checkpoint. Signature, role and tree are all valid; the replay is not."""
    w = log.world
    entries = log.entries()
    honest = w.publication(w.KEN)
    assert honest["scores"]["kpis"][w.KPI_HOURS] is not None
    doctored = json.loads(json.dumps(honest))
    doctored["scores"]["kpis"][w.KPI_HOURS] = "100.00"
    version = w.ledger.stream_version(w.KEN) + 1
    # The NCP completes its submission first: only then may it be published.
    done = forge(log, log.ken_key, w.KEN, "submission.completed", {}, version, entries[-1])
    for body in (honest, doctored):
        forged = forge(log, w.sec, w.KEN, "assessment.published", body, version + 1, done)
        out = tmp_path / f"operator-{body is doctored}"
        resign(log, [*entries, done, forged], out)
        result = log.verify(out)
        if body is honest:
            assert result.verified, result.findings
            continue
        assert first(result) == ("scores", len(entries) + 1)
        finding = result.findings[0]
        assert finding.entry_type == "assessment.published"
        assert f"kpis.{w.KPI_HOURS} is 100.00" in finding.reason
