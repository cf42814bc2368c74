"""C2SP tlog-policy: which logs and witness quorum make a checkpoint valid.

(docs/design.md §4, docs/formats.md §2.6; not the signing rules of ``verify.rules.policy``.)
The text is line based; items are separated by runs of spaces and tabs;
blank lines and lines starting with ``#`` are ignored::

    log <vkey> [<url>]                    Ed25519 (0x01); key name = origin
    witness <name> <vkey> [<url>]         Ed25519 cosigner (0x04)
    group <name> <k|all|any> <member>...  k of the n members, 1 <= k <= n
    quorum <name|none>                    exactly one

Witnesses and groups share one namespace; ``none`` is reserved. A group or
the quorum may only name what earlier lines defined, and a group lists each
member once. Two logs, or two witnesses, may not share a public key. The only
control characters allowed are tab and newline, and every line ends in one.
A checkpoint is valid if any listed log signed it and the witnesses whose
cosignatures verify satisfy the quorum.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass

from verify.errors import NoteError, PolicyError, QuorumError
from verify.formats.checkpoint import Checkpoint, open_checkpoint
from verify.formats.cosignature import CosignatureVerifier, cosignature_timestamp
from verify.formats.note import Ed25519Verifier

NONE = "none"
_FIELDS = re.compile(r"[ \t]+")
_K = re.compile(r"[1-9][0-9]*")


@dataclass(frozen=True)
class PolicyLog:
    """``log <vkey> [<url>]``: the key name is the log's origin."""

    verifier: Ed25519Verifier
    url: str | None = None


@dataclass(frozen=True)
class PolicyWitness:
    """``witness <name> <vkey> [<url>]``; ``name`` is local to the policy."""

    name: str
    verifier: CosignatureVerifier
    url: str | None = None


@dataclass(frozen=True)
class PolicyGroup:
    """``rule`` is ``all``, ``any`` or the decimal threshold, as written."""

    name: str
    rule: str
    members: tuple[str, ...]

    @property
    def threshold(self) -> int:
        if self.rule == "all":
            return len(self.members)
        return 1 if self.rule == "any" else int(self.rule)


@dataclass(frozen=True)
class VerifiedCheckpoint:
    """A checkpoint valid under a policy: the witnesses that cosigned, and when."""

    checkpoint: Checkpoint
    log: Ed25519Verifier
    cosigners: frozenset[str]
    timestamps: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class TrustPolicy:
    """A parsed tlog-policy; built directly, it is validated the same way."""

    logs: tuple[PolicyLog, ...]
    witnesses: tuple[PolicyWitness, ...]
    groups: tuple[PolicyGroup, ...]
    quorum: str

    def __post_init__(self) -> None:
        _unique([log.verifier.public_key for log in self.logs], "log public key")
        _unique([w.verifier.public_key for w in self.witnesses], "witness public key")
        defined: set[str] = set()
        for witness in self.witnesses:
            _define(witness.name, defined)
        for group in self.groups:
            _check_group(group, defined)
            _define(group.name, defined)
        if self.quorum != NONE and self.quorum not in defined:
            raise PolicyError(
                f"quorum names {self.quorum!r}, which is not defined before it"
            )

    def with_log(self, log: Ed25519Verifier) -> TrustPolicy:
        """This policy's witnesses and quorum over the log key ``log`` alone: the
        key a log's hand-overs lead to (docs/decisions.md 33)."""
        return dataclasses.replace(self, logs=(PolicyLog(log),))

    def satisfied_by(self, cosigners: Iterable[str]) -> bool:
        """Whether witnesses ``cosigners`` (policy names) meet the quorum."""
        have = set(cosigners)
        groups = {group.name: group for group in self.groups}

        def met(name: str) -> bool:
            group = groups.get(name)
            if group is None:
                return name in have
            return sum(met(member) for member in group.members) >= group.threshold

        return self.quorum == NONE or met(self.quorum)

    def format(self) -> str:
        def line(*items: str | None) -> str:
            return " ".join(item for item in items if item is not None) + "\n"

        lines = [line("log", log.verifier.vkey(), log.url) for log in self.logs]
        lines += [line("witness", w.name, w.verifier.vkey(), w.url) for w in self.witnesses]
        lines += [line("group", g.name, g.rule, *g.members) for g in self.groups]
        return "".join(lines) + line("quorum", self.quorum)

    def verify_checkpoint(
        self,
        note: str | bytes,
        *,
        origin: str | None = None,
        allow_extensions: bool = False,
    ) -> VerifiedCheckpoint:
        """Check a checkpoint note: a policy log signed it, the quorum cosigned it.

        Raises a ``NoteError`` if a known key's signature fails or none is
        known, ``CheckpointError`` for a bad body, ``QuorumError`` otherwise.
        """
        logs = [log.verifier for log in self.logs]
        witnesses = {w.verifier: w.name for w in self.witnesses}
        opened = open_checkpoint(
            note, [*logs, *witnesses], origin=origin, allow_extensions=allow_extensions
        )
        checkpoint = opened.checkpoint
        signers = [v for v in opened.note.verifiers if v in logs]
        log = next((v for v in signers if v.name == checkpoint.origin), None)
        if not isinstance(log, Ed25519Verifier):
            raise QuorumError(
                f"checkpoint of origin {checkpoint.origin!r} is not signed by a log of the "
                "policy whose key is named after that origin"
            )
        timestamps = tuple(
            (witnesses[verifier], cosignature_timestamp(sig))
            for sig, verifier in zip(
                opened.note.verified, opened.note.verifiers, strict=True
            )
            if isinstance(verifier, CosignatureVerifier) and verifier in witnesses
        )
        cosigners = frozenset(name for name, _ in timestamps)
        if not self.satisfied_by(cosigners):
            have = ", ".join(sorted(cosigners)) or "no witness"
            raise QuorumError(f"cosigned by {have}: does not meet quorum {self.quorum!r}")
        return VerifiedCheckpoint(checkpoint, log, cosigners, timestamps)


