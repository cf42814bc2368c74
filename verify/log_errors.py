"""Errors raised while checking the integrity log's formats (DESIGN.md §4).

Merkle proofs (RFC 9162 §2.1), signed notes (C2SP signed-note), checkpoints
(C2SP tlog-checkpoint), cosignatures (C2SP tlog-cosignature), receipts (C2SP
tlog-proof) and trust policies (C2SP tlog-policy). Every message says which
rule failed and with which values, so an auditor can act on it.
"""

from verify.errors import VerifyError


class ProofError(VerifyError):
    """A Merkle inclusion or consistency proof does not verify."""


class NoteError(VerifyError):
    """A signed note, a key name or a verifier key is malformed."""


class NoteSignatureError(NoteError):
    """A signature by a known key does not verify (signed-note: SHOULD reject)."""


class UnverifiedNoteError(NoteError):
    """No signature of a known key is on the note (signed-note: MUST reject)."""


class CheckpointError(VerifyError):
    """A checkpoint body is malformed or is not the one expected."""


class ReceiptError(VerifyError):
    """A ``c2sp.org/tlog-proof@v1`` receipt is malformed."""


class PolicyError(VerifyError):
    """A tlog-policy text is malformed."""


class QuorumError(VerifyError):
    """A checkpoint is not signed by a policy log or lacks the witness quorum."""
