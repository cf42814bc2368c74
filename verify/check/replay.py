"""Replaying the log entry by entry: every rule the ledger enforces, again.

docs/design.md §5 items 1 and 4, docs/verifier.md. The verifier keeps the same
state the ledger's aggregates keep — the principal registry, the framework,
each assessment's workflow, the access log's seals, the integrity officers'
records — changes it by the same transitions (``verify.rules.transitions``)
and checks every entry with the very rules the ledger's command methods call
(``verify/rules/``, docs/decisions.md decisions 14 and 44), so an operator who
runs modified ledger code and records a forbidden transition is named at
exactly that entry:

* the entry and its statement are canonical and well formed, for this origin;
* it is signed by the key its principal has at that position
  (``verify.rules.signer``); registry changes carry the admins' threshold of
  approvals; the role may sign the type, an NCP only for its own Member
  (``verify.rules.policy``);
* the registry, framework, workflow, seal and integrity rules allow it;
* the genesis, stream versions and clocks are in order (``verify.check.timeline``).

Registry entries are signature-checked before they change who may sign;
other entries' signatures may be deferred as a ``SignatureJob``. A worker's
reading of an entry (``verify.check.precheck``) replaces the replay's own, and its
signature outcome is taken only under the very key the replay finds the
signer had at that position (docs/decisions.md, decision 36).
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass

from verify.check.findings import Finding
from verify.check.precheck import Precheck, entry_from, signature_outcome
from verify.check.signatures import SignatureJob, signature_failure
from verify.check.timeline import Timeline, genesis_problems
from verify.errors import VerifyError, quote
from verify.formats.entry import parse_entry
from verify.formats.schema import STATEMENT_TYPES, StatementType, stream_member
from verify.formats.statement import SignedStatement, check_statement
from verify.rules import Change, Refusal
from verify.rules.framework import FrameworkState
from verify.rules.integrity import IntegrityState
from verify.rules.policy import refusal
from verify.rules.registry import RegistryState
from verify.rules.seals import SealState
from verify.rules.signer import approvers_of, signer_of
from verify.rules.transitions import (
    apply_framework,
    apply_integrity,
    apply_registry,
    apply_seal,
    apply_workflow,
)
from verify.rules.workflow import Context, Workflow
from verify.rules.workflow_rules import opening_refusal
from verify.rules.workflow_rules import refusal as workflow_refusal

# Checks after which an entry may not change the replayed state: its signer
# is not who it claims, or it is not this log's. A bad signature blocks only a
# registry entry (checked here, before it changes who signs); other entries'
# signatures are checked later, in parallel, so the replay never depends on
# them and reports the same findings however the work was scheduled.
_AUTHORITY = (
    *("entry", "statement", "origin", "genesis", "principal", "key"),
    *("approval", "role", "member", "source"),
)
_SIGNER_CHECKS = {
    "genesis": "genesis",
    "unknown_principal": "principal",
    "revoked": "principal",
    "key": "key",
}


@dataclass(frozen=True)
class Recovery:
    """A principal's key replaced by the admins (always reported)."""

    index: int
    principal: str
    signer: str
    approvers: tuple[str, ...]


@dataclass(frozen=True)
class Checked:
    """The outcome of one entry: its findings and a deferred signature, if any."""

    findings: tuple[Finding, ...]
    job: SignatureJob | None = None
    stream: str | None = None
    entry_type: str | None = None


