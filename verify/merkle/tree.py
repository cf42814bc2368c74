"""RFC 6962 / RFC 9162 Merkle trees with SHA-256 (docs/design.md §4, docs/formats.md §1).

Hashing (RFC 9162 §2.1.1): leaf ``SHA-256(0x00 || entry)``, node
``SHA-256(0x01 || left || right)``, empty tree ``SHA-256()``; ``n > 1`` leaves
split at ``k``, the largest power of two below ``n`` (no padding, no duplication).

Proof *generation* reads hashes of **perfect subtrees** through a getter,
``perfect(level, index)`` = the root of the ``2**level`` leaves
``[index * 2**level, (index + 1) * 2**level)``, which is exactly what a
tlog-tiles store holds. Such subtrees never change once complete, so proofs
cost O(log n) getter calls and never rehash the log. A node on the right edge
of a tree that is not perfect is the fold of the perfect subtrees given by
the binary digits of its width: ``popcount(width)`` getter calls.

Proof *verification* follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, with
the edge cases of transparency-dev/merkle ``proof/verify.go`` (docs/formats.md §1.3).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from verify.errors import ProofError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Perfect = Callable[[int, int], bytes]  # perfect(level, index), see above
_Range = tuple[int, int]  # a node of the tree as the half-open leaf range it covers


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: the leaf hash ``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: the interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the leaf hashes, level by level: pairs combine, an odd last node
    moves up unchanged (the RFC 6962 shape); O(n) hashes, no recursion."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        level = _pairs(level) + level[len(level) - len(level) % 2 :]
    return level[0]


def _pairs(row: Sequence[bytes]) -> list[bytes]:
    """The parents of ``row``'s complete pairs of siblings."""
    return [node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]


def memory_perfect(leaf_hashes: Sequence[bytes]) -> Perfect:
    """A ``Perfect`` getter over leaf hashes in memory (tests, small trees)."""
    levels = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        levels.append(_pairs(levels[-1]))

    def perfect(level: int, index: int) -> bytes:
        if level < 0 or index < 0 or level >= len(levels) or index >= len(levels[level]):
            raise IndexError(f"no complete subtree at level {level}, index {index}")
        return levels[level][index]

    return perfect


def _split(width: int) -> int:
    """The largest power of two strictly below ``width`` (``width >= 2``)."""
    return 1 << ((width - 1).bit_length() - 1)


def _range_hash(node: _Range, perfect: Perfect) -> bytes:
    """MTH of the leaves ``[start, end)``, a node of some RFC 6962 tree.

    Folds the perfect subtrees named by the binary digits of ``end - start``,
    largest first and leftmost: ``popcount(end - start)`` getter calls.
    """
    start, end = node
    width = end - start
    parts: list[bytes] = []
    position = start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            if position % (1 << level):
                raise ValueError(f"leaf range [{start}, {end}) is not a node of a tree")
            parts.append(perfect(level, position >> level))
            position += 1 << level
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = node_hash(part, result)
    return result


def tree_root(size: int, perfect: Perfect) -> bytes:
    """Root hash of the first ``size`` leaves: ``popcount(size)`` getter calls."""
    if size < 0:
        raise ValueError(f"tree size must be non-negative, got {size}")
    return EMPTY_ROOT if size == 0 else _range_hash((0, size), perfect)


def _inclusion_nodes(index: int, size: int) -> list[_Range]:
    """Leaf ranges of RFC 6962 §2.1.1 PATH(index, D[size]), leaf's sibling first.

    Walks down from the root: each step records the sibling of the half that
    holds ``index``. Only the first right sibling taken while still on the
    tree's right edge can be imperfect; every other node is a perfect subtree.
    """
    nodes: list[_Range] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            nodes.append((middle, end))
            end = middle
        else:
            nodes.append((start, middle))
            start = middle
    nodes.reverse()
    return nodes


def _consistency_nodes(old_size: int, new_size: int) -> list[_Range]:
    """Leaf ranges of RFC 6962 §2.1.2 PROOF(old_size, D[new_size]), 0 < old < new.

    SUBPROOF(m, D[n], b) walked iteratively; ``complete`` is the flag ``b``
    (true while the current subtree is still the whole old tree's prefix).
    """
    nodes: list[_Range] = []
    start, end, complete = 0, new_size, True
    while old_size != end:
        middle = start + _split(end - start)
        if old_size <= middle:
            nodes.append((middle, end))
            end = middle
        else:
            nodes.append((start, middle))
            start, complete = middle, False
    if not complete:
        nodes.append((start, end))
    nodes.reverse()
    return nodes


