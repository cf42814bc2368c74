"""The integrity officer's red flags, computed from the verified log (docs/flags.md).

Every rule of ``flag_rules``, ``flag_timing`` and ``flag_outliers`` runs over
the log's first N entries (a record time, default now) with the thresholds in
force then: the
latest ``integrity.thresholds_set`` recorded before N, or the packaged file,
which every output then names ("thresholds: packaged v1, not recorded in the
ledger"). A flag's id is ``<rule>:<log indexes>`` — the entries that raised it,
ascending, at most 32 — so the same log gives the same ids on every run and
on every backend, and an ``integrity.flag_handled`` statement can name it.
Its handling (open, acknowledged, escalated: by whom, why, in which entry) is
the latest such statement recorded before N.

Flags are for integrity officers and the Secretariat (docs/design.md §1); every
flag is restricted, like ``integrity.flag_raised`` (decision 26), so every read
that shows one is written to the access log per Member. The log below N never
changes, so the flags of one log size are computed once (``_Known``) for the
overview, ``/flags``, ``/ui/flags``, ``pmm flags`` and the audit report alike.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ledger.application import Ledger
from projections.access import FULL_READERS, Reader
from projections.errors import NoSuchFlagError, QueryError
from projections.flag_facts import Facts, read_facts
from projections.flag_outliers import STATISTICAL
from projections.flag_rules import RULES
from projections.flag_thresholds import PARAMETERS, Thresholds, from_body
from projections.flag_timing import TIMING
from projections.log_reader import LogReader
from verify.formats.fields import FLAG_ACTIONS, FLAG_ID_RE

SEVERITIES = ("low", "medium", "high")
STATUSES = ("open", "acknowledged", "escalated")
ACTIONS = FLAG_ACTIONS
ID_ENTRIES = 32  # an id names at most this many entries (the first ones)
HANDLED = "integrity.flag_handled"
THRESHOLDS_SET = "integrity.thresholds_set"


@dataclass(frozen=True)
class Handling:
    """Where a flag stands: open, or the latest acknowledgement or escalation."""

    status: str = "open"
    by: str | None = None
    reason: str | None = None
    entry: int | None = None
    recorded_at: str | None = None


@dataclass(frozen=True)
class Flag:
    id: str
    rule: str
    severity: str
    entries: tuple[int, ...]  # the log indexes that raised it, ascending
    principals: tuple[str, ...]
    member: str | None
    kpi: str | None
    reference_years: tuple[int, ...]
    summary: str
    thresholds_version: int
    handling: Handling = Handling()
    disclosure: str = "restricted"


@dataclass(frozen=True)
class FlagFilter:
    member: str | None = None
    rule: str | None = None
    status: str | None = None
    severity: str | None = None


@dataclass(frozen=True)
class FlagReport:
    flags: tuple[Flag, ...]
    size: int
    thresholds: Thresholds
    total: int  # flags raised before the filter
    restricted_shown: dict[str | None, list[str]] = field(default_factory=dict)

    def header(self) -> dict[str, Any]:
        """What every JSON answer of flags says before the flags themselves."""
        return {
            "log_size": self.size,
            "thresholds": {
                "version": self.thresholds.version,
                "recorded_at": self.thresholds.recorded_at,
                "label": self.thresholds.label,
            },
            "raised": self.total,
        }


def flag_id(rule: str, entries: Iterable[int]) -> str:
    return f"{rule}:{','.join(str(i) for i in sorted(set(entries))[:ID_ENTRIES])}"


def thresholds_at(facts: Facts, packaged: Thresholds) -> Thresholds:
    """The latest thresholds recorded in the facts' entries, else ``packaged``."""
    recorded = facts.of(THRESHOLDS_SET)
    if not recorded:
        return packaged
    last = recorded[-1]
    return from_body(last.body, last.index, packaged)