class Replay:
    """The ledger's state, entry after entry, and what each entry breaks."""

    def __init__(self, origin: str, genesis_sha256: str) -> None:
        self.origin = origin
        self.genesis_sha256 = genesis_sha256
        self.registry = RegistryState(position="entry")
        self.framework = FrameworkState()
        self.assessments: dict[str, Workflow] = {}
        self.seals = SealState()
        self.integrity = IntegrityState()
        # The Member of each log entry's assessment, compactly (0: none), for
        # the integrity rules: which Member a handled flag is about.
        self.entry_members = array("H")
        self.member_codes: dict[str, int] = {}
        self.member_names: list[str] = [""]
        self.stream_codes: dict[str, int] = {}  # the Member code of each stream seen
        self.timeline = Timeline()
        self.versions = self.timeline.versions  # each stream's last version
        self.by_type: Counter[str] = Counter()
        self.recoveries: list[Recovery] = []

    @property
    def principals(self) -> int:
        return len(self.registry.principals)

    def check(
        self, index: int, raw: bytes, *, defer: bool = False, found: Precheck = None
    ) -> Checked:
        """Check entry ``index``; with ``defer``, a non-registry signature is
        returned as a job instead of being checked here. ``found`` is what a
        worker read of it (``verify.check.precheck``): the entry's reading and
        statement check, done; its signature outcome, if under the right key."""
        entry = entry_from(raw, found)
        prechecked = entry is not None
        if entry is None:
            try:
                entry = parse_entry(raw)
            except (VerifyError, ValueError) as exc:
                return Checked((Finding("entry", f"entry is malformed: {exc}", index),))
        self._note_member(index, entry.stream)
        signed = entry.signed
        try:
            if not prechecked:
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
                    f"statement is for ledger {quote(signed.statement['origin'])}, "
                    f"this log is {self.origin!r}",
                )
            )
        problems += genesis_problems(index, raw, kind.name, self.genesis_sha256)
        job, approvers = self._authority(
            index, entry.stream, kind, signed, (defer, found), problems
        )
        blocked = _AUTHORITY + (("signature",) if kind.stream == "registry" else ())
        if not any(check in blocked for check, _ in problems):
            problems += self._rules(index, entry.stream, kind, signed, approvers)
        problems += self.timeline.order_problems(entry.stream, entry.stream_version, signed)
        problems += self.timeline.time_problems(index, entry.recorded_at, signed.statement)
        return Checked(
            tuple(Finding(c, r, index, entry.stream, kind.name) for c, r in problems),
            job,
            entry.stream,
            kind.name,
        )

    def _note_member(self, index: int, stream: str) -> None:
        code = self.stream_codes.get(stream)
        if code is None:
            member = stream_member(stream)
            code = 0
            if member is not None:
                code = self.member_codes.setdefault(member, len(self.member_names))
                if code == len(self.member_names):
                    self.member_names.append(member)
            self.stream_codes[stream] = code
        while len(self.entry_members) <= index:
            self.entry_members.append(0)
        self.entry_members[index] = code

    def member_of(self, index: int) -> str | None:
        """The Member whose assessment entry ``index`` (already replayed) is in."""
        if index >= len(self.entry_members) or not self.entry_members[index]:
            return None
        return self.member_names[self.entry_members[index]]

    # -- who signed ------------------------------------------------------------

    def _authority(
        self,
        index: int,
        stream: str,
        kind: StatementType,
        signed: SignedStatement,
        how: tuple[bool, Precheck],
        problems: list[tuple[str, str]],
    ) -> tuple[SignatureJob | None, tuple[str, ...]]:
        """The signer, its signature, approvals and role: a deferred signature job,
        and the admins whose approvals verified. ``how``: whether to defer the
        signature, and a worker's outcome for it (used if under the signer's key)."""
        defer, found = how
        signer = signer_of(self.registry, signed)
        if isinstance(signer, Refusal):
            problems.append((_SIGNER_CHECKS[signer.kind], signer.reason))
            return None, ()
        deferred: SignatureJob | None = None
        checked, failure = signature_outcome(found, signer.key)
        if checked:  # by a worker, under this very key
            if failure is not None:
                problems.append(("signature", failure))
        else:
            deferred = SignatureJob(
                index,
                stream,
                kind.name,
                signed.principal,
                str(signed.statement["key_id"]),
                signer.key,
                signed.signature,
                signed.canonical(),
            )
            if not defer or kind.stream == "registry":
                failed = signature_failure(deferred)
                if failed is not None:
                    problems.append(("signature", failed.reason))
                deferred = None
        approvers = approvers_of(self.registry, signed)
        if isinstance(approvers, Refusal):
            problems.append(("approval", approvers.reason))
        refused = refusal(
            kind, signed.principal, signer.role, signer.member, stream, signed.body
        )
        if refused is not None:
            problems.append((refused.rule, refused.reason))
        return deferred, () if isinstance(approvers, Refusal) else tuple(approvers)

    # -- the rules, then the state ---------------------------------------------

    def _rules(
        self,
        index: int,
        stream: str,
        kind: StatementType,
        signed: SignedStatement,
        approvers: tuple[str, ...],
    ) -> list[tuple[str, str]]:
        """The registry, framework, seal, integrity and workflow rules; then the
        entry's transition (``verify.rules.transitions``), refused or not: the
        log says it happened. Only a refused registry entry is not applied, as
        it would change who may sign. Positions here are log indexes."""
        body, who, name = signed.body, signed.principal, kind.name
        change = Change(name, who, body, signed.expected_version + 1, index)
        found: Refusal | None = None
        check = "workflow"
        if kind.stream == "registry":
            check = "registry"
            found = self.registry.refusal(name, who, body, approvers)
            if found is None:
                apply_registry(self.registry, change)
                if name == "principal.key_recovered":
                    self.recoveries.append(
                        Recovery(index, body["principal"], who, approvers)
                    )
        elif kind.stream == "framework":
            found = self.framework.refusal(name, body)
            apply_framework(self.framework, change)
        elif kind.stream == "access-log":
            found = self.seals.refusal(body)
            apply_seal(self.seals, change)
        elif kind.stream == "integrity":
            # The log size when this entry was recorded is its own index.
            found = self.integrity.refusal(name, body, index, self.member_of)
            apply_integrity(self.integrity, change)
        elif name == "assessment.opened":
            found = opening_refusal(stream, body)
            if stream not in self.assessments:
                self.assessments[stream] = Workflow(stream, keep_values=False)
                apply_workflow(self.assessments[stream], change)
        elif (workflow := self.assessments.get(stream)) is not None:
            found = workflow_refusal(workflow, name, who, body, self._context(index))
            apply_workflow(workflow, change)
        return [] if found is None else [(check, found.reason)]

    def _context(self, index: int) -> Context:
        def role_of(principal: str) -> str | None:
            found = self.registry.get(principal)
            return found.role if found is not None else None

        # A publication's cut lies within the log before the publication itself.
        return Context(self.framework, role_of, index)
