"""The integrity log on both backends: gapless indexes in commit order, stored
subtree hashes that agree with a naive RFC 6962 root, signed checkpoints,
receipts that verify offline, proofs in range only, and crash recovery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ledger.application import Ledger
from ledger.errors import LogRangeError
from ledger.home import open_ledger
from verify.formats.checkpoint import parse_checkpoint
from verify.formats.note import open_note
from verify.formats.note_keys import Ed25519Verifier
from verify.formats.policy_text import parse_policy
from verify.formats.receipt import parse_receipt, verify_receipt
from verify.merkle.tree import leaf_hash, root_of, verify_consistency, verify_inclusion

if TYPE_CHECKING:
    from tests.conftest import World


def values(world: World, count: int, start: int = 0, year: int = 2022) -> None:
    """Record ``count`` entries through real statements (one per write); slot
    ``i`` (from ``start``) is a distinct Member, KPI and reference year."""
    kpis: list[tuple[str, str, dict[str, Any]]] = [
        (world.KPI_HOURS, "hours", {"amount": "12.5"}),
        (world.KPI_PERCENT, "percent", {"amount": "80"}),
        (world.KPI_RATIO, "ratio", {"denominator": "4", "numerator": "3"}),
        (world.KPI_YES_NO, "yes_no", {"answer": True}),
    ]
    for i in range(start, start + count):
        kpi, unit, value = kpis[i % 4]
        stream, key = [(world.KEN, world.ncp_ken), (world.BRA, world.ncp_bra)][i // 4 % 2]
        body = world.value_body(kpi, value, unit, year=year - i // 8)
        world.ledger.record(world.sign(key, stream, "value.submitted", body))


def all_entries(ledger: Ledger) -> list[bytes]:
    entries = ledger.sequencer.store.entries(0, ledger.log_size())
    assert [i for i, _ in entries] == list(range(ledger.log_size()))
    return [raw for _, raw in entries]


def policy(ledger: Ledger) -> str:
    return f"log {ledger.log_vkey()}\nquorum none\n"


def test_log_covers_every_entry_in_order_and_matches_a_naive_root(world: World) -> None:
    values(world, 8)
    ledger = world.ledger
    entries = all_entries(ledger)
    notifications = ledger.recorder.select_notifications(start=1, limit=10_000)
    assert entries == [bytes(n.state) for n in notifications]
    note = ledger.sequencer.checkpoint()
    opened = open_note(note, [Ed25519Verifier.from_vkey(ledger.log_vkey())])
    checkpoint = parse_checkpoint(opened.text)
    assert (checkpoint.origin, checkpoint.size) == (ledger.origin, len(entries))
    assert checkpoint.root == root_of([leaf_hash(e) for e in entries])
    for size in (1, 2, 3, len(entries) // 2, len(entries)):
        assert ledger.sequencer.root(size) == root_of(
            [leaf_hash(e) for e in entries[:size]]
        )


def test_every_write_returns_a_receipt_that_verifies_offline(world: World) -> None:
    stream, key = world.KEN, world.ncp_ken
    body = world.value_body(world.KPI_HOURS, {"amount": "7"}, "hours")
    recorded = world.ledger.record(world.sign(key, stream, "value.submitted", body))
    assert recorded.receipt is not None
    raw = all_entries(world.ledger)[recorded.log_index]
    trust = parse_policy(policy(world.ledger))
    verified = verify_receipt(recorded.receipt, leaf_hash(raw), trust)
    assert verified.receipt.index == recorded.log_index
    # A receipt for another entry's bytes does not verify.
    with pytest.raises(Exception, match=r"(?i)root|proof|inclusion"):
        verify_receipt(recorded.receipt, leaf_hash(raw + b" "), trust)


def test_receipts_for_older_sizes_and_consistency_proofs(world: World) -> None:
    values(world, 6)
    ledger = world.ledger
    entries = all_entries(ledger)
    leaves = [leaf_hash(e) for e in entries]
    middle = len(entries) - 3
    receipt = parse_receipt(ledger.receipt(2, middle))
    checkpoint = parse_checkpoint(receipt.checkpoint.split("\n\n")[0] + "\n")
    assert checkpoint.size == middle
    verify_inclusion(2, middle, leaves[2], receipt.path, root_of(leaves[:middle]))
    for old in range(1, len(entries) + 1):
        proof = ledger.sequencer.consistency(old, len(entries))
        verify_consistency(old, len(entries), root_of(leaves[:old]), root_of(leaves), proof)


@pytest.mark.parametrize(
    ("index", "size"), [(-1, None), (10_000, None), (5, 3), (0, 10_000)]
)
def test_out_of_range_proof_requests_are_refused(
    world: World, index: int, size: int | None
) -> None:
    before = world.ledger.log_size()
    with pytest.raises(LogRangeError):
        world.ledger.receipt(index, size)
    assert world.ledger.log_size() == before


@pytest.mark.parametrize(("old", "new"), [(0, 3), (4, 3), (1, 10_000)])
def test_out_of_range_consistency_requests_are_refused(
    world: World, old: int, new: int
) -> None:
    with pytest.raises(LogRangeError):
        world.ledger.sequencer.consistency(old, new)


def test_crash_between_commit_and_integration_is_repaired_at_start(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries committed but not integrated (the process died in between)
    are integrated, in commit order, when the ledger next starts."""
    ledger = world.ledger
    size = ledger.log_size()

    def crash() -> None:
        raise SystemExit("killed between commit and integration")

    monkeypatch.setattr(ledger.sequencer, "integrate", crash)
    for slot in range(3):
        with pytest.raises(SystemExit):
            values(world, 1, start=slot)
    monkeypatch.undo()
    assert ledger.log_size() == size  # committed, not yet in the log
    settings = ledger.settings
    ledger.close()
    restarted = open_ledger(settings)
    world.ledger = restarted
    try:
        entries = all_entries(restarted)
        assert len(entries) == size + 3
        stored = restarted.recorder.select_notifications(start=1, limit=10_000)
        assert entries == [bytes(n.state) for n in stored]
        note = restarted.sequencer.checkpoint()
        assert parse_checkpoint(note.split("\n\n")[0] + "\n").root == root_of(
            [leaf_hash(e) for e in entries]
        )
        # The next write continues the log without a gap.
        values(world, 1, start=3)
        assert restarted.log_size() == size + 4
    finally:
        restarted.close()


