"""Streaming an export's entries and hash tiles, one entry bundle at a time.

The walk reads entry bundle N and level-0 hash tile N together, checks each
entry with ``verify.check.replay``, and feeds two RFC 6962 trees: one of the entries' leaf
hashes, one of the level-0 tiles' hashes (whose perfect subtrees are compared
with the level 1+ tiles as they form, ``TileCheck``).

With worker processes (``SignaturePool``), each bundle is sent to them as it
is read, a few bundles ahead of the replay: they read its entries and check
their signatures under the keys the registry named so far
(``verify.check.precheck``, docs/decisions.md decision 36); the replay takes what
they found, and defers to them any signature they could not check under the
signer's key. With one worker the replay does it all, the reference path.

Nothing in a bundle stops the walk (docs/verifier.md). An entry bundle that is
absent, short or cut mid-entry leaves its unreadable entries *missing* (check
``missing`` at the first of them; broken framing is check ``entry`` at the
entry it breaks); a zero-length entry is entry K missing; an unusable hash tile
is check ``tiles``, and the entries' own leaf hashes stand in for a missing
level-0 tile so the rest of the tree is still checked. Any unexpected error
while checking one entry is check ``error`` at that entry. Positions stay
exact: every unreadable entry takes a placeholder leaf, so later bundles are
checked where the checkpoint puts them.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator

from verify.check.findings import Finding, Findings
from verify.check.precheck import KnownKeys, Precheck
from verify.check.publications import PUBLISHED, Publications
from verify.check.replay import Checked, Replay
from verify.check.signatures import Prechecks, SignatureJob, SignaturePool, pool_size
from verify.formats.bundle import Bundle, EntryBundle, HashTile
from verify.formats.handover import LOG_KEY_ROTATED
from verify.formats.tiles import TILE_HEIGHT, TILE_WIDTH, tile_width, tiles_of
from verify.merkle.frontier import Frontier
from verify.merkle.tree import HASH_SIZE, leaf_hash

UNREADABLE = b"\xff" * HASH_SIZE  # the leaf of an entry that could not be read


class TileCheck:
    """Level 1+ hash tiles, compared with the tree built from the level-0 tiles."""

    def __init__(self, bundle: Bundle, size: int, findings: Findings) -> None:
        self.bundle, self.size, self.findings = bundle, size, findings
        self.loaded: dict[int, tuple[int, HashTile]] = {}
        self.reported: set[str] = set()
        # Level-0 tiles replaced by the entries' leaf hashes, and the mismatches
        # above them: those blame a tile only if that tree proves authentic.
        self.substituted: list[int] = []
        self.deferred: dict[str, Finding] = {}

    def unusable_tile(self, tile: HashTile) -> None:
        self.findings.add(Finding("tiles", f"{tile.problem}"))

    def __call__(self, level: int, index: int, node: bytes) -> None:
        n, position = divmod(index, TILE_WIDTH)
        if self.loaded.get(level, (-1,))[0] != n:
            width = tile_width(self.size, level, n)
            tile = self.bundle.hashes(level, n, width)
            self.loaded[level] = (n, tile)
            if tile.hashes is None:
                self.unusable_tile(tile)
        tile = self.loaded[level][1]
        if tile.hashes is None or tile.hashes[position] == node:
            return
        finding = Finding(
            "tiles",
            f"hash tile {tile.path} disagrees with the tree recomputed from the "
            f"level-0 tiles at hash {position}",
        )
        if self._over_substitute(level, index):
            self.deferred.setdefault(tile.path, finding)
        elif tile.path not in self.reported:
            self.reported.add(tile.path)
            self.findings.add(finding)

    def _over_substitute(self, level: int, index: int) -> bool:
        """Whether node ``index`` at ``level`` covers a substituted level-0 tile."""
        first, stop = index << (8 * (level - 1)), (index + 1) << (8 * (level - 1))
        at = bisect.bisect_left(self.substituted, first)
        return at < len(self.substituted) and self.substituted[at] < stop

    def finish(self, authentic: bool) -> None:
        """Report the deferred mismatches when the tree they came from is the
        signed one (so the stand-in leaves were right and the tile is wrong)."""
        for path, finding in self.deferred.items():
            if authentic and path not in self.reported:
                self.reported.add(path)
                self.findings.add(finding)


class Walk:
    """One pass over the entries and level-0 tiles of a tree of ``size``."""

    def __init__(
        self,
        bundle: Bundle,
        size: int,
        replay: Replay,
        findings: Findings,
        publications: Publications,
        prefixes: list[int],
    ) -> None:
        self.bundle, self.size, self.replay = bundle, size, replay
        self.findings, self.publications = findings, publications
        self.entries_tree = Frontier(prefixes)
        self.tile_check = TileCheck(bundle, size, findings)
        self.tiles_tree = Frontier(prefixes, on_node=self.tile_check, stride=TILE_HEIGHT)
        self.read = 0  # entries read and checked
        self.first_unusable: int | None = None  # the first entry missing or unreadable
        self.first_mismatch: Finding | None = None
        # The root of the entries before each log key hand-over (decision 33).
        self.handover_roots: dict[int, bytes] = {}
        self.signatures: SignaturePool
        self.keys = KnownKeys()  # what the registry has named so far, for the workers

    def run(self, workers: int | None) -> None:
        if self.size == 0:
            self.findings.add(
                Finding("missing", "the log is empty: the genesis entry is missing", 0)
            )
            self.first_unusable = 0
            return
        self.signatures = SignaturePool(pool_size(workers, self.size), self.findings.add)
        # Bundles read and sent to the workers, ahead of the replay.
        ahead: deque[tuple[int, int, EntryBundle, Prechecks]] = deque()
        try:
            for n, width in tiles_of(self.size):
                found = self.bundle.entries(n, width)
                prechecks = self.signatures.prechecks(found.entries, self._known_keys())
                ahead.append((n * TILE_WIDTH, width, found, prechecks))
                while len(ahead) > self.signatures.window:
                    self._bundle(*ahead.popleft())
            while ahead:
                self._bundle(*ahead.popleft())
            self.signatures.finish()
        finally:
            self.signatures.close()

    def _known_keys(self) -> dict[str, bytes]:
        return self.keys.sent(self.replay.registry.owners)

    def _bundle(self, start: int, width: int, found: EntryBundle, ahead: Prechecks) -> None:
        self._report(start, width, found)
        prechecks = ahead.result()
        tile = self.bundle.hashes(0, start // TILE_WIDTH, width)
        jobs: list[SignatureJob] = []
        leaves = []
        for offset in range(width):
            index = start + offset
            raw = found.entries[offset] if offset < len(found.entries) else None
            if raw is None:
                leaf = UNREADABLE
                self._unusable(index)
            elif not raw:
                leaf = leaf_hash(raw)
                self._unusable(index)
                reason = f"entry {index} is empty or absent (zero length in {found.path})"
                self.findings.add(Finding("missing", reason, index))
            else:
                done = prechecks[offset] if prechecks is not None else None
                leaf = self._entry(index, raw, jobs, tile, done)
            self.entries_tree.add(leaf)
            leaves.append(leaf)
        if tile.hashes is None:
            self.tile_check.unusable_tile(tile)
            self.tile_check.substituted.append(start // TILE_WIDTH)
        for leaf in tile.hashes if tile.hashes is not None else leaves:
            self.tiles_tree.add(leaf)
        self.signatures.submit(jobs)

    def _entry(
        self,
        index: int,
        raw: bytes,
        jobs: list[SignatureJob],
        tile: HashTile,
        found: Precheck,
    ) -> bytes:
        leaf = leaf_hash(raw)
        self.read += 1
        try:
            defer = self.signatures.parallel
            checked = self.replay.check(index, raw, defer=defer, found=found)
            for finding in checked.findings:
                self.findings.add(finding)
            if any(f.check in ("entry", "statement") for f in checked.findings):
                self._unusable(index)
            if checked.job is not None:
                jobs.append(checked.job)
            if checked.entry_type == PUBLISHED:
                self.publications.note(index, raw)
            if checked.entry_type == LOG_KEY_ROTATED:  # the tree holds the entries before
                self.handover_roots[index] = self.entries_tree.root()
        except Exception as exc:  # a finding at this entry, never a crash
            self._unusable(index)
            checked = Checked(())
            reason = (
                f"the verifier failed on this entry ({type(exc).__name__}: {exc}); "
                "it is not verified"
            )
            self.findings.add(Finding("error", reason, index))
        offset = index % TILE_WIDTH
        if tile.hashes is not None and leaf != tile.hashes[offset]:
            self.first_mismatch = self.first_mismatch or _tree_finding(index, checked)
        return leaf

    def _unusable(self, index: int) -> None:
        if self.first_unusable is None:
            self.first_unusable = index

    def _report(self, start: int, width: int, found: EntryBundle) -> None:
        """Findings about the bundle file itself: absent, short, broken, surplus."""
        got = len(found.entries)
        if found.absent is not None:
            reason = f"{_range(start, start + width)} missing: {found.absent}"
            self.findings.add(Finding("missing", reason, start))
        elif found.broken is not None:
            at = start + got
            reason = f"entry {at} cannot be read from {found.path}: {found.broken}"
            self.findings.add(Finding("entry", reason, at))
            if got + 1 < width:
                reason = (
                    f"{_range(at + 1, start + width)} missing: they follow entry {at}, "
                    f"where the framing of {found.path} breaks"
                )
                self.findings.add(Finding("missing", reason, at + 1))
        elif got < width:
            reason = (
                f"{found.path} holds {got} entries where the checkpoint of size "
                f"{self.size} needs {width}: {_range(start + got, start + width)} missing"
            )
            self.findings.add(Finding("missing", reason, start + got))
        if found.surplus is not None:
            self.findings.add(Finding("extra", found.surplus))

    def finish(self, root: bytes) -> bool:
        """After the walk: whether the level-0 tiles (with any stand-ins) give the
        signed ``root``; if so, the first entry that differs from them is named."""
        authentic = self.tiles_tree.root() == root
        self.tile_check.finish(authentic)
        if authentic and self.first_mismatch is not None:
            self.findings.add(self.first_mismatch)
        return authentic

    def entries(self, stop: int) -> Iterator[tuple[int, bytes]]:
        """(index, bytes) of the readable entries below ``stop``, read again one
        entry bundle at a time (named as the checkpoint's tree has them)."""
        for n, width in tiles_of(self.size):
            start = n * TILE_WIDTH
            if start >= stop:
                return
            found = self.bundle.entries(n, width).entries
            for offset, raw in enumerate(found[: min(width, stop - start)]):
                if raw:
                    yield start + offset, raw


def _range(first: int, stop: int) -> str:
    """``entry 7 is`` or ``entries 7 to 9 are``."""
    last = stop - 1
    return f"entries {first} to {last} are" if last > first else f"entry {first} is"


def _tree_finding(index: int, checked: Checked) -> Finding:
    return Finding(
        "tree",
        f"entry {index} is not the entry the signed tree holds at index {index} "
        f"(its leaf hash differs from the hash tiles, which match the checkpoint)",
        index,
        checked.stream,
        checked.entry_type,
    )
