"""Replaying the log entry by entry: who could sign what, at each position.

DESIGN.md §5 items 1 and 4. The principal registry is rebuilt from the
entries themselves, rooted in the genesis entry the trust file pins:

* entry 0 is ``registry.genesis``, self-signed by the admin key in its body;
* ``principal.registered`` adds a principal with a role (an NCP with its one
  Member) and a key no principal ever had;
* ``principal.key_rotated`` replaces the key: the old one signs nothing after;
* ``principal.revoked``: none of the principal's keys sign anything after.

Every entry must be canonical and well formed, its statement well formed and
for this ledger's origin, signed under its principal's key *at that position*
(key id included), by a role allowed the action for its own Member
(``verify.policy``); stream versions run 1, 2, 3... per stream, record time
never decreases, and no statement was issued after it was recorded (beyond
the ledger's five-minute clock skew). Registry entries are signature-checked
here, before they change who may sign; other entries' signatures may be
deferred as a ``SignatureJob`` and checked in parallel.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from verify.errors import VerifyError
from verify.findings import Finding
from verify.policy import refusal
from verify.schema import STATEMENT_TYPES
from verify.signatures import SignatureJob, signature_failure
from verify.statement import (
    SignedStatement,
    check_statement,
    key_id,
    parse_entry,
    parse_timestamp,
)

GENESIS = "registry.genesis"
CLOCK_SKEW = timedelta(minutes=5)  # what the ledger allows (ledger admission)
# Checks after which a registry entry may not change who signs what.
_AUTHORITY = (
    *("entry", "statement", "origin", "genesis", "principal", "key", "signature"),
    *("role", "member", "source", "registry"),
)


@dataclass
class Principal:
    """A principal as of the current position of the replay."""

    id: str
    role: str
    member: str | None
    key: bytes
    registered_at: int
    retired: dict[str, int] = field(default_factory=dict)  # key id -> rotation index
    revoked_at: int | None = None


@dataclass(frozen=True)
class Checked:
    """The outcome of one entry: its findings and a deferred signature, if any."""

    findings: tuple[Finding, ...]
    job: SignatureJob | None = None
    stream: str | None = None
    entry_type: str | None = None


class Replay:
    """The registry, stream versions and record time, entry after entry."""

    def __init__(self, origin: str, genesis_sha256: str) -> None:
        self.origin = origin
        self.genesis_sha256 = genesis_sha256
        self.principals: dict[str, Principal] = {}
        self.keys: dict[bytes, str] = {}  # every key ever registered -> principal
        self.versions: dict[str, int] = {}
        self.by_type: Counter[str] = Counter()
        self.last_recorded: tuple[int, datetime] | None = None

    def check(self, index: int, raw: bytes, *, defer: bool = False) -> Checked:
        """Check entry ``index``; with ``defer``, a non-registry signature is
        returned as a job instead of being checked here."""
        try:
            entry = parse_entry(raw)
        except (VerifyError, ValueError) as exc:
            return Checked((Finding("entry", f"entry is malformed: {exc}", index),))
        signed = entry.signed
        try:
            check_statement(signed.statement)
        except VerifyError as exc:
            stream, kind = signed.statement.get("stream"), signed.statement.get("type")
            where = (
                stream if isinstance(stream, str) else None,
                kind if isinstance(kind, str) else None,
            )
            reason = f"statement is malformed: {exc}"
            return Checked((Finding("statement", reason, index, *where),), None, *where)
        kind = STATEMENT_TYPES[signed.type]
        self.by_type[kind.name] += 1
        problems: list[tuple[str, str]] = []
        if signed.statement["origin"] != self.origin:
            problems.append(
                (
                    "origin",
                    f"statement is for ledger {signed.statement['origin']!r}, "
                    f"this log is {self.origin!r}",
                )
            )
        problems += self._genesis_problems(index, raw, kind.name)
        key, role, member = self._signer(index, signed, problems)
        job = None
        if key is not None:
            job = SignatureJob(
                index,
                entry.stream,
                kind.name,
                signed.principal,
                str(signed.statement["key_id"]),
                key,
                signed.signature,
                signed.canonical(),
            )
            if not defer or kind.stream == "registry":
                failed = signature_failure(job)
                if failed is not None:
                    problems.append(("signature", failed.reason))
                job = None
        if role is not None:
            refused = refusal(
                kind, signed.principal, role, member, entry.stream, signed.body
            )
            if refused is not None:
                problems.append((refused.rule, refused.reason))
        if kind.stream == "registry" and kind.name != GENESIS and not problems:
            problem = self._registry_problem(kind.name, signed.body)
            if problem:
                problems.append(("registry", problem))
        if kind.stream == "registry" and not any(c in _AUTHORITY for c, _ in problems):
            self._apply(index, kind.name, signed.body)
        problems += self._order_problems(index, entry.stream, entry.stream_version, signed)
        problems += self._time_problems(index, entry.recorded_at, signed.statement)
        return Checked(
            tuple(Finding(c, r, index, entry.stream, kind.name) for c, r in problems),
            job,
            entry.stream,
            kind.name,
        )

    # -- who signed ------------------------------------------------------------

    def _genesis_problems(self, index: int, raw: bytes, kind: str) -> list[tuple[str, str]]:
        if index == 0 and kind != GENESIS:
            return [
                ("genesis", f"entry 0 must be the genesis entry ({GENESIS}), not {kind}")
            ]
        if index == 0:
            digest = hashlib.sha256(raw).hexdigest()
            if digest != self.genesis_sha256:
                return [
                    (
                        "genesis",
                        f"entry 0 has SHA-256 {digest}; the trust file pins the "
                        f"genesis entry {self.genesis_sha256}",
                    )
                ]
        elif kind == GENESIS:
            return [("genesis", "a second genesis entry: only entry 0 may be the genesis")]
        return []

    def _signer(
        self, index: int, signed: SignedStatement, problems: list[tuple[str, str]]
    ) -> tuple[bytes | None, str | None, str | None]:
        """The key that must have signed, with its role and Member, or Nones."""
        if signed.type == GENESIS:
            if signed.body["principal"] != signed.principal:
                problems.append(
                    ("genesis", "the genesis entry must be signed by the admin it names")
                )
                return None, None, None
            key, role, member = _b64(signed.body["public_key"]), "admin", None
            retired: dict[str, int] = {}
        else:
            principal = self.principals.get(signed.principal)
            if principal is None:
                problems.append(
                    (
                        "principal",
                        f"principal {signed.principal!r} is not registered (at entry "
                        f"{index})",
                    )
                )
                return None, None, None
            if principal.revoked_at is not None:
                problems.append(
                    (
                        "principal",
                        f"principal {principal.id!r} was revoked at entry "
                        f"{principal.revoked_at}; its keys sign nothing after that",
                    )
                )
                return None, None, None
            key, role, member = principal.key, principal.role, principal.member
            retired = principal.retired
        claimed, current = signed.statement["key_id"], key_id(key)
        if claimed != current:
            if claimed in retired:
                reason = (
                    f"key {claimed!r} of principal {signed.principal!r} was rotated out "
                    f"at entry {retired[claimed]}; a rotated key signs nothing after"
                )
            else:
                reason = (
                    f"key {claimed!r} is not the key of principal {signed.principal!r} "
                    f"at this position (key id {current!r})"
                )
            problems.append(("key", reason))
            return None, role, member
        return key, role, member

    # -- the registry ------------------------------------------------------------

    def _registry_problem(self, kind: str, body: dict[str, Any]) -> str | None:
        target = self.principals.get(body["principal"])
        if kind == "principal.registered":
            if target is not None:
                return (
                    f"principal {target.id!r} is already registered (entry "
                    f"{target.registered_at})"
                )
            if (body["role"] == "ncp") != (body["member"] is not None):
                return (
                    "body.member names the Member of an NCP, and only of an NCP: "
                    f"role {body['role']!r} with member {body['member']!r}"
                )
        elif target is None:
            return f"principal {body['principal']!r} is not registered"
        elif target.revoked_at is not None:
            return (
                f"principal {target.id!r} was already revoked at entry {target.revoked_at}"
            )
        if "public_key" in body:
            owner = self.keys.get(_b64(body["public_key"]))
            if owner is not None:
                return (
                    f"that public key already belongs to principal {owner!r}; every "
                    "principal signs with its own key"
                )
        return None

    def _apply(self, index: int, kind: str, body: dict[str, Any]) -> None:
        name = body["principal"]
        if kind in (GENESIS, "principal.registered"):
            role = body.get("role", "admin")
            key = _b64(body["public_key"])
            self.principals[name] = Principal(name, role, body.get("member"), key, index)
            self.keys[key] = name
        elif kind == "principal.key_rotated":
            principal = self.principals[name]
            principal.retired[key_id(principal.key)] = index
            principal.key = _b64(body["public_key"])
            self.keys[principal.key] = name
        elif kind == "principal.revoked":
            self.principals[name].revoked_at = index

    # -- versions and time -------------------------------------------------------------

    def _order_problems(
        self, index: int, stream: str, version: int, signed: SignedStatement
    ) -> list[tuple[str, str]]:
        problems = []
        if version != signed.expected_version + 1:
            problems.append(
                (
                    "stream_version",
                    f"entry has stream_version {version}, but its statement expects "
                    f"version {signed.expected_version} and so records version "
                    f"{signed.expected_version + 1}",
                )
            )
        last = self.versions.get(stream, 0)
        if version != last + 1:
            problems.append(
                (
                    "stream_version",
                    f"stream {stream!r} version {version} follows version {last}; "
                    "versions are contiguous from 1"
                    if last
                    else f"stream {stream!r} starts at version {version}, not 1",
                )
            )
        self.versions[stream] = version
        return problems

    def _time_problems(
        self, index: int, recorded_at: str, statement: dict[str, Any]
    ) -> list[tuple[str, str]]:
        problems = []
        recorded = parse_timestamp(recorded_at)
        if self.last_recorded is not None and recorded < self.last_recorded[1]:
            before, at = self.last_recorded
            problems.append(
                (
                    "recorded_at",
                    f"recorded_at {recorded_at} is earlier than entry {before}'s "
                    f"{_stamp(at)}; record time never decreases along the log",
                )
            )
        self.last_recorded = (index, recorded)
        issued = parse_timestamp(statement["issued_at"])
        if issued > recorded + CLOCK_SKEW:
            problems.append(
                (
                    "issued_at",
                    f"statement issued at {statement['issued_at']}, after it was "
                    f"recorded at {recorded_at} (beyond the {CLOCK_SKEW} clock skew)",
                )
            )
        return problems


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
