"""A client's check of its receipt against the ledger as it is now
(``pmm receipt check``, docs/backup.md "Rollback detection").

A receipt (c2sp.org/tlog-proof@v1) carries a log-signed checkpoint. Whatever
the ledger does later, every checkpoint it shows must extend that one: not be
smaller (a rollback, e.g. a restore of an older backup), and be consistent
with it (RFC 9162 consistency proof; else the log forked). The check verifies
the receipt's checkpoint offline against pinned trust (the log key, the
witness policy), then asks the ledger for its latest checkpoint and a
consistency proof from the receipt's tree, and finally, when the entry is
available, checks the receipt's inclusion proof against the receipt's root.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from typing import Protocol

from ledger.application import Ledger
from ledger.errors import LedgerError
from verify.errors import ProofError, VerifyError
from verify.formats.checkpoint import Checkpoint, open_checkpoint
from verify.formats.note_keys import Ed25519Verifier
from verify.formats.policy_text import TrustPolicy
from verify.formats.receipt import parse_receipt
from verify.merkle.tree import leaf_hash, verify_consistency, verify_inclusion

TIMEOUT = 10.0
MAX_ANSWER = 1 << 20


class LogSource(Protocol):
    """What the check asks of the ledger."""

    def checkpoint(self) -> str: ...
    def consistency(self, old: int, new: int) -> list[bytes]: ...
    def entry(self, index: int) -> bytes | None: ...


@dataclass(frozen=True)
class Trust:
    origin: str
    log: Ed25519Verifier
    policy: TrustPolicy


@dataclass(frozen=True)
class ReceiptCheck:
    verdict: str  # "consistent", "rollback", "fork" or "invalid"
    message: str
    index: int | None = None
    receipt_size: int | None = None
    ledger_size: int | None = None
    quorum: str = ""  # the receipt's checkpoint against the witness policy

    @property
    def ok(self) -> bool:
        return self.verdict == "consistent"


def check_receipt(text: bytes, trust: Trust, source: LogSource) -> ReceiptCheck:
    try:
        receipt = parse_receipt(text)
        theirs = open_checkpoint(receipt.checkpoint, [trust.log], origin=trust.origin)
    except VerifyError as exc:
        return ReceiptCheck("invalid", f"the receipt does not verify: {exc}")
    mine: Checkpoint = theirs.checkpoint
    try:
        trust.policy.verify_checkpoint(receipt.checkpoint, origin=trust.origin)
        quorum = "met"
    except VerifyError as exc:
        quorum = f"not met ({exc})"
    base = ReceiptCheck("invalid", "", receipt.index, mine.size, None, quorum)
    try:
        now = open_checkpoint(source.checkpoint(), [trust.log], origin=trust.origin)
    except (VerifyError, OSError, ValueError) as exc:
        message = f"the ledger's checkpoint could not be read or does not verify: {exc}"
        return replace(base, message=message)
    current = now.checkpoint
    base = replace(base, ledger_size=current.size)
    if current.size < mine.size:
        return replace(
            base,
            verdict="rollback",
            message=f"rollback: the ledger's log has {current.size} entries, fewer than "
            f"the {mine.size} of the checkpoint in your receipt: it was rolled back "
            "(restored from an older backup?) after your entry was recorded",
        )
    try:
        proof = (
            source.consistency(mine.size, current.size) if current.size > mine.size else []
        )
        verify_consistency(mine.size, current.size, mine.root, current.root, proof)
    except (ProofError, OSError, ValueError) as exc:
        return replace(
            base,
            verdict="fork",
            message=f"fork: the ledger's log of size {current.size} does not extend the "
            f"checkpoint of size {mine.size} in your receipt ({exc}): the log was "
            "rewritten (restored from an older backup, then written to?)",
        )
    entry = source.entry(receipt.index)
    inclusion = "the entry was not available, inclusion not checked"
    if entry is not None:
        try:
            verify_inclusion(
                receipt.index, mine.size, leaf_hash(entry), receipt.path, mine.root
            )
        except ProofError as exc:
            return replace(base, message=f"the receipt's inclusion proof fails: {exc}")
        inclusion = f"entry {receipt.index} is in both"
    return replace(
        base,
        verdict="consistent",
        message=f"consistent: the ledger's log of size {current.size} extends the "
        f"checkpoint of size {mine.size} in your receipt; {inclusion}",
    )


class HttpSource:
    """A served ledger (``pmm serve``): ``GET /checkpoint`` and
    ``GET /proofs/consistency`` are public; entries are not (they need a full
    reader's token), so the inclusion proof is checked only with ``--entry``."""

    def __init__(self, url: str, entry: bytes | None = None) -> None:
        self.url, self._entry = url.rstrip("/"), entry

    def _get(self, path: str) -> str:
        try:
            with urllib.request.urlopen(self.url + path, timeout=TIMEOUT) as answer:
                return str(answer.read(MAX_ANSWER).decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise ValueError(f"GET {path}: HTTP {exc.code}") from None

    def checkpoint(self) -> str:
        return self._get("/checkpoint")

    def consistency(self, old: int, new: int) -> list[bytes]:
        text = self._get(f"/proofs/consistency?old={old}&new={new}")
        return [base64.b64decode(line, validate=True) for line in text.split()]

    def entry(self, index: int) -> bytes | None:
        return self._entry


class LedgerSource:
    """The ledger of a home folder, read directly."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def checkpoint(self) -> str:
        return self.ledger.sequencer.checkpoint()

    def consistency(self, old: int, new: int) -> list[bytes]:
        try:
            return self.ledger.sequencer.consistency(old, new)
        except LedgerError as exc:
            raise ValueError(str(exc)) from None

    def entry(self, index: int) -> bytes | None:
        try:
            return self.ledger.sequencer.store.entry(index)
        except LookupError:
            return None
