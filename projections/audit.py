"""Audit queries: the log's entries, filtered, a page at a time.

Integrity officers ask "who changed what, when, why, on what evidence"
(docs/design.md §2). An audit page lists log entries in log order that match every
filter given — Member, KPI, principal, statement type, reference year and a
record-time range — with the statement as signed, minus what the reader may
not see (docs/design.md §1, disclosure; ``projections/access.py``).

**The cursor is a log index.** The log is append-only, so a page read again
later holds the same entries, and entries appended meanwhile only ever come
after the last page: pagination is stable while the log grows. A page scans at
most ``SCAN_LIMIT`` entries, so a filter that matches little still answers in
bounded time; its ``next_cursor`` says where to go on, and ``complete`` says
the scan reached the end of the log (or of ``until``).

**Disclosure of an entry** is ``projections/disclosure.py``'s: what the entry
reveals — a value, a status, a score, a reason, a query message, a finding —
at the level of the values it concerns, as they stand now (decision 26). A
reader below that level gets only the entry's reference fields (which KPI,
year and entry it is about), ``withheld: true``, and not the raw signed bytes
(which would reveal it). Every entry a reader is shown at ``restricted`` is
named in the access log, one record per Member.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from ledger.application import Ledger
from projections.access import Reader
from projections.disclosure import Disclosure, disclosure_now, entry_level, withheld_body
from projections.errors import QueryError
from projections.log_reader import LogReader
from projections.timetravel import parse_moment
from verify.errors import VerifyError
from verify.formats.entry import Entry, parse_entry

SCAN_LIMIT = 5000
PAGE_LIMIT = 500


@dataclass(frozen=True)
class EventFilter:
    """Every filter is optional; an entry must match all that are given."""

    member: str | None = None
    kpi: str | None = None
    principal: str | None = None
    entry_type: str | None = None
    reference_year: int | None = None
    since: str | None = None
    until: str | None = None


@dataclass
class EventPage:
    events: list[dict[str, Any]]
    next_cursor: int
    complete: bool
    log_size: int
    # Member -> the entries shown at ``restricted``, for the access log.
    restricted_shown: dict[str | None, list[str]] = field(default_factory=dict)


def _member_of(entry: Entry) -> str | None:
    parts = entry.stream.split("/")
    if parts[0] == "assessment" and len(parts) > 1:
        return parts[1]
    member = entry.signed.body.get("member")
    return member if isinstance(member, str) else None


class _Context:
    """Assessment state and disclosure, read once per stream per page."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.assessments: dict[str, Any] = {}
        self.disclosures: dict[str, Disclosure] = {}

    def assessment(self, stream: str) -> Any:
        if stream not in self.assessments:
            self.assessments[stream] = self.ledger.aggregate(stream)
        return self.assessments[stream]

    def kpi(self, entry: Entry) -> str | None:
        body = entry.signed.body
        if isinstance(body.get("kpi"), str):
            return str(body["kpi"])
        if entry.entry_type.startswith("kpi.") and isinstance(body.get("code"), str):
            return str(body["code"])
        if entry.stream.startswith("assessment/") and isinstance(body.get("entry"), int):
            record = self.assessment(entry.stream).values.get(body["entry"])
            return None if record is None else str(record.kpi)
        return None

    def reference_year(self, entry: Entry) -> int | None:
        year = entry.signed.body.get("reference_year")
        if isinstance(year, int):
            return year
        if entry.stream.startswith("assessment/"):
            return int(self.assessment(entry.stream).reference_year)
        return None

    def disclosure(self, entry: Entry) -> str:
        level = entry_level(entry)
        if level is not None:
            return level
        if entry.stream not in self.disclosures:
            self.disclosures[entry.stream] = disclosure_now(self.ledger, entry.stream)
        return self.disclosures[entry.stream].entry(entry)


