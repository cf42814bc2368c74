"""Errors of the ledger: why a statement was refused, in words a person can act on.

Standard library only, so the pure domain can raise them. Every refusal leaves
nothing recorded. ``status`` is the HTTP status the API answers with; the one
place that translates errors to HTTP reads it (docs/design.md §6, api/).
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal by the ledger."""

    status = 422


class ConfigurationError(LedgerError):
    """The home folder, key file or database setting is missing or wrong."""

    status = 500


class WrongOriginError(LedgerError):
    """The statement names another ledger."""

    status = 422


class UnknownPrincipalError(LedgerError):
    """No principal of that id is registered."""

    status = 401


class UnknownKeyError(LedgerError):
    """The key id is not the principal's current registered key."""

    status = 401


class RevokedPrincipalError(LedgerError):
    """The principal was revoked; its keys sign nothing any more."""

    status = 401


class SignatureError(LedgerError):
    """The signature does not verify under the registered key."""

    status = 401


class RoleNotPermittedError(LedgerError):
    """The principal's role may not sign this statement type."""

    status = 403


class MemberScopeError(LedgerError):
    """An NCP wrote for a Member other than its own."""

    status = 403


class StaleVersionError(LedgerError):
    """The stream is not at the version the statement expects."""

    status = 409


class DuplicateStatementError(LedgerError):
    """The same signed statement was already recorded (a replay)."""

    status = 409


class ClockError(LedgerError):
    """The statement's issue time is in the future beyond the allowed skew."""

    status = 422


class ExpiredStatementError(LedgerError):
    """The statement was issued longer ago than a statement may wait to be
    recorded (``verify.formats.statement.MAX_STATEMENT_AGE``); sign it again."""

    status = 422


class LogRangeError(LedgerError):
    """A proof or checkpoint was asked for outside the log (index, sizes)."""

    status = 400


class DomainRuleError(LedgerError):
    """A PMM rule refuses the command (the message names the rule)."""

    status = 422


class NotFoundError(DomainRuleError):
    """The stream, KPI, entry or principal the statement refers to does not exist."""

    status = 404


class ConflictError(DomainRuleError):
    """The command contradicts the current state (already exists, locked...)."""

    status = 409


class SelfValidationError(DomainRuleError):
    """A principal tried to validate, query or return its own submission."""

    status = 403


class ApprovalError(LedgerError):
    """A registry statement lacks the admins' threshold, or an approval in it
    does not verify (decision 15)."""

    status = 403


class ConsentError(LedgerError):
    """A principal's key is rotated only by the principal itself (decision 15)."""

    status = 403


class HandOverError(LedgerError):
    """A ``log.key_rotated`` that does not hand the log over: not signed by the
    log's current key, for another size or root, or a key the ledger does not
    hold (docs/decisions.md 33)."""

    status = 403


class AccessLogIntegrityError(LedgerError):
    """The access log no longer passes through its last seal: records were
    deleted or rewritten behind the ledger (decision 16). Writes stop."""

    status = 503


class InvalidTokenError(LedgerError):
    """A bearer token that is malformed, expired, for another ledger, not signed
    by the principal's current key, or of a revoked principal."""

    status = 401


class SignInError(LedgerError):
    """A browser sign-in was refused (ledger/sessions.py): unknown or used
    challenge, wrong or rotated key, revoked principal, bad signature."""

    status = 401


class SessionEndedError(LedgerError):
    """A session cookie no longer opens a session: expired, signed out, or its
    key rotated or principal revoked since sign-in. Reads fall back to anonymous."""

    status = 401


class TooManyChallengesError(LedgerError):
    """Too many sign-in challenges are open at once (ledger/sessions.py): a flood
    of requests is refused until the open ones expire."""

    status = 429


class BackupError(LedgerError):
    """A backup file is unreadable, corrupted or of another ledger, or a restore
    would overwrite a ledger that is not empty (docs/backup.md)."""

    status = 422


class StorageError(LedgerError):
    """The database could not be reached or written: down, restarted, locked,
    full or read-only (ledger/storage_faults.py). Nothing is corrupted; the
    message says whether the statement was recorded, and the same signed
    statement may be submitted again once the cause is gone (a duplicate is
    refused as such, so it is recorded at most once). ``cause`` is the driver's
    own words, for an operator's log or terminal, never for an HTTP body."""

    status = 503

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause


class StorageUnavailableError(StorageError):
    """The database server is down, restarting, or dropped the connection."""


class StorageBusyError(StorageError):
    """The SQLite database stayed locked by another process past the timeout."""


class StorageFullError(StorageError):
    """The disk (or the database's quota) is full."""


class StorageReadOnlyError(StorageError):
    """The home folder or the database is read-only."""
