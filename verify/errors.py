"""Errors raised while reading statements and entries (docs/design.md §3).

Each message names the field or rule at fault so a person can fix the input.
"""

import reprlib


class VerifyError(Exception):
    """Base of every error raised by the ``verify`` package."""


class MalformedStatementError(VerifyError):
    """The bytes are not a well-formed statement: bad JSON, a missing field,
    a field of the wrong type, an unknown field."""


class FloatValueError(MalformedStatementError):
    """A binary float, NaN or infinity where numbers must be decimal strings."""


class NonCanonicalError(MalformedStatementError):
    """The bytes parse but are not RFC 8785 (JCS) canonical JSON."""


class StatementTooLargeError(MalformedStatementError):
    """The signed statement exceeds the size limit."""


class UnknownStatementTypeError(MalformedStatementError):
    """The statement type is not one the ledger knows."""


class BadSignatureError(VerifyError):
    """The Ed25519 signature does not verify under the named key."""


# Error messages quote client input, but never more than a short prefix of it:
# an anonymous 17-byte body must not make a 100 MB message (docs/decisions.md 17).
QUOTE_LIMIT = 40


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` quoted for an error message: its repr, cut to ``limit`` characters
    (and its length said) when it is longer."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"


def shown(value: object) -> str:
    """Any client value for an error message: text quoted by ``quote``, anything
    else by ``reprlib`` (bounded in size and depth)."""
    return quote(value) if isinstance(value, str) else reprlib.repr(value)


def quote_all(texts: list[str], limit: int = 5) -> str:
    """At most ``limit`` items of ``texts``, comma-separated, and how many more:
    a short printable name as it is, anything else quoted."""
    listed = ", ".join(
        text if len(text) <= QUOTE_LIMIT and text.isprintable() else quote(text)
        for text in texts[:limit]
    )
    return listed + (f" and {len(texts) - limit} more" if len(texts) > limit else "")


# -- the integrity log's formats ------------------------------------------------------


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


class TilePathError(VerifyError):
    """A path is not the canonical tlog-tiles name of a tile."""


class InputError(VerifyError):
    """An input could not be read: missing, truncated or malformed (exit 2)."""


class WitnessRequestError(VerifyError):
    """A tlog-witness add-checkpoint request is malformed (HTTP 400). ``cause``
    is what failed to decode or parse, which the witness bounds before quoting
    it back (docs/decisions.md 17)."""

    def __init__(self, message: str, cause: str | None = None) -> None:
        super().__init__(message if cause is None else f"{message}: {cause}")
        self.message = message
        self.cause = cause


class ReceiptError(VerifyError):
    """A ``c2sp.org/tlog-proof@v1`` receipt is malformed."""


class PolicyError(VerifyError):
    """A tlog-policy text is malformed."""


class QuorumError(VerifyError):
    """A checkpoint is not signed by a policy log or lacks the witness quorum."""