def _matches(ctx: _Context, entry: Entry, flt: EventFilter) -> bool:
    if flt.entry_type is not None and entry.entry_type != flt.entry_type:
        return False
    if flt.principal is not None and entry.signed.principal != flt.principal:
        return False
    if flt.member is not None and _member_of(entry) != flt.member:
        return False
    if flt.kpi is not None and ctx.kpi(entry) != flt.kpi:
        return False
    return flt.reference_year is None or ctx.reference_year(entry) == flt.reference_year


def _shown(ctx: _Context, index: int, entry: Entry, reader: Reader) -> dict[str, Any]:
    disclosure = ctx.disclosure(entry)
    withheld = not reader.sees(_member_of(entry), disclosure)
    body = withheld_body(entry.signed.body) if withheld else dict(entry.signed.body)
    return {
        "log_index": index,
        "recorded_at": entry.recorded_at,
        "stream": entry.stream,
        "stream_version": entry.stream_version,
        "type": entry.entry_type,
        "principal": entry.signed.principal,
        "issued_at": entry.signed.statement.get("issued_at"),
        "body": body,
        "disclosure": disclosure,
        "withheld": withheld,
        "entry": None if withheld else base64.b64encode(entry.raw).decode("ascii"),
    }


def _bounds(log: LogReader, flt: EventFilter, cursor: int, size: int) -> tuple[int, int]:
    """Log indexes [start, stop) to scan: record time never decreases along the
    log (docs/design.md §2), so a time range is an index range, found by bisection."""
    start, stop = cursor, size
    if flt.since is not None:  # a date means from the start of that day
        since = f"{flt.since}T00:00:00Z" if len(flt.since) == 10 else flt.since
        start = max(start, log.size_at(parse_moment(since)))
    if flt.until is not None:
        stop = min(stop, log.size_at(parse_moment(flt.until)))
    return start, stop


def audit_events(
    ledger: Ledger, reader: Reader, flt: EventFilter, cursor: int = 0, limit: int = 100
) -> EventPage:
    """One page of matching entries from log index ``cursor`` on."""
    if not 1 <= limit <= PAGE_LIMIT:
        raise QueryError(f"limit must be between 1 and {PAGE_LIMIT}, not {limit}")
    log = LogReader.of(ledger)
    size = ledger.log_size()
    start, stop = _bounds(log, flt, cursor, size)
    streams: list[str] | None = None
    if flt.member is not None:
        streams = [s for s, _ in log.opened(f"assessment/{flt.member}/")]
    ctx, page = _Context(ledger), EventPage([], max(cursor, start), False, size)
    position = start
    while position < stop and position - start < SCAN_LIMIT:
        chunk_stop = min(stop, position + 500, start + SCAN_LIMIT)
        if streams is None:
            chunk = log.entries(position, chunk_stop)
        else:  # only the Member's assessments, plus entries naming the Member
            chunk = log.stream_entries([*streams, "registry"], chunk_stop, position)
        for index, raw in chunk:
            entry = parse_entry(raw)
            if not _matches(ctx, entry, flt):
                continue
            shown = _shown(ctx, index, entry, reader)
            page.events.append(shown)
            if shown["disclosure"] == "restricted" and not shown["withheld"]:
                named = page.restricted_shown.setdefault(_member_of(entry), [])
                named.append(f"entry {index}")
            if len(page.events) == limit:
                page.next_cursor = index + 1
                return page
        position = chunk_stop
    page.next_cursor = max(position, page.next_cursor)
    page.complete = position >= stop
    return page


def restricted_by_member(
    ledger: Ledger, entries: list[tuple[int, bytes]]
) -> dict[str | None, list[str]]:
    """The entries among ``entries`` (log index, bytes) that disclose something
    ``restricted``, named per Member: what an entry bundle's access record lists."""
    ctx, found = _Context(ledger), dict[str | None, list[str]]()
    for index, raw in entries:
        try:
            entry = parse_entry(raw)
        except (VerifyError, ValueError):  # unreadable: what it holds is unknown
            found.setdefault(None, []).append(f"entry {index}")
            continue
        if ctx.disclosure(entry) == "restricted":
            found.setdefault(_member_of(entry), []).append(f"entry {index}")
    return found
