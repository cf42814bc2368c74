"""World Bank DataBank "long" CSV exports → signed ``value.submitted`` statements.

``intake.databank_file`` reads the export. ``DataBankImport``
maps Country Code → Member (ISO 3166-1 alpha-3), Series Code → KPI (the KPI of
that code, or the one whose name ends ``[series CODE]``) and each year column →
a reference year; checks every value against the ledger's framework and
assessment before signing, so refusals are per value; and records the rest,
signed by a Secretariat principal with the file's name and SHA-256 as
``source`` and ``evidence``, in batches of one transaction each. A batch the
ledger still refuses is split in halves and retried, down to single values, so
each refused value carries the ledger's own message. docs/import.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pycountry

from intake.databank_file import DataBankFile, Row, decimal_text
from intake.databank_report import ImportReport, Refused
from intake.errors import IntakeError, ValueRefusedError
from ledger.application import Ledger
from ledger.domain.assessment import Assessment
from ledger.domain.framework import FRAMEWORK_STREAM, Framework, KpiVersion
from ledger.domain.registry import PrincipalRegistry
from ledger.errors import (
    DomainRuleError,
    LedgerError,
    RevokedPrincipalError,
    RoleNotPermittedError,
    UnknownKeyError,
    UnknownPrincipalError,
)
from ledger.keys import KeyPair
from verify.errors import VerifyError, quote
from verify.formats.schema import assessment_stream

_SERIES_TAG = re.compile(r"\[series ([A-Za-z0-9._-]+)\]$")


@dataclass(frozen=True)
class _Pending:
    row: Row
    year: int
    stream: str
    kind: str  # value.submitted | value.corrected
    body: dict[str, Any]


class DataBankImport:
    """One import of ``data`` into cycle ``cycle``, reference year ``year``."""

    def __init__(
        self,
        ledger: Ledger,
        key: KeyPair,
        data: DataBankFile,
        cycle: str,
        year: int,
        members: frozenset[str] | None = None,
        batch_size: int = 500,
    ) -> None:
        self.ledger, self.key, self.data = ledger, key, data
        self.cycle, self.year, self.members = cycle, year, members
        self.batch_size = max(1, batch_size)
        self._versions: dict[str, int] = {}
        self._assessments: dict[str, Assessment | None] = {}
        self.registry: PrincipalRegistry | None = None

    def run(self, progress: Callable[[int, int], None] | None = None) -> ImportReport:
        """Check, sign and record; ``progress(done, total)`` after each batch."""
        started = time.perf_counter()
        self._check_signer()
        try:
            framework: Framework = self.ledger.aggregate(FRAMEWORK_STREAM)
        except LedgerError:
            raise IntakeError(
                "the ledger holds no KPI framework: apply one first (pmm framework apply)"
            ) from None
        data = self.data
        years = tuple(y for y in data.years if y in (self.year - 1, self.year))
        if not years:
            raise IntakeError(
                f"{data.path} has columns for {', '.join(map(str, data.years))}; an "
                f"assessment for reference year {self.year} takes values for "
                f"{self.year - 1} and {self.year} only, and the file has neither"
            )
        report = ImportReport(
            str(data.path), data.sha256, data.source["name"], self.key.principal,
            self.cycle, self.year, years, len(data.rows),
        )  # fmt: skip
        pending = self._plan(framework, report)
        for stream in dict.fromkeys(p.stream for p in pending):
            if self._assessments[stream] is None:
                report.opened.append(stream)
        self._open(report.opened)
        done, total = 0, len(pending)
        for start in range(0, total, self.batch_size):
            batch = pending[start : start + self.batch_size]
            self._submit(batch, report)
            done += len(batch)
            if progress is not None:
                progress(done, total)
        report.refused.sort(key=lambda r: (r.line, r.year or 0))
        report.seconds = time.perf_counter() - started
        report.log_size = self.ledger.log_size()
        return report

    def _check_signer(self) -> None:
        self.registry = registry = self.ledger.registry()
        who = self.key.principal
        principal = registry.get(who) if registry else None
        if principal is None:
            raise UnknownPrincipalError(
                f"principal {who!r} is not registered in this ledger"
            )
        if principal.revoked:
            raise RevokedPrincipalError(f"principal {who!r} was revoked; it signs nothing")
        if principal.public_key != self.key.public_key:
            raise UnknownKeyError(f"this key is not the current key of principal {who!r}")
        if principal.role != "secretariat":
            raise RoleNotPermittedError(
                f"principal {who!r} has role {principal.role!r}; values from an external "
                "source are recorded by a Secretariat principal"
            )

    def _assessment(self, stream: str) -> Assessment | None:
        if stream not in self._assessments:
            found = self.ledger.stream_version(stream)
            self._assessments[stream] = self.ledger.aggregate(stream) if found else None
        return self._assessments[stream]

    def _plan(self, framework: Framework, report: ImportReport) -> list[_Pending]:
        kpis = {code: code for code in framework.kpis}
        for code, versions in framework.kpis.items():
            tag = _SERIES_TAG.search(versions[-1].name)
            if tag:
                kpis[tag.group(1)] = code
        data, seen, pending = self.data, dict[tuple[str, str], int](), []
        for line, why in data.malformed:
            report.refused.append(Refused(line, "", "", None, "row", why))
            report.counts["refused"] += 1
        for row in data.rows:
            if self.members is not None and row.country not in self.members:
                report.counts["not_selected_rows"] += 1
                continue
            for column, year in zip(data.columns, data.years, strict=True):
                if year not in report.years:
                    report.skipped[column] = report.skipped.get(column, 0) + 1
            stream = assessment_stream(row.country, self.cycle)
            for year in report.years:
                text = row.cells[data.years.index(year)]
                try:
                    self._check_row(row, kpis, seen)
                    if text == "..":
                        report.count(stream, "missing")
                        continue
                    item = self._value(row, framework, kpis[row.series], year, text)
                except ValueRefusedError as refusal:
                    report.refuse(row, year, refusal.reason, str(refusal))
                    continue
                if item is None:
                    report.count(stream, "unchanged")
                else:
                    pending.append(item)
        return pending

    def _check_row(self, row: Row, kpis: dict[str, str], seen: dict[Any, int]) -> None:
        if pycountry.countries.get(alpha_3=row.country) is None:
            raise ValueRefusedError(
                "country",
                f"Country Code {row.country!r} ({row.country_name}) is not an ISO 3166-1 "
                "alpha-3 code, so it names no Member",
            )
        if row.series not in kpis:
            raise ValueRefusedError(
                "series", f"Series Code {row.series!r} is no KPI of the ledger's framework"
            )
        first = seen.setdefault((row.country, row.series), row.line)
        if first != row.line:
            raise ValueRefusedError(
                "duplicate", f"{row.country} {row.series} was already read at line {first}"
            )
        stream = assessment_stream(row.country, self.cycle)
        found = self._assessment(stream)
        if found is not None and found.reference_year != self.year:
            raise ValueRefusedError(
                "year",
                f"{stream} is for reference year {found.reference_year}, not {self.year}",
            )

    def _value(
        self, row: Row, framework: Framework, code: str, year: int, text: str
    ) -> _Pending | None:
        """The statement that records this cell, or None if it is recorded already."""
        stream = assessment_stream(row.country, self.cycle)
        try:
            kpi: KpiVersion = framework.kpi_for(code, year)
        except DomainRuleError as exc:
            raise ValueRefusedError("year", str(exc)) from None
        if kpi.value_kind not in ("number", "percentage"):
            raise ValueRefusedError(
                "kind", f"KPI {code!r} takes {kpi.value_kind} values, not a number"
            )
        amount = decimal_text(text)
        if amount is None:
            raise ValueRefusedError("number", f"{quote(text)} is not a decimal number")
        assessment = self._assessment(stream)
        if assessment is not None and code in assessment.not_used:
            raise ValueRefusedError(
                "not-used", f"{row.country} declared KPI {code!r} not used"
            )
        column = self.data.columns[self.data.years.index(year)]
        body: dict[str, Any] = {
            "comment": f"{self.data.path.name} line {row.line}, {row.country_name}, "
            f"{row.series_name}, column {column}"[:4000],
            "disclosure": kpi.disclosure,
            "evidence": [self.data.sha256],
            "kpi": code,
            "reference_year": year,
            "source": self.data.source,
            "status": "value",
            "unit": kpi.unit,
            "value": {"amount": amount},
        }
        entry = assessment.current.get((code, year)) if assessment else None
        if assessment is None or entry is None:
            return _Pending(row, year, stream, "value.submitted", body)
        old = assessment.values[entry]
        before = (old.value or {}).get("amount") if old.status == "value" else None
        if before is not None and Decimal(before) == Decimal(amount):
            return None
        author = self.registry.get(old.recorded_by) if self.registry else None
        if author is None or author.role != "secretariat":
            raise ValueRefusedError(
                "member-value",
                f"KPI {code!r} for {year} holds entry {entry}, recorded by "
                f"{old.recorded_by!r}; an import never corrects a Member's own value",
            )
        body |= {
            "kind": "correction",
            "reason": f"{self.data.path.name} (sha256 {self.data.sha256}) gives {amount} "
            f"where entry {entry} recorded {before if before is not None else old.status}",
            "supersedes": entry,
        }
        return _Pending(row, year, stream, "value.corrected", body)

    def _open(self, streams: list[str]) -> None:
        """Open the missing assessments, all in one transaction (at most 249)."""
        signed = []
        for stream in streams:
            member = stream.split("/")[1]
            body = {"cycle": self.cycle, "member": member, "reference_year": self.year}
            statement = self.key.statement(
                self.ledger.origin, stream, "assessment.opened", body, 0
            )
            signed.append(self.key.sign(statement))
            self._versions[stream] = 1
        self.ledger.record_batch(signed)

    def _submit(self, batch: list[_Pending], report: ImportReport) -> None:
        """Record ``batch`` in one transaction; if refused, each half on its own."""
        try:
            signed = []
            for item in batch:
                if item.stream not in self._versions:
                    self._versions[item.stream] = self.ledger.stream_version(item.stream)
                version = self._versions[item.stream]
                statement = self.key.statement(
                    self.ledger.origin, item.stream, item.kind, item.body, version
                )
                signed.append(self.key.sign(statement))
                self._versions[item.stream] += 1
            self.ledger.record_batch(signed)
        except (LedgerError, VerifyError) as exc:
            for item in batch:
                self._versions.pop(item.stream, None)  # read again before signing
            if len(batch) == 1:
                message = f"{type(exc).__name__}: {exc}"
                report.refuse(batch[0].row, batch[0].year, "ledger", message)
                return
            half = len(batch) // 2
            self._submit(batch[:half], report)
            self._submit(batch[half:], report)
            return
        report.batches += 1
        for item in batch:
            what = "corrected" if item.kind == "value.corrected" else "submitted"
            report.count(item.stream, what)
