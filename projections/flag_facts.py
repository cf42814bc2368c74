"""What the red-flag rules read: the verified log's entries up to a record time.

The flags are computed from the log itself (docs/design.md §6, "integrity red
flags"), not from a view: ``read_facts`` parses the first ``size`` entries once
and keeps, per statement type, what each rule needs — who signed, when, in
which stream, with what body — and the role and Member of every principal the
registry registered. Nothing here decides anything; ``flag_rules`` does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from projections.log_reader import LogReader
from verify.formats.entry import Entry, parse_entry
from verify.formats.statement import parse_timestamp

VALUE_TYPES = ("value.submitted", "value.corrected")
SECRETARIAT = "secretariat"


@dataclass(frozen=True)
class Act:
    """One entry: its log index, record time, stream, type, signer and body."""

    index: int
    at: datetime
    stream: str
    version: int
    kind: str
    principal: str
    body: Mapping[str, Any]

    @property
    def member(self) -> str | None:
        parts = self.stream.split("/")
        if parts[0] == "assessment" and len(parts) == 3:
            return parts[1]
        found = self.body.get("member")
        return found if isinstance(found, str) else None

    @property
    def cycle(self) -> str | None:
        parts = self.stream.split("/")
        return parts[2] if parts[0] == "assessment" and len(parts) == 3 else None

    @property
    def kpi(self) -> str | None:
        found = self.body.get("kpi")
        return found if isinstance(found, str) else None

    @property
    def year(self) -> int | None:
        found = self.body.get("reference_year")
        return found if isinstance(found, int) else None


@dataclass
class Facts:
    """The entries of the first ``size`` log entries, by type and by stream version."""

    size: int
    by_kind: dict[str, list[Act]] = field(default_factory=lambda: defaultdict(list))
    at_version: dict[tuple[str, int], Act] = field(default_factory=dict)
    roles: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    entries: dict[int, Entry] = field(default_factory=dict)  # as parsed, by log index

    def of(self, *kinds: str) -> list[Act]:
        """Entries of these types, in log order."""
        found = [act for kind in kinds for act in self.by_kind.get(kind, [])]
        return sorted(found, key=lambda act: act.index)

    def role(self, principal: str) -> str | None:
        return self.roles.get(principal, (None, None))[0]

    def organisation(self, principal: str) -> str:
        """The organisation a principal acts for: its Member for an NCP, the WCO
        Secretariat for a Secretariat principal, else the principal itself."""
        role, member = self.roles.get(principal, (None, None))
        if role == "ncp" and member:
            return f"Member {member}"
        if role == SECRETARIAT:
            return "the WCO Secretariat"
        return f"principal {principal}"

    def value(self, stream: str, version: int) -> Act | None:
        """The value entry at ``version`` of ``stream``, if it is one."""
        act = self.at_version.get((stream, version))
        return act if act is not None and act.kind in VALUE_TYPES else None

    def chain(self, act: Act) -> list[Act]:
        """The values ``act`` supersedes, nearest first (same KPI and year)."""
        found, seen = [], {act.version}
        current: Act | None = act
        while current is not None and isinstance(current.body.get("supersedes"), int):
            version = current.body["supersedes"]
            if version in seen:  # pragma: no cover - the rules forbid a cycle
                break
            seen.add(version)
            current = self.value(act.stream, version)
            if current is not None:
                found.append(current)
        return found

    def current_values(self) -> list[Act]:
        """Each (assessment, KPI, year)'s value as it stands at ``size``."""
        latest: dict[tuple[str, str | None, int | None], Act] = {}
        for act in self.of(*VALUE_TYPES):
            latest[(act.stream, act.kpi, act.year)] = act
        return sorted(latest.values(), key=lambda act: act.index)


def amount(act: Act) -> Decimal | None:
    """A value's number: an amount, or a ratio's quotient; None for anything else."""
    value = act.body.get("value")
    if act.body.get("status") != "value" or not isinstance(value, Mapping):
        return None
    try:
        if "amount" in value:
            return Decimal(value["amount"])
        if "numerator" in value and "denominator" in value:
            return Decimal(value["numerator"]) / Decimal(value["denominator"])
    except (InvalidOperation, ZeroDivisionError, TypeError):
        return None
    return None


def read_facts(log: LogReader, size: int) -> Facts:
    """The first ``size`` entries of the log, as the rules read them."""
    facts = Facts(size)
    start = 0
    while start < size:
        for index, raw in log.entries(start, min(size, start + 2000)):
            entry = parse_entry(raw)
            act = Act(
                index,
                parse_timestamp(entry.recorded_at),
                entry.stream,
                entry.stream_version,
                entry.entry_type,
                entry.signed.principal,
                entry.signed.body,
            )
            facts.by_kind[act.kind].append(act)
            facts.entries[index] = entry
            facts.at_version[(act.stream, act.version)] = act
            if act.kind == "principal.registered":
                member = act.body.get("member")
                facts.roles[act.body["principal"]] = (
                    act.body["role"],
                    member if isinstance(member, str) else None,
                )
            elif act.kind == "registry.genesis":
                for admin in act.body.get("admins", []):
                    facts.roles[admin["principal"]] = ("admin", None)
        start += 2000
    return facts
