"""An RFC 6962 tree built leaf by leaf in O(log n) memory (docs/formats.md §1.1).

The tree of ``n`` leaves is the fold, right to left, of the perfect subtrees
named by the binary digits of ``n`` (largest and leftmost first), so only
those subtrees — the tree's right edge — are kept. Each perfect subtree is
formed exactly once, when its last leaf arrives; ``on_node`` sees the ones
whose height is a multiple of ``stride`` — with the tile height of tlog-tiles,
the hashes it stores at level ``height / stride`` (docs/formats.md §2.5), so hash
tiles can be checked as the leaves stream by. Roots of chosen prefix sizes are
kept on the way, to check older checkpoints against this tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from verify.merkle.tree import EMPTY_ROOT, node_hash

# on_node(height / stride, index of the subtree at that height, its hash)
OnNode = Callable[[int, int, bytes], None]


class Frontier:
    """Leaf hashes in, root hash (and prefix roots) out."""

    def __init__(
        self, prefixes: Iterable[int] = (), on_node: OnNode | None = None, stride: int = 1
    ):
        self.size = 0
        self.on_node, self.stride = on_node, stride
        self._right_edge: list[tuple[int, bytes]] = []  # (height, hash), heights falling
        wanted = set(prefixes)
        self._wanted = {size for size in wanted if size > 0}
        self.prefix_roots: dict[int, bytes] = {0: EMPTY_ROOT} if 0 in wanted else {}

    def add(self, leaf: bytes) -> None:
        node, height = leaf, 0
        self.size += 1
        while self._right_edge and self._right_edge[-1][0] == height:
            node = node_hash(self._right_edge.pop()[1], node)
            height += 1
            if self.on_node is not None and height % self.stride == 0:
                self.on_node(height // self.stride, (self.size >> height) - 1, node)
        self._right_edge.append((height, node))
        if self.size in self._wanted:
            self.prefix_roots[self.size] = self.root()

    def root(self) -> bytes:
        if not self._right_edge:
            return EMPTY_ROOT
        result = self._right_edge[-1][1]
        for _, left in reversed(self._right_edge[:-1]):
            result = node_hash(left, result)
        return result
