"""What one DataBank import did: the values it recorded, skipped and refused
(docs/import.md, the report ``pmm import databank`` prints)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from intake.databank_file import Row


@dataclass(frozen=True)
class Refused:
    line: int
    member: str
    series: str
    year: int | None
    reason: str  # row, country, series, duplicate, year, kind, number, not-used, ...
    message: str


@dataclass
class ImportReport:
    file: str
    sha256: str
    source: str
    signer: str
    cycle: str
    reference_year: int
    years: tuple[int, ...]  # the file's years this import records
    rows: int
    counts: Counter[str] = field(default_factory=Counter)
    streams: dict[str, Counter[str]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # year column → values
    opened: list[str] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    batches: int = 0
    seconds: float = 0.0
    log_size: int = 0

    @property
    def exit_code(self) -> int:
        """1 when the ledger itself refused a value, else 0 (docs/import.md)."""
        return 1 if any(r.reason == "ledger" for r in self.refused) else 0

    def count(self, stream: str, what: str) -> None:
        self.counts[what] += 1
        self.streams.setdefault(stream, Counter())[what] += 1

    def refuse(self, row: Row, year: int | None, reason: str, message: str) -> None:
        self.counts["refused"] += 1
        self.refused.append(
            Refused(row.line, row.country, row.series, year, reason, message)
        )