def _handling(facts: Facts) -> dict[str, Handling]:
    found = {}
    for act in facts.of(HANDLED):
        found[str(act.body["flag"])] = Handling(
            str(act.body["action"]),
            act.principal,
            str(act.body.get("reason", "")),
            act.index,
            act.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
    return found


def compute_flags(
    ledger: Ledger, packaged: Thresholds, size: int | None = None
) -> tuple[list[Flag], Thresholds]:
    """Every flag the log's first ``size`` entries raise, and the thresholds used;
    high severity first, then in log order."""
    size = ledger.log_size() if size is None else size
    if not 0 <= size <= ledger.log_size():
        raise QueryError(f"at_size {size} is outside the log (0 to {ledger.log_size()})")
    known = _KNOWN.get(ledger) or _KNOWN.setdefault(ledger, _Known())
    key = (size, repr(packaged))
    with known.lock:
        found = known.found.get(key)
        if found is not None:
            known.found.move_to_end(key)
            return list(found[0]), found[1]
    flags, thresholds = _compute(ledger, packaged, size)
    with known.lock:
        known.found[key] = (tuple(flags), thresholds)
        while len(known.found) > known.SIZE:
            known.found.popitem(last=False)
    return flags, thresholds


class _Known:
    """Flags by (log size, packaged thresholds): the entries below a log size
    never change, and neither do the flags they raise."""

    SIZE = 8

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.found: OrderedDict[tuple[int, str], tuple[tuple[Flag, ...], Thresholds]] = (
            OrderedDict()
        )


_KNOWN: weakref.WeakKeyDictionary[Ledger, _Known] = weakref.WeakKeyDictionary()


def _compute(
    ledger: Ledger, packaged: Thresholds, size: int
) -> tuple[list[Flag], Thresholds]:
    facts = read_facts(LogReader.of(ledger), size)
    thresholds = thresholds_at(facts, packaged)
    handled = _handling(facts)
    flags = []
    for rule in (*RULES, *TIMING, *STATISTICAL):
        for found in rule(facts, thresholds):
            name = flag_id(found.rule, found.entries)
            handling = handled.get(name, Handling())
            flags.append(
                Flag(
                    name,
                    found.rule,
                    found.severity,
                    found.entries,
                    found.principals,
                    found.member,
                    found.kpi,
                    found.reference_years,
                    found.summary,
                    thresholds.version,
                    handling,
                    # Every flag says who did what to which values: restricted,
                    # whatever the level of the values it names (decision 26).
                    "restricted",
                )
            )
    flags.sort(key=lambda f: (-SEVERITIES.index(f.severity), f.entries, f.rule))
    return flags, thresholds


def check_filter(flt: FlagFilter) -> FlagFilter:
    """The filter with its Member in upper case; refuse unknown names."""
    if flt.rule is not None and flt.rule not in PARAMETERS:
        raise QueryError(f"rule {flt.rule!r} is not a rule; rules: {', '.join(PARAMETERS)}")
    if flt.status is not None and flt.status not in STATUSES:
        raise QueryError(f"status {flt.status!r}: choose one of {', '.join(STATUSES)}")
    if flt.severity is not None and flt.severity not in SEVERITIES:
        raise QueryError(
            f"severity {flt.severity!r}: choose one of {', '.join(SEVERITIES)}"
        )
    member = flt.member.upper() if flt.member else None
    return FlagFilter(member, flt.rule, flt.status, flt.severity)


def read_flags(
    ledger: Ledger,
    reader: Reader,
    packaged: Thresholds,
    flt: FlagFilter = FlagFilter(),
    size: int | None = None,
) -> FlagReport:
    """The flags ``reader`` asked for; integrity officers and the Secretariat only.
    The caller writes ``restricted_shown`` to the access log before answering."""
    reader.require(FULL_READERS, "reading the red flags")
    flt = check_filter(flt)
    size = ledger.log_size() if size is None else size
    flags, thresholds = compute_flags(ledger, packaged, size)
    shown = [
        f
        for f in flags
        if (flt.member is None or f.member == flt.member)
        and (flt.rule is None or f.rule == flt.rule)
        and (flt.status is None or f.handling.status == flt.status)
        and (flt.severity is None or f.severity == flt.severity)
    ]
    restricted: dict[str | None, list[str]] = {}
    for flag in shown:
        if flag.disclosure == "restricted" and reader.sees(flag.member, "restricted"):
            restricted.setdefault(flag.member, []).append(f"flag {flag.id}")
    return FlagReport(tuple(shown), size, thresholds, len(flags), restricted)


def find_flag(ledger: Ledger, packaged: Thresholds, name: str) -> Flag:
    """The flag ``name`` as the log raises it now, or ``NoSuchFlagError``."""
    if FLAG_ID_RE.fullmatch(name) is None:
        raise QueryError(
            f"{name!r} is not a flag id: <rule>:<log index>[,<log index>...] "
            "(pmm flags lists them)"
        )
    flags, _ = compute_flags(ledger, packaged)
    for flag in flags:
        if flag.id == name:
            return flag
    raise NoSuchFlagError(f"no rule raises flag {name!r} now (pmm flags lists them)")


def handling_text(flag: Flag) -> str:
    """A flag's handling in words: ``open``, or who did what, in which entry, why."""
    found = flag.handling
    if found.entry is None:
        return "open"
    return f"{found.status} by {found.by} (entry {found.entry}): {found.reason}"


def report_rows(report: FlagReport) -> list[dict[str, Any]]:
    """The flags as an audit report's table lists them (``api/report.py``
    ``render_html(..., flags=report_rows(r), flags_note=r.thresholds.label)``)."""
    return [
        {
            "id": f.id,
            "kpi": f.kpi,
            "severity": f.severity,
            "rule": f.rule,
            "summary": f.summary,
            "entries": list(f.entries),
            "handling": handling_text(f),
            "thresholds_version": f.thresholds_version,
        }
        for f in report.flags
    ]