def test_checkpoint_for_a_size_inside_a_batch_is_signed_in_memory(world: World) -> None:
    ledger = world.ledger
    bodies = [
        world.value_body(world.KPI_HOURS, {"amount": str(n)}, "hours", year=2021 + n)
        for n in range(2)
    ]
    versions = ledger.stream_version(world.KEN)
    statements = []
    for offset, body in enumerate(bodies):
        statement = world.ncp_ken.statement(
            ledger.origin, world.KEN, "value.submitted", body, versions + offset
        )
        statements.append(world.ncp_ken.sign(statement))
    recorded = ledger.record_batch(statements)
    inside = recorded[0].log_index + 1  # the log never stopped at this size
    assert ledger.sequencer.store.checkpoint(inside) is None
    note = ledger.sequencer.checkpoint(inside)
    assert ledger.sequencer.checkpoint(inside) == note  # deterministic
    assert ledger.sequencer.store.checkpoint(inside) is None  # a read stores nothing
    leaves = [leaf_hash(e) for e in all_entries(ledger)]
    receipt = parse_receipt(ledger.receipt(recorded[0].log_index, inside))
    verify_inclusion(
        recorded[0].log_index,
        inside,
        leaves[recorded[0].log_index],
        receipt.path,
        root_of(leaves[:inside]),
    )
    verify_receipt(receipt, leaves[recorded[0].log_index], parse_policy(policy(ledger)))


def test_without_a_stored_checkpoint_the_latest_is_signed_in_memory(world: World) -> None:
    """A log whose checkpoints are gone (or were never stored) still answers the
    latest checkpoint, signed in memory, and the read writes nothing (decision 24)."""
    ledger = world.ledger
    latest = ledger.sequencer.checkpoint()
    with ledger.sequencer.store.transaction(commit=True) as cur:
        cur.execute("DELETE FROM {p}pmm_log_checkpoints")
    note = ledger.sequencer.checkpoint()
    assert note == latest  # the same size and root, and Ed25519 is deterministic
    assert ledger.sequencer.checkpoint() == note
    assert ledger.sequencer.store.checkpoint() is None
    opened = open_note(note, [Ed25519Verifier.from_vkey(ledger.log_vkey())])
    assert parse_checkpoint(opened.text).size == ledger.log_size()
