"""RFC 6962 / 9162 Merkle code (verify/merkle/tree.py) against vectors and a naive
reference.

* Every transparency-dev/merkle vector gives its ``wantErr`` result.
* A naive recursive MTH, PATH and PROOF, written straight from RFC 6962 §2.1
  (independent of the code under test), agrees with the fast generation for
  every tree size 1..300 at every index and every old size, and for seeded
  random larger trees; generated proofs verify; generation reads only complete
  subtrees inside the tree, O(log n) times.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from verify.errors import ProofError
from verify.merkle.tree import (
    EMPTY_ROOT,
    Perfect,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    memory_perfect,
    node_hash,
    root_of,
    tree_root,
    verify_consistency,
    verify_inclusion,
    verify_witness_consistency,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TESTDATA = SHARED / "vectors" / "transparency-dev-merkle" / "testdata"
# testonly/constants.go: the 8 leaf inputs of the RFC 6962 reference tree.
REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
REFERENCE_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"

# ---------------------------------------------------------------- naive reference
# RFC 6962 §2.1 over D = ENTRIES[start:end], written from the text, using
# hashlib directly. MTH is memoised only because every tree here is a prefix of
# ENTRIES, so MTH(D[a:b]) does not depend on the tree it is part of.

SMALL_MAX = 300
LARGE_MAX = 70_000
ENTRIES = [f"entry {i}".encode() for i in range(LARGE_MAX)]


@cache
def ref_mth(start: int, end: int) -> bytes:
    n = end - start
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + ENTRIES[start]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(
        b"\x01" + ref_mth(start, start + k) + ref_mth(start + k, end)
    ).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_path(m: int, start: int, end: int) -> list[bytes]:
    """PATH(m, D[start:end]) with m relative to start."""
    n = end - start
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, start, start + k), ref_mth(start + k, end)]
    return [*ref_path(m - k, start + k, end), ref_mth(start, start + k)]


def ref_subproof(m: int, start: int, end: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[start:end], b) with m relative to start."""
    n = end - start
    if m == n:
        return [] if b else [ref_mth(start, end)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, start, start + k, b), ref_mth(start + k, end)]
    return [*ref_subproof(m - k, start + k, end, False), ref_mth(start, start + k)]


def ref_proof(m: int, n: int) -> list[bytes]:
    return ref_subproof(m, 0, n, True)


# ---------------------------------------------------------------- a tile store stand-in

FULL: Perfect = memory_perfect([leaf_hash(e) for e in ENTRIES])


class Store:
    """Perfect subtrees of the tree of ``size`` leaves; refuses any outside it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.calls = 0

    def __call__(self, level: int, index: int) -> bytes:
        assert level >= 0 and index >= 0
        assert (index + 1) << level <= self.size, "read beyond the tree"
        self.calls += 1
        return FULL(level, index)


def _bound(size: int) -> int:
    return 2 * size.bit_length()


# ---------------------------------------------------------------- vectors


def _vector_files() -> list[Path]:
    return sorted(TESTDATA.rglob("*.json")) if TESTDATA.is_dir() else []


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


@pytest.mark.parametrize(
    "path", _vector_files(), ids=lambda p: str(p.relative_to(TESTDATA))
)
def test_transparency_dev_vector(path: Path) -> None:
    case: dict[str, Any] = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]
    try:
        if "leafIdx" in case:
            verify_inclusion(
                case["leafIdx"],
                case["treeSize"],
                _b64(case["leafHash"]),
                proof,
                _b64(case["root"]),
            )
        else:
            verify_consistency(
                case["size1"],
                case["size2"],
                _b64(case["root1"]),
                _b64(case["root2"]),
                proof,
            )
    except ProofError:
        failed = True
    else:
        failed = False
    assert failed == case["wantErr"], case["desc"]


def test_vectors_are_present() -> None:
    if not TESTDATA.is_dir():
        pytest.skip(f"Merkle vectors not found at {TESTDATA}")
    assert len(_vector_files()) == 196


def test_happy_path_vectors_match_generated_proofs() -> None:
    """proofgen's happy paths are the proofs we generate for the reference tree."""
    if not TESTDATA.is_dir():
        pytest.skip(f"Merkle vectors not found at {TESTDATA}")
    perfect = memory_perfect([leaf_hash(e) for e in REFERENCE_LEAVES])
    seen = 0
    for path in TESTDATA.rglob("happy-path.json"):
        case = json.loads(path.read_text())
        want = [_b64(p) for p in case["proof"] or []]
        if "leafIdx" in case:
            got = inclusion_proof(case["leafIdx"], case["treeSize"], perfect)
        else:
            got = consistency_proof(case["size1"], case["size2"], perfect)
        assert got == want, path
        seen += 1
    assert seen == 10


