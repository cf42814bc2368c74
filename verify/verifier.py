"""The offline verifier of an export bundle (DESIGN.md §5 items 1-4).

``verify_export(folder, trust_file, state_file)`` proves, with only the pinned
trust roots and the files of a ``pmm export``:

1. the checkpoint is signed by the log key and cosigned by the witness quorum
   of the trust file's policy;
2. it is consistent with every checkpoint accepted before (``--state``): no
   rollback, no fork, no rewritten history (``verify.state``);
3. every entry, streamed one entry bundle at a time, passes the replay of
   ``verify.replay`` (well formed, signed by a key registered and not revoked
   at that position, by a role allowed the action, versions contiguous, record
   time never decreasing); signatures are checked in parallel processes for
   large logs, in chunks of one entry bundle;
4. the entries hash (RFC 6962) to the checkpoint's root, and the hash tiles
   agree with that tree. When the tiles authenticate against the signed root,
   an entry that differs from the signed one is named by its index;
5. every published score table equals the replay of the entries below its
   cut (``verify.publications``; DESIGN.md §5 item 5), in a second pass.

Findings come back in a fixed order (``verify.findings``), so the first
failure is the same however the work was scheduled. Unreadable inputs raise
``InputError``. The state file is updated only when everything verified.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from verify.access_chain import SealMark, check_chain
from verify.bundle import Bundle, InputError, TrustRoots, load_trust, tiles_of
from verify.checkpoint import Checkpoint, open_checkpoint
from verify.errors import VerifyError
from verify.findings import Finding, Findings
from verify.frontier import Frontier
from verify.merkle import leaf_hash
from verify.publications import PUBLISHED, Publications
from verify.replay import Checked, Recovery, Replay
from verify.signatures import SignaturePool, pool_size
from verify.state import Seen, VerifierState, load_state, prefix_findings, save_state
from verify.state import size_findings as state_size_findings

__all__ = ["Counts", "InputError", "VerifyResult", "verify_export"]


@dataclass(frozen=True)
class Counts:
    """What the verified log holds."""

    entries: int
    streams: int
    principals: int
    by_type: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of one run: ``findings`` is empty if and only if verified."""

    bundle: str
    origin: str
    size: int
    root: bytes
    cosigners: tuple[str, ...]
    quorum: str
    counts: Counts
    findings: tuple[Finding, ...]
    findings_omitted: int
    state_file: str | None
    checkpoints_seen: int
    state_updated: bool
    # Keys the admins replaced for principals that lost their own: always
    # reported, verified or not (docs/decisions.md, decision 15).
    recoveries: tuple[Recovery, ...] = ()

    @property
    def verified(self) -> bool:
        return not self.findings

    @property
    def first_failure(self) -> Finding | None:
        return self.findings[0] if self.findings else None


class _TileCheck:
    """Level 1+ hash tiles, compared with the tree built from the level-0 tiles."""

    def __init__(self, bundle: Bundle, size: int, findings: Findings) -> None:
        self.bundle, self.size, self.findings = bundle, size, findings
        self.loaded: dict[int, tuple[int, Path, list[bytes]]] = {}
        self.reported: set[Path] = set()
        self.mismatches = 0

    def __call__(self, level: int, index: int, node: bytes) -> None:
        n, position = divmod(index, 256)
        if self.loaded.get(level, (-1,))[0] != n:
            width = min(256, (self.size >> (8 * level)) - n * 256)
            self.loaded[level] = (n, *self.bundle.hashes(level, n, width))
        _, path, hashes = self.loaded[level]
        if hashes[position] != node:
            self.mismatches += 1
            if path not in self.reported:
                self.reported.add(path)
                self.findings.add(
                    Finding(
                        "tiles",
                        f"hash tile {path} disagrees with the tree recomputed from the "
                        f"level-0 tiles at hash {position}",
                    )
                )


def _check_checkpoint(
    roots: TrustRoots, note: str, findings: Findings
) -> tuple[bool, tuple[str, ...]]:
    """(log-signed, cosigners): the log signature, then the witness quorum."""
    try:
        open_checkpoint(note, [roots.log], origin=roots.origin)
    except VerifyError as exc:
        findings.add(Finding("checkpoint", f"checkpoint is not signed by the log: {exc}"))
        return False, ()
    try:
        verified = roots.policy.verify_checkpoint(note, origin=roots.origin)
    except VerifyError as exc:
        findings.add(Finding("quorum", f"checkpoint lacks the witness quorum: {exc}"))
        return True, ()
    return True, tuple(sorted(verified.cosigners))


