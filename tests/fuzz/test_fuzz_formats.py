"""Round trips and never-crash properties of every byte format.

Round trip: what the writer gives, the reader reads back equal, and writing
that again gives the same bytes. Never crash: mutated and arbitrary bytes are
refused with the module's declared error, within time and memory bounds
(``tests/fuzz/targets.py``). tests/verify/test_verify_canonical*.py already
check JCS round trips of values; here the bytes side is compared with
``rfc8785``. Deep runs: ``PMM_FUZZ=long python -m pytest tests/fuzz``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import targets
from tests.fuzz.strategies import (
    FUZZ,
    JSON,
    STATEMENT_BYTES,
    hostile,
    signed_statements,
)
from tests.fuzz.strategies_log import (
    CHECKPOINT_TEXT,
    ENTRIES,
    NOTE_BYTES,
    RECEIPT_BYTES,
    Tree,
    access_logs,
    bundle_bytes,
    checkpoints,
    cosignature_lines,
    notes,
    policies,
    receipts,
    signed_checkpoint,
    trees,
    trust_files,
    witness_requests,
)
from verify.formats.canonical import canonical_bytes, parse_canonical
from verify.formats.checkpoint import parse_checkpoint
from verify.formats.entry import entry_bytes, parse_entry
from verify.formats.note import parse_note
from verify.formats.receipt import parse_receipt, verify_receipt
from verify.formats.statement import SignedStatement, parse_signed_statement
from verify.merkle.tree import inclusion_proof, memory_perfect, verify_consistency

# -- round trips --------------------------------------------------------------


@FUZZ
@given(JSON)
def test_our_canonical_bytes_are_rfc8785s(value: Any) -> None:
    data = canonical_bytes(value)
    assert data == rfc8785.dumps(value)
    assert parse_canonical(data) == value


@FUZZ
@given(signed_statements())
def test_a_signed_statement_reads_back_as_signed(signed: SignedStatement) -> None:
    data = signed.to_bytes()
    again = parse_signed_statement(data)
    assert again == signed
    assert again.to_bytes() == data
    assert again.canonical() == canonical_bytes(signed.statement)


@FUZZ
@given(signed_statements(), st.integers(1, 2**53 - 1))
def test_an_entry_reads_back_with_its_statements_bytes(
    signed: SignedStatement, version: int
) -> None:
    from datetime import UTC, datetime

    raw = entry_bytes(signed, version, datetime(2026, 5, 1, tzinfo=UTC))
    parsed = parse_entry(raw)
    assert parsed.signed == signed
    assert parsed.signed.canonical() == signed.canonical()
    assert (parsed.stream_version, parsed.raw) == (version, raw)


@FUZZ
@given(notes())
def test_a_note_reads_back(note: object) -> None:
    text = note.format()  # type: ignore[attr-defined]
    assert parse_note(text) == note
    assert parse_note(text.encode("utf-8")).format() == text


@FUZZ
@given(checkpoints())
def test_a_checkpoint_reads_back(checkpoint: object) -> None:
    body = checkpoint.body()  # type: ignore[attr-defined]
    assert parse_checkpoint(body) == checkpoint


@FUZZ
@given(cosignature_lines())
def test_a_witness_cosignature_verifies_and_reads_back(pair: tuple[str, str]) -> None:
    from tests.fuzz.strategies_log import WITNESS

    body, line = pair
    parsed = parse_note(body + "\n" + line)
    assert parsed.signatures[0].line() == line
    assert WITNESS.verifier().verify(body.encode(), parsed.signatures[0].signature)


@FUZZ
@given(receipts())
def test_a_receipt_reads_back_and_verifies(pair: tuple[object, Tree]) -> None:
    receipt, tree = pair
    text = receipt.format()  # type: ignore[attr-defined]
    parsed = parse_receipt(text)
    assert parsed == receipt
    verify_receipt(parsed, tree.leaves[parsed.index], targets.POLICY)


@FUZZ
@given(trees(), st.data())
def test_consistency_proofs_verify(tree: Tree, data: st.DataObject) -> None:
    old = data.draw(st.integers(1, tree.size))
    verify_consistency(old, tree.size, tree.root(old), tree.root(), tree.consistency(old))


@FUZZ
@given(ENTRIES)
def test_an_entry_bundle_reads_back(entries: list[bytes]) -> None:
    targets.run("tile", bundle_bytes(entries))


# -- never crash ----------------------------------------------------------


@FUZZ
@given(hostile(JSON.map(canonical_bytes)))
def test_canonical_refuses_what_rfc8785_would_not_write(data: bytes) -> None:
    targets.run("canonical", data)


@FUZZ
@given(hostile(STATEMENT_BYTES))
def test_mutated_statements_are_refused_cleanly(data: bytes) -> None:
    targets.run("statement", data)


@st.composite
def _entries(draw: st.DrawFn) -> bytes:
    from datetime import UTC, datetime

    return entry_bytes(draw(signed_statements()), 1, datetime(2026, 5, 1, tzinfo=UTC))


@FUZZ
@given(hostile(_entries()))
def test_mutated_entries_are_refused_cleanly(data: bytes) -> None:
    targets.run("entry", data)


@FUZZ
@given(hostile(NOTE_BYTES))
def test_mutated_notes_are_refused_cleanly(data: bytes) -> None:
    targets.run("note", data)


@FUZZ
@given(
    hostile(
        CHECKPOINT_TEXT.map(str.encode) | trees(8).map(signed_checkpoint).map(str.encode)
    )
)
def test_mutated_checkpoints_are_refused_cleanly(data: bytes) -> None:
    targets.run("checkpoint", data)


@FUZZ
@given(hostile(trees(8).map(signed_checkpoint).map(str.encode)))
def test_mutated_cosignatures_are_refused_cleanly(data: bytes) -> None:
    targets.run("cosignature", data)


@FUZZ
@given(hostile(RECEIPT_BYTES))
def test_mutated_receipts_are_refused_cleanly(data: bytes) -> None:
    targets.run("receipt", data)


@st.composite
def _proofs(draw: st.DrawFn) -> bytes:
    """A valid inclusion or consistency proof, then its numbers and hashes
    perhaps changed: sizes and indexes of any magnitude, hashes of any length."""
    tree = draw(trees())
    index = draw(st.integers(0, tree.size - 1))
    if draw(st.booleans()):
        hashes = inclusion_proof(index, tree.size, memory_perfect(list(tree.leaves)))
        spec: dict[str, object] = {
            "kind": "inclusion",
            "index": index,
            "leaf": tree.leaves[index].hex(),
        }
    else:
        hashes = tree.consistency(index + 1)
        spec = {
            "kind": "consistency",
            "old": index + 1,
            "old_root": tree.root(index + 1).hex(),
        }
    spec.update(size=tree.size, root=tree.root().hex(), proof=[h.hex() for h in hashes])
    big = st.integers(-5, 2**70) | st.integers(0, tree.size + 2)
    for name in ("index", "old", "size"):
        if name in spec and draw(st.booleans()):
            spec[name] = draw(big)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(hashes)))
        extra = [draw(st.binary(max_size=40)).hex()]
        proof = [h.hex() for h in hashes]
        spec["proof"] = proof[:at] + extra + proof[at + draw(st.integers(0, 1)) :]
    return json.dumps(spec).encode()


@FUZZ
@given(_proofs())
def test_wrong_proofs_are_refused_cleanly(data: bytes) -> None:
    targets.run("proof", data)


@FUZZ
@given(hostile(ENTRIES.map(bundle_bytes)) | st.binary(min_size=32 * 3, max_size=32 * 3))
def test_damaged_tiles_are_reported_not_raised(data: bytes) -> None:
    targets.run("tile", data)


@FUZZ
@given(hostile(policies()))
def test_mutated_policies_are_refused_cleanly(data: bytes) -> None:
    targets.run("policy", data)


@FUZZ
@given(hostile(witness_requests()))
def test_mutated_witness_requests_are_answered_never_raised(data: bytes) -> None:
    targets.run("witness", data)


@FUZZ
@given(access_logs())
def test_an_access_log_chain_holds(data: bytes) -> None:
    assert targets.run("access_log", data)


@FUZZ
@given(hostile(access_logs()))
def test_a_damaged_access_log_is_a_break_never_a_crash(data: bytes) -> None:
    targets.run("access_log", data)


@FUZZ
@given(hostile(trust_files()))
def test_mutated_trust_files_are_refused_cleanly(data: bytes) -> None:
    targets.run("trust", data)


@pytest.mark.parametrize("target", sorted(targets.TARGETS))
def test_the_empty_input_is_refused_cleanly(target: str) -> None:
    if target == "proof":
        pytest.skip("proof inputs are JSON specs the suite writes, never empty")
    targets.run(target, b"")


def test_a_receipt_of_another_leaf_does_not_verify() -> None:
    """The round trip above is not vacuous: the wrong leaf is refused."""
    tree = Tree(tuple(bytes([i]) * 32 for i in range(5)))
    path = inclusion_proof(2, 5, memory_perfect(list(tree.leaves)))
    from verify.formats.receipt import Receipt

    receipt = Receipt(2, tuple(path), signed_checkpoint(tree))
    with pytest.raises(Exception, match="inclusion proof"):
        verify_receipt(receipt, tree.leaves[3], targets.POLICY)
