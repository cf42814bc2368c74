"""What a statement does once admitted: the domain command of its stream.

The one dispatch of the write side (docs/decisions.md decision 40): every
statement, whatever its type, reaches ``run`` from ``Ledger.record`` or
``Ledger.record_batch`` through the pipeline, and ``COMMANDS`` picks its
aggregate's command by the stream its type belongs to
(``verify.formats.schema``). Every rule is in ``verify/rules/`` and is checked
by the aggregate's command method (docs/design.md, "The rules, defined once");
this module only picks the aggregate, hands it the cross-stream facts the rules
need (``verify.rules.workflow.Context``: the framework, principals' roles, the
log size) and, for a publication, checks the signed score table against the
replay at its cut — which the offline verifier also does
(``verify/check/publications.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.domain.assessment import Assessment
from ledger.domain.events import Signed
from ledger.domain.framework import FRAMEWORK_STREAM, Framework
from ledger.domain.integrity import INTEGRITY_STREAM, IntegrityRecords
from ledger.domain.registry import REGISTRY_STREAM, PrincipalRegistry
from ledger.domain.seals import SEALS_STREAM, AccessLogSeals
from ledger.errors import DomainRuleError
from ledger.log_keys import KeyedLog, check_handover
from ledger.scores import replay_table, table_difference
from ledger.work import UnitOfWork
from verify.formats.entry import parse_entry
from verify.formats.handover import LOG_KEY_ROTATED
from verify.formats.schema import statement_type, stream_member
from verify.rules.workflow import Context

# A stream's command: the ledger's log (never the ``Ledger`` itself, so this
# module does not import ``ledger.application``), the unit of work, the event.
Command = Callable[[KeyedLog, UnitOfWork, Signed], None]


def run(ledger: KeyedLog, work: UnitOfWork, signed: Signed) -> None:
    """Run the command of ``signed``'s type on its stream's aggregate."""
    COMMANDS[statement_type(signed.type).stream](ledger, work, signed)


def _registry(ledger: KeyedLog, work: UnitOfWork, signed: Signed) -> None:
    if signed.type == "registry.genesis":
        work.put(REGISTRY_STREAM, PrincipalRegistry.genesis(signed))
        return
    registry: PrincipalRegistry = work.require(REGISTRY_STREAM)
    if signed.type == LOG_KEY_ROTATED:  # the old log key's consent too
        check_handover(ledger, work, signed.body)
    registry.record(signed)


def _framework(_: KeyedLog, work: UnitOfWork, signed: Signed) -> None:
    if signed.type == "framework.created":
        work.put(FRAMEWORK_STREAM, Framework.create(signed))
        return
    framework: Framework = work.require(FRAMEWORK_STREAM)
    framework.record(signed)


def _seals(_: KeyedLog, work: UnitOfWork, signed: Signed) -> None:
    seals: AccessLogSeals | None = work.get(SEALS_STREAM)
    if seals is None:
        work.put(SEALS_STREAM, AccessLogSeals.first(signed))
    else:
        seals.seal(signed)


def _integrity(ledger: KeyedLog, work: UnitOfWork, signed: Signed) -> None:
    records: IntegrityRecords | None = work.get(INTEGRITY_STREAM)
    member_of = _member_of(ledger)
    size = work.log_size()
    if records is None:
        work.put(INTEGRITY_STREAM, IntegrityRecords.first(signed, size, member_of))
    else:
        records.record(signed, size, member_of)


def _assessment(ledger: KeyedLog, work: UnitOfWork, signed: Signed) -> None:
    stream = str(signed.statement["stream"])
    if signed.type == "assessment.opened":
        work.put(stream, Assessment.open(signed, stream))
        return
    assessment: Assessment = work.require(stream)
    assessment.record(signed, context(work))
    if signed.type == "assessment.published":
        check_table(ledger, signed)


# The one table from a statement type's stream (``StatementType.stream``) to
# its aggregate's command.
COMMANDS: dict[str, Command] = {
    "registry": _registry,
    "framework": _framework,
    "access-log": _seals,
    "integrity": _integrity,
    "assessment": _assessment,
}


def _member_of(ledger: KeyedLog) -> Callable[[int], str | None]:
    """The Member whose assessment log entry ``index`` belongs to (None for the
    registry, the framework and the ledger's own streams)."""
    store = ledger.sequencer.store

    def member_of(index: int) -> str | None:
        return stream_member(parse_entry(store.entry(index)).stream)

    return member_of


def context(work: UnitOfWork) -> Context:
    """The facts from outside an assessment that its rules read."""
    framework: Framework | None = work.get(FRAMEWORK_STREAM)
    registry: PrincipalRegistry | None = work.get(REGISTRY_STREAM)

    def role_of(principal: str) -> str | None:
        found = registry.get(principal) if registry is not None else None
        return found.role if found is not None else None

    return Context(
        framework.state if framework is not None else None, role_of, work.log_size()
    )


def check_table(ledger: KeyedLog, signed: Signed) -> None:
    """The signed score table must be what the entries up to ``cut_at`` give."""
    stream, cut_at = str(signed.statement["stream"]), signed.body["cut_at"]
    claimed = signed.body["scores"]
    table = replay_table(ledger.sequencer.store, stream, cut_at, claimed["reference_year"])
    problem = table_difference(claimed, table.published())
    if problem:
        raise DomainRuleError(
            f"the published scores are not what the log gives at cut_at {cut_at}: "
            f"{problem}; compute the table with `pmm scores --at-size {cut_at}`"
        )
