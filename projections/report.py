"""What an audit report says: one assessment, read at one record time (docs/report.md).

An integrity officer or the Secretariat hands an audit committee one
document per Member and reference year: the scores with their provenance
(which entries they were computed from, who recorded and who validated each
value), every entry of the assessment up to the report's record time with its
actor, reason and evidence digests, the red flags and their handling, the
access log's restricted reads of that Member, and the verification of the
whole log with the checkpoint (and cosignatures) it was checked against.

Only full readers (``secretariat``, ``integrity_officer``) build one: it
shows every value, so building it is itself a restricted read, logged before
the report exists (``projections/access.py``). Rendering is ``api/report.py``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.domain.framework import FRAMEWORK_STREAM
from ledger.export import TRUST_FILE, export
from projections.access import FULL_READERS, Reader, log_restricted_read
from projections.flag_thresholds import Thresholds
from projections.flags import FlagFilter, read_flags, report_rows
from projections.log_reader import LogReader
from projections.timetravel import Scores, scores
from verify.check.verifier import VerifyResult, verify_export
from verify.formats.entry import Entry, parse_entry
from verify.formats.statement import format_timestamp

ACCESS_LOG_READER = "integrity_officer"
# Entry fields an auditor reads as "why": the reason a statement gives.
REASON_FIELDS = ("reason", "justification", "message", "finding", "comment", "note")


@dataclass(frozen=True)
class Provenance:
    """One value a score was computed from."""

    log_index: int
    entry_type: str
    principal: str
    recorded_at: str
    validated_by: tuple[str, ...]  # principals whose value.validated names it


@dataclass(frozen=True)
class ScoreLine:
    level: str
    code: str
    name: str
    score: str | None
    status: str
    disclosure: str
    sources: tuple[Provenance, ...]


@dataclass(frozen=True)
class EntryLine:
    """One entry of the assessment: who did what, when, why, on what evidence."""

    log_index: int
    recorded_at: str
    entry_type: str
    principal: str
    role: str
    subject: str
    reason: str | None
    evidence: tuple[str, ...]
    source: str | None  # "name (sha256)" of an external source file


@dataclass(frozen=True)
class Verification:
    verified: bool
    first_failure: str | None
    size: int
    root_hex: str
    cosigners: tuple[str, ...]
    quorum: str
    checkpoint: str  # the signed note, verbatim
    trust: str  # which trust roots it was checked against


@dataclass(frozen=True)
class AuditReport:
    member: str
    reference_year: int
    stream: str
    label: str  # the record time: "now", "as recorded at …", "as published …"
    cut: int  # the log size the report reads at
    cut_recorded_at: str | None
    generated_at: str
    reader: str  # "principal (role)"
    scores: tuple[ScoreLine, ...]
    entries: tuple[EntryLine, ...]
    access: tuple[dict[str, Any], ...] | None  # None: the reader may not read it
    verification: Verification
    flags: tuple[dict[str, Any], ...]  # projections.flags.report_rows
    thresholds: str  # which thresholds raised them (recorded, or packaged)

    @property
    def title(self) -> str:
        return f"Audit report: {self.member}, reference year {self.reference_year}"


def build_report(
    ledger: Ledger,
    reader: Reader,
    member: str,
    year: int,
    *,
    cycle: str | None = None,
    as_of: str | None = None,
    at_size: int | None = None,
    published: str | None = None,
    packaged: Thresholds,
    trust: Path | None = None,
) -> AuditReport:
    """The report of ``member``'s year-``year`` assessment, read as ``reader``;
    red flags with the thresholds recorded by then, else ``packaged``."""
    reader.require(FULL_READERS, "an audit report")
    read = scores(
        ledger, member, year, cycle=cycle, as_of=as_of, at_size=at_size, published=published
    )
    log = LogReader.of(ledger)
    stream = read.table.stream
    cut = read.position.size
    entries = [(i, parse_entry(raw)) for i, raw in log.stream_entries([stream], cut)]
    lines = tuple(_entry_line(ledger, index, entry) for index, entry in entries)
    flags = read_flags(ledger, reader, packaged, FlagFilter(member=member), size=cut)
    # Building the report shows every value: the access log says so first.
    log_restricted_read(
        ledger.access_log,
        reader,
        f"pmm report --member {member} --year {year} ({read.position.label})",
        member,
        [f"audit report {stream} at log size {cut}"]
        + [name for names in flags.restricted_shown.values() for name in names],
    )
    # The access log is for integrity officers only (docs/design.md, "Who reads
    # what"): a Secretariat principal's report says so instead of listing it.
    access = tuple(_access(ledger, member)) if reader.role == ACCESS_LOG_READER else None
    return AuditReport(
        member=member,
        reference_year=year,
        stream=stream,
        label=read.position.label,
        cut=cut,
        cut_recorded_at=read.position.recorded_at,
        generated_at=format_timestamp(datetime.now(UTC)),
        reader=f"{reader.principal} ({reader.role})",
        scores=_score_lines(ledger, read, entries),
        entries=lines,
        access=access,
        verification=verification(ledger, trust),
        flags=tuple(report_rows(flags)),
        thresholds=flags.thresholds.label,
    )


def _score_lines(
    ledger: Ledger, read: Scores, entries: list[tuple[int, Entry]]
) -> tuple[ScoreLine, ...]:
    by_index, log = dict(entries), LogReader.of(ledger)
    validated: dict[int, list[str]] = {}  # stream version -> validators
    for _, each in entries:
        if each.entry_type == "value.validated":
            validated.setdefault(each.signed.body["entry"], []).append(
                each.signed.principal
            )
    names = _names(ledger)
    found = []
    for row in read.table.rows:
        sources = []
        for index in row.sources:
            entry = by_index.get(index)
            if entry is None:  # a KPI definition: in the framework stream
                entry = by_index.setdefault(index, parse_entry(log.entry(index)))
            sources.append(
                Provenance(
                    index,
                    entry.entry_type,
                    entry.signed.principal,
                    entry.recorded_at,
                    tuple(validated.get(entry.stream_version, ())),
                )
            )
        found.append(
            ScoreLine(
                row.level,
                row.code,
                names.get(row.code, ""),
                row.score,
                row.status,
                row.disclosure,
                tuple(sources),
            )
        )
    return tuple(found)


def _names(ledger: Ledger) -> dict[str, str]:
    """Code -> name of every dimension, expected outcome and KPI (latest)."""
    if not ledger.stream_version(FRAMEWORK_STREAM):
        return {}
    framework = ledger.aggregate(FRAMEWORK_STREAM)
    names = dict(framework.dimensions)
    names.update({code: name for code, (_, name) in framework.outcomes.items()})
    names.update({code: versions[-1].name for code, versions in framework.kpis.items()})
    return names


def _entry_line(ledger: Ledger, index: int, entry: Entry) -> EntryLine:
    body = entry.signed.body
    registry = ledger.registry()
    principal = registry.get(entry.signed.principal) if registry is not None else None
    reason = next((str(body[name]) for name in REASON_FIELDS if body.get(name)), None)
    source = body.get("source")
    subject = " ".join(
        str(part)
        for part in (body.get("kpi"), body.get("reference_year"), _entry_ref(body))
        if part is not None
    )
    return EntryLine(
        log_index=index,
        recorded_at=entry.recorded_at,
        entry_type=entry.entry_type,
        principal=entry.signed.principal,
        role=principal.role if principal is not None else "?",
        subject=subject,
        reason=reason,
        evidence=tuple(str(d) for d in body.get("evidence", ())),
        source=f"{source['name']} ({source['sha256']})" if source else None,
    )


def _entry_ref(body: dict[str, Any]) -> str | None:
    if "supersedes" in body:
        return f"supersedes entry {body['supersedes']}"
    if "entry" in body:
        return f"about entry {body['entry']}"
    return None


def _access(ledger: Ledger, member: str) -> Iterator[dict[str, Any]]:
    cursor: int | None = 0
    while cursor is not None:
        page = ledger.access_log.query(member=member, cursor=cursor, limit=500)
        yield from page.records
        cursor = page.next_cursor


def verification(ledger: Ledger, trust: Path | None) -> Verification:
    """The offline verifier's verdict on the whole log as exported now."""
    with tempfile.TemporaryDirectory(prefix="pmm-report-") as scratch:
        folder = Path(scratch) / "log"
        export(ledger, folder)
        pinned = trust or folder / TRUST_FILE
        result: VerifyResult = verify_export(folder, pinned)
        checkpoint = (folder / "checkpoint").read_text(encoding="utf-8")
    first = result.first_failure
    return Verification(
        verified=result.verified,
        first_failure=None
        if first is None
        else f"entry {first.index}: {first.check}: {first.reason}"
        if first.index is not None
        else f"{first.check}: {first.reason}",
        size=result.size,
        root_hex=result.root.hex(),
        cosigners=result.cosigners,
        quorum=result.quorum,
        checkpoint=checkpoint,
        trust=str(trust) if trust else "the ledger's own trust roots (pin --trust)",
    )