# ---------------------------------------------------------------- hashing and roots


def test_hashes_and_reference_root() -> None:
    assert EMPTY_ROOT.hex().startswith("e3b0c442")
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    hashes = [leaf_hash(e) for e in REFERENCE_LEAVES]
    assert root_of(hashes).hex() == REFERENCE_ROOT_8
    assert tree_root(8, memory_perfect(hashes)).hex() == REFERENCE_ROOT_8
    assert root_of([]) == tree_root(0, memory_perfect([])) == EMPTY_ROOT


def test_roots_agree_with_reference_for_every_small_size() -> None:
    hashes = [leaf_hash(e) for e in ENTRIES[:SMALL_MAX]]
    for size in range(SMALL_MAX + 1):
        store = Store(size)
        assert tree_root(size, store) == ref_mth(0, size) == root_of(hashes[:size])
        assert store.calls == size.bit_count()


# ---------------------------------------------------------------- proofs vs reference


def test_inclusion_proofs_agree_with_reference_for_sizes_1_to_300() -> None:
    for size in range(1, SMALL_MAX + 1):
        root = ref_mth(0, size)
        for index in range(size):
            store = Store(size)
            proof = inclusion_proof(index, size, store)
            assert proof == ref_path(index, 0, size), (index, size)
            assert store.calls <= _bound(size)
            verify_inclusion(index, size, ref_mth(index, index + 1), proof, root)


def test_consistency_proofs_agree_with_reference_for_sizes_1_to_300() -> None:
    for size in range(1, SMALL_MAX + 1):
        root = ref_mth(0, size)
        for old in range(1, size + 1):
            store = Store(size)
            proof = consistency_proof(old, size, store)
            assert proof == ref_proof(old, size), (old, size)
            assert store.calls <= _bound(size)
            verify_consistency(old, size, ref_mth(0, old), root, proof)


def test_random_large_trees_agree_with_reference() -> None:
    rng = random.Random(6962)
    for _ in range(100):
        size = rng.randrange(SMALL_MAX, LARGE_MAX + 1)
        root = ref_mth(0, size)
        for index in [0, size - 1, *rng.sample(range(size), 5)]:
            store = Store(size)
            proof = inclusion_proof(index, size, store)
            assert proof == ref_path(index, 0, size), (index, size)
            assert store.calls <= _bound(size)
            verify_inclusion(index, size, leaf_hash(ENTRIES[index]), proof, root)
        for old in [1, size - 1, size, *rng.sample(range(1, size), 5)]:
            store = Store(size)
            proof = consistency_proof(old, size, store)
            assert proof == ref_proof(old, size), (old, size)
            assert store.calls <= _bound(size)
            verify_consistency(old, size, ref_mth(0, old), root, proof)


