"""The log's checkpoint keys: which one signs now, and its hand-over.

docs/decisions.md 33, docs/key-compromise.md. The log's first key is
HOME/keys/log.key; each later one, made by ``pmm log-key rotate``, is
HOME/keys/log-N.key (N = 2, 3...). Which of them signs is not a setting: it
is the key the registry's last ``log.key_rotated`` entry hands over to, or
the first key while there is none; so a ledger reopened after a crash signs
with the key its own log names. The hand-over's bytes and checks are
``verify.formats.handover``'s, shared with the offline verifier.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from eventsourcing.application import Application

from ledger.domain.events import LedgerEvent
from ledger.domain.registry import REGISTRY_STREAM
from ledger.errors import ConfigurationError, HandOverError
from ledger.keys import KeyPair
from ledger.sequencer import Sequencer
from ledger.work import UnitOfWork
from verify.formats.handover import LOG_KEY_ROTATED, HandOver, handover_problem
from verify.formats.note_keys import Ed25519Signer
from verify.rules.registry import LogKeyChange

LOG_KEY = "log"
_LATER = re.compile(r"log-([2-9]|[1-9][0-9]+)\.key")


def load_log_keys(keys_dir: Path) -> tuple[KeyPair | None, list[KeyPair]]:
    """The first log key (``log.key``, None once it was taken away) and the
    later ones (``log-N.key``, by N)."""
    first_path = keys_dir / f"{LOG_KEY}.key"
    first = KeyPair.load(first_path) if first_path.exists() else None
    later = sorted(
        (int(match.group(1)), path)
        for path in (keys_dir.iterdir() if keys_dir.is_dir() else [])
        if (match := _LATER.fullmatch(path.name))
    )
    return first, [KeyPair.load(path) for _, path in later]


def next_key_path(keys_dir: Path) -> Path:
    """Where the next log key's file goes: the first free ``log-N.key``."""
    n = 2
    while (keys_dir / f"{LOG_KEY}-{n}.key").exists():
        n += 1
    return keys_dir / f"{LOG_KEY}-{n}.key"


def vkey_of(origin: str, key: KeyPair) -> str:
    """The C2SP verifier key of ``key`` as this log's checkpoint key."""
    return Ed25519Signer(origin, key.private_key).verifier().vkey()


class LogKeys:
    """The log keys this ledger holds, by verifier key."""

    def __init__(self, origin: str, first: KeyPair | None, later: Sequence[KeyPair]):
        self.origin = origin
        self.first = Ed25519Signer(origin, first.private_key) if first else None
        self.signers = {
            signer.verifier().vkey(): signer
            for signer in (Ed25519Signer(origin, k.private_key) for k in later)
        }
        if self.first is not None:
            self.signers[self.first.verifier().vkey()] = self.first

    def current(self, changes: Sequence[LogKeyChange]) -> Ed25519Signer:
        """The key that signs checkpoints now: the last hand-over's new key."""
        if not changes:
            if self.first is None:
                raise ConfigurationError(
                    "HOME/keys/log.key is missing, and no log.key_rotated entry hands "
                    "the log to another key: restore the log key file"
                )
            return self.first
        last = changes[-1]
        found = self.signers.get(last.new_key)
        if found is None:
            raise ConfigurationError(
                f"registry version {last.position} hands the log to key "
                f"{last.new_key}, whose key file is not in HOME/keys (log-N.key): "
                "restore it before the ledger signs another checkpoint"
            )
        return found

    def add(self, key: KeyPair) -> str:
        """Hold ``key`` too (a new log key, before its hand-over); its vkey."""
        signer = Ed25519Signer(self.origin, key.private_key)
        self.signers[signer.verifier().vkey()] = signer
        return signer.verifier().vkey()

    def holds(self, vkey: str) -> bool:
        return vkey in self.signers


class KeyedLog(Protocol):
    """What a hand-over reads from the ledger: the log, its origin and the keys
    that sign it. A protocol, so that the modules below ``ledger.application``
    never import it (docs/decisions.md decision 40)."""

    @property
    def origin(self) -> str: ...

    @property
    def sequencer(self) -> Sequencer: ...

    @property
    def log_keys(self) -> LogKeys: ...

    def log_size(self) -> int: ...

    def log_vkey(self) -> str: ...


def log_key_changes(ledger: Application[str]) -> list[LogKeyChange]:
    """The hand-overs the registry stream holds, read from the stored events
    rather than the replayed aggregate: so that a ledger whose registry stream
    was damaged behind its back still opens for ``pmm verify``, and one that
    crashed before integrating a hand-over signs with the new key."""
    found = []
    for event in ledger.events.get(REGISTRY_STREAM):
        if not isinstance(event, LedgerEvent):
            continue
        statement = event.statement
        if statement["type"] == LOG_KEY_ROTATED:
            body = statement["body"]
            change = LogKeyChange(
                event.originator_version, body["old_key"], body["new_key"], body
            )
            found.append(change)
    return found


def check_handover(ledger: KeyedLog, work: UnitOfWork, body: dict[str, Any]) -> None:
    """Refuse a ``log.key_rotated`` that does not hand this log over now: it is
    the first statement of its write, so that it takes log index ``size``, the
    current log key signed it, and the ledger holds the new key."""
    if any(a is not None and a.pending_events for a in work.loaded.values()):
        raise HandOverError(
            "a log.key_rotated is recorded alone, not after other statements of a "
            "batch: it hands over exactly the entries before it"
        )
    size = work.log_size()
    wanted = body["size"]
    root = ledger.sequencer.root(wanted) if 0 < wanted <= size else None
    problem = handover_problem(ledger.origin, ledger.log_vkey(), body, size, root)
    if problem is not None:
        raise HandOverError(problem)
    if not ledger.log_keys.holds(body["new_key"]):
        raise HandOverError(
            f"this ledger holds no key file for the new log key {body['new_key']}: "
            "put it in HOME/keys as log-N.key first (pmm log-key rotate does)"
        )


def handover_body(
    ledger: KeyedLog, old: KeyPair, new: KeyPair, reason: str
) -> dict[str, Any]:
    """A ``log.key_rotated`` body handing the log, at its size now, from ``old``
    (which signs the hand-over) to ``new``; ``approvals`` are added after."""
    size = ledger.log_size()
    handover = HandOver(
        ledger.origin,
        vkey_of(ledger.origin, old),
        vkey_of(ledger.origin, new),
        size,
        ledger.sequencer.root(size),
    )
    signature = old.private_key.sign(handover.signing_input())
    return {
        "handover": base64.b64encode(signature).decode("ascii"),
        "new_key": handover.new_key,
        "old_key": handover.old_key,
        "reason": reason,
        "root": base64.b64encode(handover.root).decode("ascii"),
        "size": size,
    }
