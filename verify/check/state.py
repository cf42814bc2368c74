"""The verifier's memory between runs: the checkpoints it has accepted.

docs/design.md §5 item 3. The state file (``--state FILE``, format
``pmm-verifier-state/v1``) is JSON::

    {"format": "pmm-verifier-state/v1",
     "origin": "<the log's origin>",
     "checkpoints": [{"size": 20, "root": "<base64>", "note": "<signed note>"}, ...]}

and, once the log's key was handed over, ``"log_keys": [<vkey>, ...]``: the
chain of log keys followed from the pinned one (docs/decisions.md 33), each
note signed by one of them. One item per tree size seen, smallest first, each
with the log-signed note
that was verified, so that a later inconsistency can be shown with both
signed checkpoints as evidence. A new checkpoint is consistent with a seen
one when it is not smaller (else: rollback), has the same root at the same
size (else: fork) and, when larger, its tree's first ``size`` leaves hash to
the seen root (else: history was rewritten). The file is written, atomically,
only after a run verified everything.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify.check.findings import Evidence, Finding
from verify.errors import InputError, VerifyError, shown
from verify.formats.checkpoint import open_checkpoint
from verify.formats.inputs import read_input
from verify.formats.note_keys import Ed25519Verifier
from verify.formats.trust import TrustRoots

STATE_FORMAT = "pmm-verifier-state/v1"


@dataclass(frozen=True)
class Seen:
    """A checkpoint accepted in an earlier run."""

    size: int
    root: bytes
    note: str


@dataclass(frozen=True)
class VerifierState:
    origin: str
    checkpoints: tuple[Seen, ...] = ()
    log_keys: tuple[str, ...] = ()  # the chain followed, when it was handed over

    def with_checkpoint(self, seen: Seen, log_keys: tuple[str, ...] = ()) -> VerifierState:
        kept = [c for c in self.checkpoints if c.size != seen.size]
        return VerifierState(
            self.origin,
            tuple(sorted([*kept, seen], key=lambda c: c.size)),
            log_keys if len(log_keys) > 1 else (),
        )


def _log_keys(data: dict[str, Any], path: Path, roots: TrustRoots) -> list[Any]:
    keys = data.get("log_keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise InputError(f"{path}: log_keys must be a list of verifier keys")
    try:
        verifiers = [Ed25519Verifier.from_vkey(k) for k in keys]
    except VerifyError as exc:
        raise InputError(f"{path}: log_keys: {exc}") from None
    if keys and roots.log_vkey not in keys:
        raise InputError(f"{path}: log_keys do not include the trust file's log key")
    return verifiers


def _seen(item: Any, number: int, path: Path, roots: TrustRoots, keys: list[Any]) -> Seen:
    where = f"{path}: checkpoints[{number}]"
    if not isinstance(item, dict) or set(item) != {"size", "root", "note"}:
        raise InputError(f"{where} must be an object with size, root and note")
    size, root, note = item["size"], item["root"], item["note"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InputError(f"{where}.size must be a non-negative integer")
    if not isinstance(root, str) or not isinstance(note, str):
        raise InputError(f"{where}: root and note must be text")
    try:
        raw_root = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where}.root is not base64") from None
    try:
        checkpoint = open_checkpoint(
            note, [roots.log, *(k for k in keys if k != roots.log)], origin=roots.origin
        ).checkpoint
    except VerifyError as exc:
        raise InputError(
            f"{where}.note is not a checkpoint signed by the log: {exc}"
        ) from None
    if (checkpoint.size, checkpoint.root) != (size, raw_root):
        raise InputError(f"{where}: size and root are not those of its note")
    return Seen(size, raw_root, note)


def load_state(path: Path, roots: TrustRoots) -> VerifierState:
    """The state in ``path``; an empty state if the file does not exist yet."""
    if not path.exists():
        return VerifierState(roots.origin)
    raw = read_input(path, "state file")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: state file is not JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: state file nests arrays or objects too deeply") from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise InputError(f"{path}: state file must be an object of format {STATE_FORMAT!r}")
    if data.get("origin") != roots.origin:
        raise InputError(
            f"{path}: state file is for origin {shown(data.get('origin'))}, "
            f"not {roots.origin!r}; use one state file per log"
        )
    items = data.get("checkpoints")
    if not isinstance(items, list):
        raise InputError(f"{path}: state file needs a 'checkpoints' list")
    keys = _log_keys(data, path, roots)
    seen = [_seen(item, n, path, roots, keys) for n, item in enumerate(items)]
    if len({c.size for c in seen}) != len(seen):
        raise InputError(f"{path}: state file lists a tree size twice")
    chain = tuple(k.vkey() for k in keys)
    return VerifierState(roots.origin, tuple(sorted(seen, key=lambda c: c.size)), chain)


def save_state(path: Path, state: VerifierState) -> None:
    """Write ``state`` atomically (a temporary file renamed over ``path``)."""
    data: dict[str, Any] = {
        "format": STATE_FORMAT,
        "origin": state.origin,
        "checkpoints": [
            {"size": c.size, "root": base64.b64encode(c.root).decode(), "note": c.note}
            for c in state.checkpoints
        ],
    }
    if state.log_keys:
        data["log_keys"] = list(state.log_keys)
    # Readable by its owner only: a new folder 0700, the file 0600 (mkstemp's
    # mode, kept by the rename; docs/decisions.md 20).
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _evidence(
    seen: Seen, state_path: Path, note: str, presented: str
) -> tuple[Evidence, ...]:
    return (
        Evidence(f"seen before ({state_path})", seen.note),
        Evidence(f"presented now ({presented})", note),
    )


def size_findings(
    state: VerifierState, new: Seen, state_path: Path, presented: str
) -> list[Finding]:
    """Rollback and fork: checks on the checkpoints alone. ``presented`` says
    where the new checkpoint came from (for the evidence)."""
    findings = []
    larger = [c for c in state.checkpoints if c.size > new.size]
    if larger:
        top = larger[-1]
        findings.append(
            Finding(
                "rollback",
                f"checkpoint of size {new.size} is older than the checkpoint of size "
                f"{top.size} seen before: the log was rolled back or truncated",
                evidence=_evidence(top, state_path, new.note, presented),
            )
        )
    for seen in state.checkpoints:
        if seen.size == new.size and seen.root != new.root:
            findings.append(
                Finding(
                    "fork",
                    f"equivocation: two log-signed checkpoints of size {new.size} with "
                    f"different roots ({_b64(seen.root)} seen before, {_b64(new.root)} "
                    "now): the log forked",
                    evidence=_evidence(seen, state_path, new.note, presented),
                )
            )
    return findings


def prefix_findings(
    state: VerifierState,
    new: Seen,
    prefix_root: Callable[[int], bytes | None],
    state_path: Path,
    presented: str,
) -> list[Finding]:
    """Rewritten history: a seen checkpoint that is not a prefix of this tree.

    ``prefix_root(size)`` is the root of the first ``size`` leaves of the
    new checkpoint's tree, or None if that tree could not be authenticated.
    """
    findings = []
    for seen in state.checkpoints:
        if seen.size >= new.size:
            continue
        root = prefix_root(seen.size)
        if root is not None and root != seen.root:
            findings.append(
                Finding(
                    "rewrite",
                    f"equivocation: the checkpoint of size {seen.size} seen before has "
                    f"root {_b64(seen.root)}, but the first {seen.size} entries of this "
                    f"log of size {new.size} hash to {_b64(root)}: history was rewritten",
                    evidence=_evidence(seen, state_path, new.note, presented),
                )
            )
    return findings


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