def test_getter_calls_stay_logarithmic_in_a_huge_tree() -> None:
    """No tree is built: a fake getter counts reads for a 2**40-ish tree."""
    calls: list[tuple[int, int]] = []
    size = 2**40 + 2**33 + 12345

    def fake(level: int, index: int) -> bytes:
        assert (index + 1) << level <= size
        calls.append((level, index))
        return hashlib.sha256(f"{level}/{index}".encode()).digest()

    for index in (0, size // 3, size - 1):
        calls.clear()
        assert len(inclusion_proof(index, size, fake)) <= 42
        assert len(calls) <= _bound(size)
    for old in (1, size // 2 + 1, size - 1):
        calls.clear()
        consistency_proof(old, size, fake)
        assert len(calls) <= _bound(size)


# ---------------------------------------------------------------- generation edges


def test_generation_edges() -> None:
    perfect = memory_perfect([leaf_hash(e) for e in ENTRIES[:8]])
    assert inclusion_proof(0, 1, perfect) == []
    assert consistency_proof(0, 8, perfect) == []  # tlog-witness: old 0, empty proof
    assert consistency_proof(5, 5, perfect) == []
    assert consistency_proof(0, 0, perfect) == []
    for bad_index, bad_size in ((1, 1), (-1, 4), (0, 0)):
        with pytest.raises(ValueError, match="not in a tree"):
            inclusion_proof(bad_index, bad_size, perfect)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(6, 5, perfect)
    with pytest.raises(ValueError, match="non-negative"):
        tree_root(-1, perfect)


# ---------------------------------------------------------------- hostile proofs

SIZE = 77
ROOT = ref_mth(0, SIZE)


def _inclusion(index: int) -> list[bytes]:
    return inclusion_proof(index, SIZE, Store(SIZE))


def test_inclusion_rejects_tampering() -> None:
    index, leaf = 40, leaf_hash(ENTRIES[40])
    proof = _inclusion(index)
    verify_inclusion(index, SIZE, leaf, proof, ROOT)
    for position in range(len(proof)):
        flipped = list(proof)
        flipped[position] = bytes([proof[position][0] ^ 1]) + proof[position][1:]
        with pytest.raises(ProofError, match="gives root"):
            verify_inclusion(index, SIZE, leaf, flipped, ROOT)
    with pytest.raises(ProofError, match="must have 7 hashes, got 6"):
        verify_inclusion(index, SIZE, leaf, proof[:-1], ROOT)
    with pytest.raises(ProofError, match="must have 7 hashes, got 8"):
        verify_inclusion(index, SIZE, leaf, [*proof, ROOT], ROOT)
    with pytest.raises(ProofError, match="gives root"):
        verify_inclusion(index + 1, SIZE, leaf, proof, ROOT)
    with pytest.raises(ProofError, match="gives root"):
        verify_inclusion(index, SIZE, leaf_hash(b"forged"), proof, ROOT)
    with pytest.raises(ProofError, match="not below tree size"):
        verify_inclusion(SIZE, SIZE, leaf, proof, ROOT)
    with pytest.raises(ProofError, match="non-negative"):
        verify_inclusion(-1, SIZE, leaf, proof, ROOT)
    with pytest.raises(ProofError, match="leaf hash must be 32 bytes"):
        verify_inclusion(index, SIZE, ENTRIES[40], proof, ROOT)
    with pytest.raises(ProofError, match="proof hash 2 must be 32 bytes"):
        verify_inclusion(index, SIZE, leaf, [*proof[:2], b"", *proof[3:]], ROOT)


def test_inclusion_proof_for_a_different_size_is_refused() -> None:
    """The final sn == 0 check (RFC 9162 step 4) and the length check."""
    proof = inclusion_proof(3, 4, Store(4))
    with pytest.raises(ProofError):
        verify_inclusion(3, 5, leaf_hash(ENTRIES[3]), proof, ref_mth(0, 4))
    with pytest.raises(ProofError):
        verify_inclusion(3, 8, leaf_hash(ENTRIES[3]), proof, ref_mth(0, 4))


def test_consistency_rejects_tampering() -> None:
    old, old_root = 30, ref_mth(0, 30)
    proof = consistency_proof(old, SIZE, Store(SIZE))
    verify_consistency(old, SIZE, old_root, ROOT, proof)
    for position in range(len(proof)):
        flipped = list(proof)
        flipped[position] = proof[position][:-1] + bytes([proof[position][-1] ^ 0x80])
        with pytest.raises(ProofError, match="does not lead to the"):
            verify_consistency(old, SIZE, old_root, ROOT, flipped)
    with pytest.raises(ProofError, match="hashes, got"):
        verify_consistency(old, SIZE, old_root, ROOT, proof[:-1])
    with pytest.raises(ProofError, match="is empty"):
        verify_consistency(old, SIZE, old_root, ROOT, [])
    with pytest.raises(ProofError, match="old root"):
        verify_consistency(old, SIZE, ref_mth(0, 31), ROOT, proof)
    with pytest.raises(ProofError, match="new root"):
        verify_consistency(old, SIZE, old_root, ref_mth(0, 76), proof)
    with pytest.raises(ProofError, match="larger than"):
        verify_consistency(SIZE, old, ROOT, old_root, proof)
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, SIZE, EMPTY_ROOT, ROOT, [])
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(SIZE, SIZE, ROOT, ROOT, proof)
    with pytest.raises(ProofError, match="two different roots"):
        verify_consistency(SIZE, SIZE, ROOT, old_root, [])
    verify_consistency(SIZE, SIZE, ROOT, ROOT, [])


def test_witness_consistency_accepts_old_size_zero_with_empty_proof() -> None:
    verify_witness_consistency(0, SIZE, EMPTY_ROOT, ROOT, [])
    verify_witness_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofError, match="must be empty"):
        verify_witness_consistency(0, SIZE, EMPTY_ROOT, ROOT, [ROOT])
    with pytest.raises(ProofError, match="old size 0"):
        verify_witness_consistency(0, SIZE, ROOT, ROOT, [])
    with pytest.raises(ProofError, match="size 0 must carry"):
        verify_witness_consistency(0, 0, EMPTY_ROOT, ROOT, [])
    with pytest.raises(ProofError, match="32 bytes"):
        verify_witness_consistency(0, 5, EMPTY_ROOT, b"short", [])
    # Non-zero old sizes follow verify_consistency exactly.
    proof = consistency_proof(30, SIZE, Store(SIZE))
    verify_witness_consistency(30, SIZE, ref_mth(0, 30), ROOT, proof)
    with pytest.raises(ProofError):
        verify_witness_consistency(30, SIZE, ref_mth(0, 30), ROOT, proof[1:])
