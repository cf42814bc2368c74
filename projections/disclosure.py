"""What each entry, value and score discloses: the one definition (decision 26).

docs/design.md §1: every value carries a disclosure level — ``public`` < ``wco`` <
``restricted`` — chosen by its Member, and every read path honours it at every
record time. The rules, all here:

* a value's level is the one it has **now** (its latest ``disclosure.set``),
  for a read at any record time, superseded values included;
* anything that reads several values is as restricted as the most restricted
  of them: a score (its T−1 input too), an aggregate (every child, scored or
  not), a diff row (the old value and the new), a correction (the value it
  supersedes, which its reason speaks of);
* a status (not used, missing, not applicable...) and free text (reasons,
  justifications, findings, notes) travel at the level of the value they
  concern: a KPI's values (any year), or, where there are none, its
  definition's default; an entry about the whole assessment at the level of
  the whole assessment;
* the validation dialogue (query and return messages) and integrity flags are
  between the Member, the Secretariat and integrity officers: ``restricted``,
  whatever the level of the value they name; so is every entry of the
  integrity officers' own stream (``integrity``: thresholds, flag handling,
  report digests), for the Member its body names, or for nobody but the
  Secretariat and integrity officers where it names none.

``Reader.sees`` (``projections/access.py``) compares a level with the reader's
audience for the Member; every read path — CLI, HTTP, pages, exports,
``/events``, entry bundles — asks these two and nothing else.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.application import Ledger
from ledger.domain.framework import FRAMEWORK_STREAM
from ledger.domain.integrity import INTEGRITY_STREAM
from projections.kept import Kept, kept_for
from verify.formats.entry import Entry
from verify.scoring.methods import method_inputs

AUDIENCES = ("public", "wco", "restricted")
VALUE_TYPES = ("value.submitted", "value.corrected")
# Entries that name one value (body.entry, a stream version of the stream).
ABOUT_A_VALUE = ("disclosure.set", "value.validated")
# The validation dialogue and integrity flags are between the Member, the
# Secretariat and integrity officers: restricted, whatever the value's level.
BETWEEN_MEMBER_AND_SECRETARIAT = (
    "value.queried",
    "value.returned",
    "integrity.flag_raised",
)
# Entries about the assessment as a whole.
ABOUT_THE_WHOLE = ("submission.completed", "assessment.published")
# Fields of a withheld entry's body that a reader below its level still sees:
# which KPI, year and entry it is about, never a number, status or text.
REFERENCE_FIELDS = (
    *("kpi", "reference_year", "entry", "supersedes", "kind", "kpis", "cut_at"),
)


def narrowest(levels: Iterable[str]) -> str:
    """The most restrictive of ``levels`` (``public`` when there are none)."""
    return max(levels, key=AUDIENCES.index, default="public")


def visible(level: str, audience: str) -> bool:
    return AUDIENCES.index(level) <= AUDIENCES.index(audience)


@dataclass
class Disclosure:
    """The levels of one assessment's values and KPIs, as they stand now."""

    values: dict[int, tuple[str, int, str]] = field(default_factory=dict)  # entry ->
    # (KPI, reference year, level now), superseded values included
    kpis: dict[str, str] = field(default_factory=dict)  # KPI -> strictest default
    inputs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # derived KPIs

    @functools.cached_property
    def levels(self) -> dict[int, str]:
        """Value entry -> level now: what ``Scoreboard.table`` takes."""
        return {entry: level for entry, (_, _, level) in self.values.items()}

    def value(self, entry: int) -> str:
        """The level now of value ``entry``; an unknown entry is restricted."""
        found = self.values.get(entry)
        return found[2] if found is not None else "restricted"

    def kpi(self, code: str) -> str:
        """The KPI's values' level (any year), its inputs' for a derived KPI, or,
        with no value at all, its definition's default (the strictest version)."""
        codes = [code, *self.inputs.get(code, ())]
        found = [level for kpi, _, level in self.values.values() if kpi in codes]
        if found:
            return narrowest(found)
        return narrowest(self.kpis.get(c, "restricted") for c in codes)

    def whole(self) -> str:
        """The level of the assessment as a whole: every value and KPI."""
        return narrowest([*self.levels.values(), *self.kpis.values()])

    def entry(self, entry: Entry) -> str:
        """The level of what ``entry`` reveals (its body and its raw bytes)."""
        kind, body = entry.entry_type, entry.signed.body
        outside = entry_level(entry)  # the registry, framework and seals: public
        if outside is not None:
            return outside
        if kind in VALUE_TYPES:
            levels = [self.value(entry.stream_version)]
            if "supersedes" in body:  # its reason speaks of the value it corrects
                levels.append(self.value(body["supersedes"]))
            return narrowest(levels)
        if kind in ABOUT_A_VALUE:
            return self.value(body["entry"])
        if kind in BETWEEN_MEMBER_AND_SECRETARIAT:
            return "restricted"
        if kind == "review.finding_recorded":
            return self.kpi(body["kpi"]) if "kpi" in body else self.whole()
        if kind in ("kpi.not_used", "score.revised"):
            return self.kpi(body["kpi"])
        if kind == "assessment.reopened":
            return narrowest(self.kpi(code) for code in body["kpis"])
        if kind in ABOUT_THE_WHOLE:
            return self.whole()
        return "public"  # assessment.opened, reviewer.assigned


def entry_level(entry: Entry) -> str | None:
    """The level of an entry outside any assessment (None: ask the
    assessment's ``Disclosure``)."""
    if entry.stream == INTEGRITY_STREAM:
        return "restricted"
    return None if entry.stream.startswith("assessment/") else "public"


def withheld_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """What a reader below an entry's level sees of its body."""
    return {name: body[name] for name in REFERENCE_FIELDS if name in body}


def _read(ledger: Ledger, stream: str) -> Disclosure:
    assessment = ledger.aggregate(stream)
    framework = (
        ledger.aggregate(FRAMEWORK_STREAM)
        if ledger.stream_version(FRAMEWORK_STREAM)
        else None
    )
    found = Disclosure()
    for entry, record in assessment.values.items():
        found.values[entry] = (record.kpi, record.reference_year, record.disclosure)
    for code, versions in framework.kpis.items() if framework is not None else ():
        found.kpis[code] = narrowest(v.disclosure for v in versions)
        found.inputs[code] = tuple(
            name for v in versions for name in method_inputs(v.scoring_method)
        )
    return found


# Disclosures by (stream, stream version, framework version): a stream's levels
# change only with a new entry in it (or in the framework).
_KNOWN: weakref.WeakKeyDictionary[Ledger, Kept[tuple[str, int, int], Disclosure]] = (
    weakref.WeakKeyDictionary()
)


def disclosure_now(ledger: Ledger, stream: str) -> Disclosure:
    """The levels of ``stream``'s values and KPIs now (cached per version)."""
    versions = (ledger.stream_version(stream), ledger.stream_version(FRAMEWORK_STREAM))
    return disclosure_at_versions(ledger, stream, versions)


def disclosure_at_versions(
    ledger: Ledger, stream: str, versions: tuple[int, int]
) -> Disclosure:
    """``disclosure_now`` for a caller that has read the versions of ``stream``
    and of the framework now itself (in the same round trip as its other reads)."""
    known = kept_for(_KNOWN, ledger, 256)
    key = (stream, *versions)
    found = known.get(key)
    if found is None:
        found = _read(ledger, stream)
        known.put(key, found)
    return found
    found = _read(ledger, stream)
    with known.lock:
        known.found[key] = found
        while len(known.found) > known.SIZE:
            known.found.popitem(last=False)
    return found