def _unique(keys: list[bytes], what: str) -> None:
    if len(set(keys)) != len(keys):
        raise PolicyError(f"the same {what} is listed twice")


def _define(name: str, defined: set[str]) -> None:
    if name == NONE:
        raise PolicyError("the name 'none' is reserved")
    if name in defined:
        raise PolicyError(f"name {name!r} is defined twice")
    defined.add(name)


def _check_group(group: PolicyGroup, defined: set[str]) -> None:
    if not group.members:
        raise PolicyError(f"group {group.name!r} lists no members")
    if len(set(group.members)) != len(group.members):
        raise PolicyError(f"group {group.name!r} lists a member twice")
    for member in group.members:
        if member not in defined:
            raise PolicyError(
                f"group {group.name!r} names {member!r}, not defined before it"
            )
    if group.rule not in ("all", "any") and not (
        _K.fullmatch(group.rule) and int(group.rule) <= len(group.members)
    ):
        raise PolicyError(
            f"group {group.name!r}: threshold {group.rule!r} is not all, any or "
            f"a decimal from 1 to {len(group.members)}"
        )


def parse_policy(text: str | bytes) -> TrustPolicy:
    """Parse a tlog-policy text (UTF-8); ``PolicyError`` names the line at fault."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise PolicyError("policy is not UTF-8") from None
    if text and not text.endswith("\n"):
        raise PolicyError("policy's last line does not end in a newline")
    logs: list[PolicyLog] = []
    witnesses: list[PolicyWitness] = []
    groups: list[PolicyGroup] = []
    quorum: str | None = None
    defined: set[str] = set()
    for number, raw in enumerate(text.split("\n")[:-1], start=1):
        try:
            bad = next((c for c in raw if (c < " " and c != "\t") or c == "\x7f"), None)
            if bad is not None:
                raise PolicyError(f"control character {bad!r}")
            items = _FIELDS.split(raw.strip(" \t"))
            keyword, args = items[0], items[1:]
            if not keyword or keyword.startswith("#"):
                continue
            if keyword == "log" and len(args) in (1, 2):
                logs.append(PolicyLog(Ed25519Verifier.from_vkey(args[0]), _url(args[1:])))
            elif keyword == "witness" and len(args) in (2, 3):
                _define(args[0], defined)
                verifier = CosignatureVerifier.from_vkey(args[1])
                witnesses.append(PolicyWitness(args[0], verifier, _url(args[2:])))
            elif keyword == "group" and len(args) >= 3:
                group = PolicyGroup(args[0], args[1], tuple(args[2:]))
                _check_group(group, defined)
                _define(args[0], defined)
                groups.append(group)
            elif keyword == "quorum" and len(args) == 1:
                if quorum is not None:
                    raise PolicyError("a second quorum line")
                if args[0] != NONE and args[0] not in defined:
                    raise PolicyError(f"quorum names {args[0]!r}, not defined before it")
                quorum = args[0]
            else:
                raise PolicyError(f"{keyword!r} line with {len(args)} item(s) is not valid")
        except (PolicyError, NoteError) as exc:
            raise PolicyError(f"policy line {number}: {exc}") from None
    if quorum is None:
        raise PolicyError("policy has no quorum line")
    try:
        return TrustPolicy(tuple(logs), tuple(witnesses), tuple(groups), quorum)
    except PolicyError as exc:
        raise PolicyError(f"policy: {exc}") from None


def _url(rest: list[str]) -> str | None:
    return rest[0] if rest else None
