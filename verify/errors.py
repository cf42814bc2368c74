"""Errors raised while reading statements and entries (DESIGN.md §3).

Each message names the field or rule at fault so a person can fix the input.
"""


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
