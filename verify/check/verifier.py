"""The offline verifier of an export bundle (docs/design.md §5 items 1-4).

``verify_export(folder, trust_file, state_file)`` proves, with only the pinned
trust roots and the files of a ``pmm export``:

1. the checkpoint is signed by the log key — the pinned one, or the key the
   log's chain of hand-overs leads to from it (``verify.check.log_chain``, decision
   33) — and cosigned by the witness quorum of the trust file's policy;
2. it is consistent with every checkpoint accepted before (``--state``): no
   rollback, no fork, no rewritten history (``verify.check.state``);
3. every entry, streamed one entry bundle at a time (``verify.check.walk``), passes
   the replay of ``verify.check.replay`` (well formed, signed by a key registered and
   not revoked at that position, by a role allowed the action, versions
   contiguous, record time never decreasing); signatures are checked in
   parallel processes for large logs, in chunks of one entry bundle;
4. the entries hash (RFC 6962) to the checkpoint's root, and the hash tiles
   agree with that tree. When the tiles authenticate against the signed root,
   an entry that differs from the signed one is named by its index;
5. every published score table equals the replay of the entries below its
   cut (``verify.check.publications``; docs/design.md §5 item 5), in a second pass;
6. the access log the bundle carries (``access-log.jsonl``) passes through
   every seal the log holds (docs/decisions.md, decision 16).

Findings come back in a fixed order (``verify.check.findings``), so the first
failure is the same however the work was scheduled. Damaged content — a
missing or garbled checkpoint, missing or broken entry bundles and hash tiles
— is a finding too, never an exception (docs/verifier.md); only a missing
folder or an unusable trust or state file raises ``InputError``. The state
file is updated only when everything verified.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from verify.check.findings import Finding, Findings
from verify.check.log_chain import Chain, follow
from verify.check.publications import Publications
from verify.check.replay import Recovery, Replay
from verify.check.state import Seen, VerifierState, load_state, prefix_findings, save_state
from verify.check.state import size_findings as state_size_findings
from verify.check.walk import Walk
from verify.errors import InputError, VerifyError
from verify.formats.access_chain import SealMark, check_chain
from verify.formats.bundle import Bundle
from verify.formats.checkpoint import open_checkpoint
from verify.formats.note_keys import Ed25519Verifier
from verify.formats.trust import TrustRoots, load_trust

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
    # The log keys followed from the pinned one (more than one once handed over).
    log_keys: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return not self.findings

    @property
    def first_failure(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    @property
    def has_checkpoint(self) -> bool:
        """False when no checkpoint could be read (``size`` 0, ``root`` empty)."""
        return bool(self.root)


def _check_checkpoint(
    roots: TrustRoots, log_key: str, note: str, findings: Findings
) -> tuple[bool, tuple[str, ...]]:
    """(log-signed, cosigners): the signature of ``log_key`` (where the chain of
    hand-overs ends), then the witness quorum."""
    policy, log = roots.policy, roots.log
    rotated = log_key != roots.log_vkey
    if rotated:  # the policy's witnesses, over the log key the chain ends at
        log = Ed25519Verifier.from_vkey(log_key)
        policy = policy.with_log(log)
    try:
        open_checkpoint(note, [log], origin=roots.origin)
    except VerifyError as exc:
        handed = f" (the key the log's hand-overs end at, {log_key})" if rotated else ""
        findings.add(
            Finding("checkpoint", f"checkpoint is not signed by the log{handed}: {exc}")
        )
        return False, ()
    try:
        verified = policy.verify_checkpoint(note, origin=roots.origin)
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
    label: str | None = None,
) -> VerifyResult:
    """Verify the export in ``directory`` against ``trust_file`` (see module doc).

    ``label`` names the bundle in the result and the evidence (default: the
    folder's path), e.g. "the ledger's stored entries" for a scratch export."""
    roots = load_trust(trust_file)
    bundle = Bundle(directory)
    state = load_state(state_file, roots) if state_file else VerifierState(roots.origin)
    name = label or str(directory)
    findings = Findings()
    replay = Replay(roots.origin, roots.genesis_entry_sha256)
    found = bundle.checkpoint()
    if isinstance(found, str):  # nothing else can be checked without a tree size
        findings.add(Finding("checkpoint", found))
        return _result(name, roots, None, (), 0, replay, findings, state, state_file)
    note, checkpoint = found
    new = Seen(checkpoint.size, checkpoint.root, note)
    presented = f"{name}/checkpoint" if label is None else f"the checkpoint of {name}"
    prefixes = [c.size for c in state.checkpoints if c.size < checkpoint.size]
    publications = Publications()
    walk = Walk(bundle, checkpoint.size, replay, findings, publications, prefixes)
    walk.run(workers)
    # Which key signs the checkpoint is in the log: follow its hand-overs.
    chain = follow(
        roots.origin,
        roots.log_vkey,
        replay.registry.log_keys,
        walk.handover_roots,
        state.log_keys,
    )
    for finding in chain.findings:
        findings.add(finding)
    log_signed, cosigners = _check_checkpoint(roots, chain.final, note, findings)
    if log_signed and state_file:
        for finding in state_size_findings(state, new, state_file, presented):
            findings.add(finding)
    usable = checkpoint.size if walk.first_unusable is None else walk.first_unusable
    for finding in publications.check(walk.entries, usable):
        findings.add(finding)
    for finding in _access_log_findings(bundle, replay):
        findings.add(finding)
    tiles_authentic = walk.finish(checkpoint.root)
    entries_tree, tiles_tree = walk.entries_tree, walk.tiles_tree
    complete = walk.first_unusable is None
    entries_ok = complete and entries_tree.root() == checkpoint.root
    stand_ins = bool(walk.tile_check.substituted)  # entries' leaves for missing tiles
    if not tiles_authentic and (not stand_ins or entries_ok):
        # With stand-ins, only when the entries are the signed ones: then it is
        # another level-0 tile that is wrong, not a consequence of what is missing.
        with_stand_ins = (
            " (the entries' leaf hashes for those missing)" if stand_ins else ""
        )
        findings.add(
            Finding(
                "tiles",
                f"the level-0 hash tiles{with_stand_ins} hash to root "
                f"{_b64(tiles_tree.root())}, not the checkpoint's {_b64(checkpoint.root)}",
            )
        )
    if complete and not entries_ok and not tiles_authentic:
        findings.add(
            Finding(
                "root",
                f"the {walk.read} entries hash to root {_b64(entries_tree.root())}, not "
                f"the checkpoint's {_b64(checkpoint.root)} of size {checkpoint.size}",
            )
        )
    if log_signed and state_file:
        tree = tiles_tree if tiles_authentic else entries_tree if entries_ok else None
        roots_of = tree.prefix_roots if tree is not None else {}
        for finding in prefix_findings(state, new, roots_of.get, state_file, presented):
            findings.add(finding)
    return _result(
        name, roots, new, cosigners, walk.read, replay, findings, state, state_file, chain
    )


def _result(
    name: str,
    roots: TrustRoots,
    new: Seen | None,
    cosigners: tuple[str, ...],
    read: int,
    replay: Replay,
    findings: Findings,
    state: VerifierState,
    state_file: Path | None,
    chain: Chain | None = None,
) -> VerifyResult:
    """The result; the state file is written only when everything verified."""
    updated = False
    keys = chain.keys if chain is not None else ()
    if state_file and new is not None and not findings:
        try:
            save_state(state_file, state.with_checkpoint(new, keys))
        except OSError as exc:
            raise InputError(f"{state_file}: cannot write the state file: {exc}") from None
        updated = True
    return VerifyResult(
        name,
        roots.origin,
        new.size if new is not None else 0,
        new.root if new is not None else b"",
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
        keys,
    )


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


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