def inclusion_proof(index: int, size: int, perfect: Perfect) -> list[bytes]:
    """RFC 6962 §2.1.1 audit path for leaf ``index`` in the tree of ``size`` leaves.

    Getter calls: one per path element, plus ``popcount(width) - 1`` for the
    one imperfect right-edge sibling, if any; at most ``2 * bit_length(size)``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    return [_range_hash(node, perfect) for node in _inclusion_nodes(index, size)]


def consistency_proof(old_size: int, new_size: int, perfect: Perfect) -> list[bytes]:
    """RFC 6962 §2.1.2 consistency proof from ``old_size`` to ``new_size`` leaves.

    Empty when the sizes are equal (SUBPROOF(m, D[m], true) = {}) and when
    ``old_size`` is 0, as tlog-witness requires for ``old 0``. Getter calls as
    for ``inclusion_proof``: at most ``2 * bit_length(new_size)``.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    return [_range_hash(node, perfect) for node in _consistency_nodes(old_size, new_size)]


def _check_sizes(named: dict[str, bytes], proof: Sequence[bytes] = ()) -> None:
    for what, value in [
        *named.items(),
        *((f"proof hash {i}", p) for i, p in enumerate(proof)),
    ]:
        if len(value) != HASH_SIZE:
            raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: check that ``leaf_hash`` is the leaf at ``index``.

    Raises ``ProofError`` naming the failed rule; returns None on success.
    """
    if index < 0 or size < 0:
        raise ProofError(f"leaf index {index} and tree size {size} must be non-negative")
    if index >= size:  # step 1
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    _check_sizes({"leaf hash": leaf_hash, "root hash": root}, proof)
    expected = len(_inclusion_nodes(index, size))
    if len(proof) != expected:
        raise ProofError(
            f"inclusion proof for leaf {index} in a tree of size {size} must have "
            f"{expected} hashes, got {len(proof)}"
        )
    fn, sn, r = index, size - 1, leaf_hash  # step 2
    for p in proof:  # step 3
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 4
        raise ProofError("inclusion proof is shorter than the path to the root")
    if r != root:
        raise ProofError(
            f"inclusion proof for leaf {index} gives root {r.hex()}, "
            f"not the expected {root.hex()} of tree size {size}"
        )


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: check that tree ``size1`` is a prefix of tree ``size2``.

    As transparency-dev/merkle: ``size1 == 0`` is an error (even 0 -> 0; use
    ``verify_witness_consistency`` for the tlog-witness rule), ``size1 > size2``
    is an error, equal sizes need an empty proof and byte-equal roots.
    """
    if size1 < 0 or size2 < 0:
        raise ProofError(f"tree sizes {size1} and {size2} must be non-negative")
    if size2 < size1:
        raise ProofError(f"old tree size {size1} is larger than new tree size {size2}")
    if size1 == 0:
        raise ProofError("no consistency proof exists from the empty tree (size1 is 0)")
    if size1 == size2:
        if proof:
            raise ProofError(f"consistency proof between equal sizes {size1} must be empty")
        if root1 != root2:
            raise ProofError(f"two different roots for the same tree size {size1}")
        return
    _check_sizes({"old root hash": root1, "new root hash": root2}, proof)
    if not proof:  # step 1
        raise ProofError(f"consistency proof from size {size1} to {size2} is empty")
    expected = len(_consistency_nodes(size1, size2))
    if len(proof) != expected:
        raise ProofError(
            f"consistency proof from size {size1} to {size2} must have {expected} "
            f"hashes, got {len(proof)}"
        )
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # step 2: size1 is a power of two
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 7
        raise ProofError("consistency proof is shorter than the path to the root")
    if fr != root1:
        raise ProofError(f"consistency proof does not lead to the old root of size {size1}")
    if sr != root2:
        raise ProofError(f"consistency proof does not lead to the new root of size {size2}")


def verify_witness_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """The tlog-witness add-checkpoint rule (docs/formats.md §2.4).

    Like ``verify_consistency``, except that ``old_size`` 0 (a witness that has
    cosigned nothing for the origin) is accepted with an empty proof: the empty
    tree is a prefix of every tree. ``old_root`` must then be ``EMPTY_ROOT``,
    and a new tree of size 0 must carry ``EMPTY_ROOT`` too.
    """
    if old_size != 0:
        verify_consistency(old_size, new_size, old_root, new_root, proof)
        return
    if new_size < 0:
        raise ProofError(f"tree size {new_size} must be non-negative")
    _check_sizes({"new root hash": new_root})
    if proof:
        raise ProofError("consistency proof from old size 0 must be empty (tlog-witness)")
    if old_root != EMPTY_ROOT:
        raise ProofError("the root of the empty tree (old size 0) must be EMPTY_ROOT")
    if new_size == 0 and new_root != EMPTY_ROOT:
        raise ProofError("a checkpoint of size 0 must carry the empty tree's root")