def verify_export(
    directory: Path,
    trust_file: Path,
    state_file: Path | None = None,
    *,
    workers: int | None = None,
) -> VerifyResult:
    """Verify the export in ``directory`` against ``trust_file`` (see module doc)."""
    roots = load_trust(trust_file)
    bundle = Bundle(directory)
    note, checkpoint = bundle.checkpoint()
    state = load_state(state_file, roots) if state_file else VerifierState(roots.origin)
    findings = Findings()
    log_signed, cosigners = _check_checkpoint(roots, note, findings)
    new = Seen(checkpoint.size, checkpoint.root, note)
    if log_signed and state_file:
        for finding in state_size_findings(state, new, state_file, directory):
            findings.add(finding)
    prefixes = [c.size for c in state.checkpoints if c.size < checkpoint.size]
    replay = Replay(roots.origin, roots.genesis_entry_sha256)
    entries_tree = Frontier(prefixes)
    tile_check = _TileCheck(bundle, checkpoint.size, findings)
    tiles_tree = Frontier(prefixes, on_node=tile_check)
    publications = Publications()
    read = _walk(
        bundle,
        checkpoint,
        replay,
        entries_tree,
        tiles_tree,
        findings,
        workers,
        publications,
    )
    if read == checkpoint.size:
        entries = lambda stop: _entries(bundle, checkpoint.size, stop)  # noqa: E731
        for finding in publications.check(entries):
            findings.add(finding)
    for finding in _access_log_findings(bundle, replay):
        findings.add(finding)
    tiles_ok = tiles_tree.root() == checkpoint.root and not tile_check.mismatches
    entries_ok = entries_tree.size == checkpoint.size == read
    entries_ok = entries_ok and entries_tree.root() == checkpoint.root
    if tiles_tree.root() != checkpoint.root:
        findings.add(
            Finding(
                "tiles",
                f"the level-0 hash tiles hash to root {_b64(tiles_tree.root())}, not "
                f"the checkpoint's {_b64(checkpoint.root)}",
            )
        )
    if not entries_ok and read == checkpoint.size and not tiles_ok:
        findings.add(
            Finding(
                "root",
                f"the {read} entries hash to root {_b64(entries_tree.root())}, not the "
                f"checkpoint's {_b64(checkpoint.root)} of size {checkpoint.size}",
            )
        )
    if log_signed and state_file:
        tree = tiles_tree if tiles_ok else entries_tree if entries_ok else None
        roots_of = tree.prefix_roots if tree is not None else {}
        for finding in prefix_findings(state, new, roots_of.get, state_file, directory):
            findings.add(finding)
    updated = False
    if state_file and not findings:
        try:
            save_state(state_file, state.with_checkpoint(new))
        except OSError as exc:
            raise InputError(f"{state_file}: cannot write the state file: {exc}") from None
        updated = True
    return VerifyResult(
        str(directory),
        roots.origin,
        checkpoint.size,
        checkpoint.root,
        cosigners,
        roots.policy.quorum,
        Counts(
            read,
            len(replay.versions),
            replay.principals,
            tuple(sorted(replay.by_type.items())),
        ),
        findings.ordered(),
        findings.omitted,
        str(state_file) if state_file else None,
        len(state.checkpoints),
        updated,
        tuple(replay.recoveries),
    )


def _walk(
    bundle: Bundle,
    checkpoint: Checkpoint,
    replay: Replay,
    entries_tree: Frontier,
    tiles_tree: Frontier,
    findings: Findings,
    workers: int | None,
    publications: Publications,
) -> int:
    """Stream the entries and level-0 tiles; return how many entries were read."""
    if checkpoint.size == 0:
        findings.add(
            Finding("missing", "the log is empty: the genesis entry is missing", 0)
        )
        return 0
    signatures = SignaturePool(pool_size(workers, checkpoint.size), findings.add)
    read = 0
    first_mismatch: Finding | None = None
    try:
        for n, width in tiles_of(checkpoint.size):
            start = n * 256
            path, raws = bundle.entries(n, width)
            _, leaves = bundle.hashes(0, n, width)
            for leaf in leaves:
                tiles_tree.add(leaf)
            jobs = []
            for offset, raw in enumerate(raws[:width]):
                index = start + offset
                checked = replay.check(index, raw, defer=signatures.parallel)
                for finding in checked.findings:
                    findings.add(finding)
                if checked.job is not None:
                    jobs.append(checked.job)
                if checked.entry_type == PUBLISHED:
                    publications.note(index, raw)
                entry_leaf = leaf_hash(raw)
                entries_tree.add(entry_leaf)
                if entry_leaf != leaves[offset] and first_mismatch is None:
                    first_mismatch = _tree_finding(index, checked)
            read += min(width, len(raws))
            signatures.submit(jobs)
            if len(raws) < width:
                gone = start + len(raws), start + width - 1
                which = (
                    f"entries {gone[0]} to {gone[1]} are"
                    if gone[1] > gone[0]
                    else (f"entry {gone[0]} is")
                )
                findings.add(
                    Finding(
                        "missing",
                        f"{path} holds {len(raws)} entries where the checkpoint of size "
                        f"{checkpoint.size} needs {width}: {which} missing",
                        gone[0],
                    )
                )
            elif len(raws) > width:
                findings.add(
                    Finding(
                        "extra",
                        f"{path} holds {len(raws)} entries, more than the {width} its "
                        "name and the checkpoint say: entries were inserted",
                    )
                )
        signatures.finish()
    finally:
        signatures.close()
    if first_mismatch is not None and tiles_tree.root() == checkpoint.root:
        findings.add(first_mismatch)
    return read


def _access_log_findings(bundle: Bundle, replay: Replay) -> list[Finding]:
    """The bundle's access log, held to every seal the log holds (decision 16)."""
    records = bundle.access_log()
    if records is None:
        return []
    marks = [SealMark(s.size, s.head, s.position) for s in replay.seals.seals]
    result = check_chain(records, marks)
    if result.ok:
        return []
    return [
        Finding("access_log", f"access log record {result.broken_at}: {result.problem}")
    ]


def _entries(bundle: Bundle, size: int, stop: int) -> Iterator[tuple[int, bytes]]:
    """(index, entry bytes) of the first ``stop`` entries of a log of ``size``,
    one entry bundle at a time (bundles named as the checkpoint's tree has them)."""
    for n, width in tiles_of(size):
        if n * 256 >= stop:
            return
        _, raws = bundle.entries(n, width)
        yield from enumerate(raws[: min(width, stop - n * 256)], start=n * 256)


def _tree_finding(index: int, checked: Checked) -> Finding:
    return Finding(
        "tree",
        f"entry {index} is not the entry the signed tree holds at index {index} "
        f"(its leaf hash differs from the hash tiles, which match the checkpoint)",
        index,
        checked.stream,
        checked.entry_type,
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
