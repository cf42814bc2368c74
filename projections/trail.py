"""The audit trail of one value, and the same KPI's values at the Member's peers.

docs/design.md §2's third question, for one KPI of one Member's assessment: every
entry about it — its values for T and T−1 (submissions, corrections),
disclosure changes, validations, queries and returns, flags, not-used
declarations, score revisions, findings — and the entries about the whole
assessment that frame them (completion, publication, reopening), in log
order, each with its actor and the actor's role. Each entry's disclosure is
``projections/disclosure.py``'s, at the level its values have *now* (decision
26); a reader below it gets the entry's reference fields only
(``withheld_body``), never a number or a text. ``peers`` gives the current
value of the same KPI and reference year in every other Member's assessment,
only where the reader may see it, and counts the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.application import Ledger
from projections.access import Reader
from projections.disclosure import disclosure_now, withheld_body
from projections.log_reader import LogReader
from projections.timetravel import find_assessment
from verify.formats.entry import Entry, parse_entry

# Entries that name one value by its stream version (body.entry).
NAMING_A_VALUE = (
    "disclosure.set",
    "value.validated",
    "value.queried",
    "value.returned",
    "integrity.flag_raised",
)
ABOUT_THE_WHOLE = ("submission.completed", "assessment.published")


@dataclass(frozen=True)
class TrailEntry:
    log_index: int
    recorded_at: str
    entry_type: str
    stream_version: int
    principal: str
    role: str | None
    reference_year: int | None
    disclosure: str
    withheld: bool
    body: dict[str, Any]  # as signed, or its reference fields only when withheld


@dataclass(frozen=True)
class Trail:
    stream: str
    member: str
    reference_year: int
    kpi: str
    log_size: int
    entries: tuple[TrailEntry, ...]
    restricted_shown: dict[str | None, list[str]] = field(default_factory=dict)

    @property
    def withheld(self) -> int:
        return sum(e.withheld for e in self.entries)


@dataclass(frozen=True)
class PeerValue:
    member: str
    stream: str
    entry: int
    status: str
    value: dict[str, Any] | None
    disclosure: str


@dataclass(frozen=True)
class Peers:
    shown: tuple[PeerValue, ...]
    withheld: int
    restricted_shown: dict[str | None, list[str]] = field(default_factory=dict)


def _about(entry: Entry, kpi: str, values: dict[int, Any]) -> tuple[bool, int | None]:
    """Whether ``entry`` is about ``kpi`` (or frames it: the whole assessment, a
    reopening of the KPI), and the reference year of the value it concerns."""
    kind, body = entry.entry_type, entry.signed.body
    if body.get("kpi") == kpi:
        year = body.get("reference_year")
        return True, year if isinstance(year, int) else None
    if kind in NAMING_A_VALUE and isinstance(body.get("entry"), int):
        record = values.get(body["entry"])
        if record is not None and record.kpi == kpi:
            return True, int(record.reference_year)
        return False, None
    if kind == "assessment.reopened":
        return kpi in body.get("kpis", ()), None
    return kind in ABOUT_THE_WHOLE, None


def value_trail(
    ledger: Ledger,
    reader: Reader,
    member: str,
    year: int,
    kpi: str,
    cycle: str | None = None,
) -> Trail:
    """Every entry of ``member``'s year-``year`` assessment about ``kpi``."""
    log = LogReader.of(ledger)
    stream = find_assessment(log, member, year, cycle)
    size = ledger.log_size()
    values = ledger.aggregate(stream).values
    levels = disclosure_now(ledger, stream)
    registry = ledger.registry()
    found, shown = [], dict[str | None, list[str]]()
    for index, entry in log.parsed([stream], size):
        if entry.stream != stream:
            continue
        about, concerns = _about(entry, kpi, values)
        if not about:
            continue
        level = levels.entry(entry)
        withheld = not reader.sees(member, level)
        body = entry.signed.body
        principal = registry.get(entry.signed.principal) if registry else None
        found.append(
            TrailEntry(
                index,
                entry.recorded_at,
                entry.entry_type,
                entry.stream_version,
                entry.signed.principal,
                principal.role if principal else None,
                concerns,
                level,
                withheld,
                withheld_body(body) if withheld else dict(body),
            )
        )
        if level == "restricted" and not withheld:
            shown.setdefault(member, []).append(f"entry {index}")
    return Trail(stream, member, year, kpi, size, tuple(found), shown)


def peers(ledger: Ledger, reader: Reader, member: str, year: int, kpi: str) -> Peers:
    """The current value of ``kpi`` for ``year`` in every other Member's
    assessment of that reference year that the reader may see; the rest counted."""
    shown, withheld, logged = [], 0, dict[str | None, list[str]]()
    for stream, raw in LogReader.of(ledger).opened("assessment/"):
        body = parse_entry(raw).signed.body
        other = str(body["member"])
        if other == member or body["reference_year"] != year:
            continue
        state = ledger.aggregate(stream)
        entry = state.current.get((kpi, year))
        if entry is None:
            continue
        record = state.values[entry]
        level = disclosure_now(ledger, stream).value(entry)
        if not reader.sees(other, level):
            withheld += 1
            continue
        value = dict(record.value) if record.value is not None else None
        shown.append(PeerValue(other, stream, entry, record.status, value, level))
        if level == "restricted":
            logged.setdefault(other, []).append(f"value {kpi} {year} (entry {entry})")
    return Peers(tuple(shown), withheld, logged)
