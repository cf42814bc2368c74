"""A C2SP tlog-witness: cosigns a log's checkpoints only when they extend,
consistently, the last checkpoint it cosigned (docs/formats.md §2.4, docs/design.md §4).

The witness is its own party: its own key file, its own state file, no access
to the ledger's database. ``Witness.add_checkpoint`` implements the
``add-checkpoint`` request and returns the HTTP status, body and content type
the spec prescribes; the HTTP server around it is ``api.witness_server``.

Request body: ``old <size>\\n``, 0..63 base64 consistency-proof lines, an empty
line, then the checkpoint note (read by ``verify/formats/proofs.py``). Answers:
404 unknown origin, 403 no valid log signature, 400 malformed or old > size,
409 (body ``<size>\\n``, type ``text/x.tlog.size``) when ``old`` is not the size
it last cosigned or when a same-size checkpoint has another root, 422 a bad
proof or a size-0 checkpoint without the empty root, 200 with cosignature lines
on success. State is saved (atomically, under a file lock) before the
cosignature is returned, so a crashed witness never forgets what it signed.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ledger.files import open_private, private_folder
from verify.errors import (
    NoteSignatureError,
    ProofError,
    UnverifiedNoteError,
    VerifyError,
    WitnessRequestError,
    quote,
)
from verify.formats.checkpoint import Checkpoint, check_own_checkpoint
from verify.formats.cosignature import CosignatureSigner
from verify.formats.note import Signature, open_note
from verify.formats.note_keys import Ed25519Verifier
from verify.formats.proofs import parse_add_checkpoint
from verify.merkle.tree import EMPTY_ROOT, verify_witness_consistency

SIZE_TYPE = "text/x.tlog.size"
MAX_REASON = 300  # characters of a refusal's reason (docs/decisions.md 17)


def _reason(exc: Exception | str) -> str:
    """Why a request was refused, in short: the messages quote the request."""
    text = str(exc)
    return text if len(text) <= MAX_REASON else text[:MAX_REASON] + "…"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


class Witness:
    """Cosigns checkpoints of the logs it trusts, never two inconsistent ones."""

    def __init__(self, signer: CosignatureSigner, logs: Iterable[str], state: Path) -> None:
        self.signer = signer
        self.logs = {v.name: v for v in map(Ed25519Verifier.from_vkey, logs)}
        self.state_path = state

    def latest(self, origin: str) -> tuple[int, bytes]:
        """The size and root this witness last cosigned for ``origin``."""
        return self._latest(self._load(), origin)

    @staticmethod
    def _latest(state: dict[str, dict[str, object]], origin: str) -> tuple[int, bytes]:
        entry = state.get(origin)
        if entry is None:
            return 0, EMPTY_ROOT
        return int(str(entry["size"])), base64.b64decode(str(entry["root"]))

    def add_checkpoint(self, request: bytes) -> Answer:
        try:
            read = parse_add_checkpoint(request)
        except WitnessRequestError as exc:
            if exc.cause is None:
                return Answer(400, f"{exc.message}\n")
            return Answer(400, f"{exc.message}: {_reason(exc.cause)}\n")
        old, checkpoint = read.request.old, read.checkpoint
        log = self.logs.get(checkpoint.origin)
        if log is None:
            return Answer(404, f"unknown log origin {quote(checkpoint.origin)}\n")
        try:
            open_note(read.request.note, [log])
            check_own_checkpoint(checkpoint)
        except (NoteSignatureError, UnverifiedNoteError) as exc:
            return Answer(403, f"no valid signature by the log key: {_reason(exc)}\n")
        except VerifyError as exc:
            return Answer(422, f"checkpoint refused: {_reason(exc)}\n")
        if old > checkpoint.size:
            return Answer(400, f"old size {old} is larger than the checkpoint's\n")
        proof = list(read.request.proof)
        return self._advance(checkpoint.origin, old, proof, read.note.text, checkpoint)

    def _advance(
        self, origin: str, old: int, proof: list[bytes], body: str, checkpoint: Checkpoint
    ) -> Answer:
        private_folder(self.state_path.parent)
        # State and lock are the witness's own: 0600 (docs/decisions.md 20).
        lock = open_private(f"{self.state_path}.lock", os.O_WRONLY | os.O_APPEND)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the old-size check and the save are atomic
            return self._locked_advance(origin, old, proof, body, checkpoint)
        finally:
            os.close(lock)

    def _locked_advance(
        self, origin: str, old: int, proof: list[bytes], body: str, checkpoint: Checkpoint
    ) -> Answer:
        state = self._load()
        size, root = self._latest(state, origin)
        if old != size:
            return Answer(409, f"{size}\n", SIZE_TYPE)
        if checkpoint.size == size and checkpoint.root != root and size > 0:
            return Answer(409, f"{size}\n", SIZE_TYPE)
        try:
            verify_witness_consistency(old, checkpoint.size, root, checkpoint.root, proof)
        except ProofError as exc:
            return Answer(422, f"consistency proof refused: {_reason(exc)}\n")
        cosignature = self.signer.sign(body.encode("utf-8"))
        state[origin] = {
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode(),
            "checkpoint": body,
        }
        self._save(state)
        line = Signature(self.signer.name, self.signer.key_id, cosignature).line()
        return Answer(200, line)

    def _save(self, state: dict[str, dict[str, object]]) -> None:
        """Replace the state file atomically; mkstemp makes the new file 0600."""
        folder = self.state_path.parent
        fd, temporary = tempfile.mkstemp(prefix=f".{self.state_path.name}.", dir=folder)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(json.dumps(state, indent=2, sort_keys=True) + "\n")
            os.replace(temporary, self.state_path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict):
            raise ValueError(f"{self.state_path} is not a witness state file")
        return data
