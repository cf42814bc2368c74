"""Workers read entries and check signatures ahead of the replay (decision 36).

With real worker processes and no read-ahead, the workers know every key the
registry has named before each bundle, so they check the signatures of the
bundles after the first: the verdict on a tampered log must be the serial
one, finding for finding, and the signatures must indeed have been checked
there, not in the main process. A worker's outcome under a key other than the
signer's is never taken, and a worker that could not read an entry leaves it
to the replay's own words.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.export import export
from verify.check import precheck as precheck_module
from verify.check import replay, signatures, walk
from verify.check.precheck import KnownKeys, precheck, signature_outcome
from verify.check.verifier import verify_export
from verify.formats.bundle import split_bundle
from verify.formats.entry import parse_entry
from verify.formats.statement import key_id
from verify.formats.tiles import tile_path, tiles_of

if TYPE_CHECKING:
    from tests.conftest import World


def _entries(out: Path) -> list[bytes]:
    files = sorted((out / "tile" / "entries").rglob("*"))
    return [e for p in files if p.is_file() for e in split_bundle(p.read_bytes(), p)]


def _rewrite(out: Path, entries: list[bytes]) -> None:
    for n, width in tiles_of(len(entries)):
        chunk = entries[n * 256 : n * 256 + width]
        framed = b"".join(len(e).to_bytes(2, "big") + e for e in chunk)
        (out / tile_path("entries", n, width)).write_bytes(framed)


@pytest.fixture
def two_bundles(world: World, tmp_path: Path) -> Path:
    """An export of two entry bundles, the second one tampered with: a
    statement changed after signing, a signature replaced by another entry's,
    an entry that is no longer canonical, one that is not JSON."""
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
    entries = _entries(out)
    last = len(entries) - 1
    entries[last - 40] = entries[last - 40].replace(b'"check ', b'"Check ')
    theirs = parse_entry(entries[last - 30]).signed.signature.encode()
    mine = parse_entry(entries[last - 20]).signed.signature.encode()
    entries[last - 20] = entries[last - 20].replace(mine, theirs)
    entries[last - 10] = entries[last - 10].replace(b'{"entry_type"', b'{ "entry_type"')
    entries[last - 5] = entries[last - 5][:-1]
    _rewrite(out, entries)
    return out


def test_workers_check_the_signatures_and_the_verdict_is_the_serial_one(
    two_bundles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust = two_bundles / "trust.json"
    serial = verify_export(two_bundles, trust, workers=1)
    in_main: list[int] = []
    checked_here = signatures.signature_failure

    def counted(job: signatures.SignatureJob) -> object:
        in_main.append(job.index)
        return checked_here(job)

    monkeypatch.setattr(replay, "signature_failure", counted)
    submit = signatures.SignaturePool.submit

    def sent(pool: signatures.SignaturePool, jobs: list[signatures.SignatureJob]) -> None:
        in_main.extend(job.index for job in jobs)  # checked by a worker, but as a job
        submit(pool, jobs)

    monkeypatch.setattr(signatures.SignaturePool, "submit", sent)
    monkeypatch.setattr(signatures.SignaturePool, "window", property(lambda self: 0))
    # This test compares with the serial run itself: no shadow walks (conftest).
    monkeypatch.setattr(walk.Walk, "run", getattr(walk.Walk.run, "__wrapped__"))  # noqa: B009
    parallel = verify_export(two_bundles, trust, workers=2)
    assert parallel.findings == serial.findings
    assert parallel.counts == serial.counts
    size = serial.size
    found = [(f.check, f.index) for f in serial.findings]
    assert found[:4] == [
        ("signature", size - 41),
        ("tree", size - 41),
        ("signature", size - 21),
        ("entry", size - 11),
    ]
    assert ("entry", size - 6) in found  # then the versions after the unread ones
    # Bundle 0 went out before the registry was replayed; bundle 1 did not, so
    # its workers knew the keys: no signature of it came back as a job.
    assert in_main and max(in_main) < 256


def test_an_outcome_under_another_key_is_not_taken(world: World, tmp_path: Path) -> None:
    w = world
    recorded = w.hours(w.ncp_ken, w.KEN, "12.5")
    out = tmp_path / "export"
    export(w.ledger, out)
    raw = _entries(out)[recorded.log_index]
    right = base64.b64decode(w.ncp_ken.public_key)
    wrong = base64.b64decode(w.ncp_bra.public_key)
    claimed = parse_entry(raw).signed.statement["key_id"]
    assert claimed == key_id(right)
    found = precheck(raw, {claimed: wrong})  # the key id sent with another key
    assert found is not None and found[2] == wrong and found[3] is not None
    assert signature_outcome(found, right) == (False, None)  # the replay checks it
    assert signature_outcome(precheck(raw, {claimed: right}), right) == (True, None)
    assert signature_outcome(precheck(raw, {}), right) == (False, None)


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{",
        b'{"entry_type":1.5}',
        b"\xff",
        b'{"a":1,"a":1}',
        b"[" * 50_000,
    ],
    ids=["empty", "cut", "float", "not-utf8", "duplicate-key", "deep"],
)
def test_what_a_worker_cannot_read_is_left_to_the_replay(damage: bytes) -> None:
    assert precheck(damage, {}) is None


def test_known_keys_are_sent_as_a_new_table_when_the_registry_grows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = [bytes([n]) * 32 for n in range(5)]
    owners = {base64.b64encode(k).decode(): f"p{n}" for n, k in enumerate(keys[:2])}
    known = KnownKeys()
    first = known.sent(owners)
    assert first == {key_id(k): k for k in keys[:2]}
    assert known.sent(owners) is first  # unchanged: the same table
    owners["not base64!"] = "p-bad"  # never registered, but never sent either
    owners[base64.b64encode(keys[2]).decode()] = "p2"
    second = known.sent(owners)
    assert second is not first and first == {key_id(k): k for k in keys[:2]}
    assert second == {key_id(k): k for k in keys[:3]}
    monkeypatch.setattr(precheck_module, "MAX_SENT_KEYS", 4)
    for k in keys[3:]:
        owners[base64.b64encode(k).decode()] = "p"
    assert known.sent(owners) == {key_id(k): k for k in keys[:4]}  # at most the cap
