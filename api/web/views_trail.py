"""The audit trail of one value: every entry about it, and its history charts.

For a Member's KPI in reference year T: each entry (``projections/trail.py``)
with its actor and role, time, reason, evidence digests, its receipt (the
inclusion proof) and what to download to check it offline; then the value
across record time for T−1 and for T side by side (``charts.history_chart``)
and the same KPI at the peers (``charts.distribution_chart``). What the reader
may not see is withheld in the table and counted in the charts, never drawn.
"""

from __future__ import annotations

from typing import Any

from api.web import charts, show
from api.web.params import member_code, text, url, year_number
from api.web.render import View
from api.web.views_common import Context, definitions, latest, member_name
from ledger.application import Ledger
from projections.access import FULL_READERS, Reader
from projections.errors import QueryError
from projections.trail import Trail, TrailEntry, peers, value_trail
from verify.formats.checkpoint import tree_size
from verify.formats.tiles import ENTRIES, TILE_WIDTH, tile_path, tile_width

VALUE_TYPES = ("value.submitted", "value.corrected")
MARKS = {
    "value.validated": "validated",
    "value.queried": "queried",
    "assessment.published": "published",
    "assessment.reopened": "reopened",
}
SAYS = ("reason", "justification", "comment", "message", "finding", "note", "subject")


def _value(entry: TrailEntry) -> str | None:
    body = entry.body
    if entry.withheld or entry.entry_type not in VALUE_TYPES:
        return None
    if body.get("status") != "value":
        return show.words(body.get("status", ""))
    return show.value_text(body.get("value"))


def _bundle(index: int, size: int) -> str | None:
    """The entry bundle tile holding ``index`` in the checkpoint of ``size``."""
    if index >= size:
        return None
    tile = index // TILE_WIDTH
    return "/" + tile_path(ENTRIES, tile, tile_width(size, ENTRIES, tile))


def _row(entry: TrailEntry, size: int, reader: Reader) -> dict[str, Any]:
    body = entry.body
    says = [(name, str(body[name])) for name in SAYS if body.get(name)]
    full = reader.role in FULL_READERS
    return {
        "entry": entry,
        "value": _value(entry),
        "says": says,
        "evidence": [str(e) for e in body.get("evidence", ())],
        "supersedes": body.get("supersedes"),
        "kind": body.get("kind"),
        "receipt": f"/receipts/{entry.log_index}",
        "bundle": _bundle(entry.log_index, size) if full else None,
        "signed": url("/events", cursor=entry.log_index, limit=1),
    }


def history_figure(
    trail: Trail, year: int, label: str, until: str = "now"
) -> dict[str, Any]:
    """The SVG history of ``trail``'s year-``year`` values with its marks, up to
    ``trail.log_size`` (``until`` names it: "now", or the audit report's cut,
    ``api/report_charts.py``, which draws the same)."""
    points, marks, withheld = [], [], 0
    for e in trail.entries:
        if e.entry_type in VALUE_TYPES and e.reference_year == year:
            if e.withheld:
                withheld += 1
                continue
            status = e.body.get("status")
            value = e.body.get("value") if status == "value" else None
            points.append(
                charts.Point(
                    e.log_index,
                    show.number(value),
                    _value(e) or "",
                    e.entry_type == "value.corrected",
                )
            )
        elif e.entry_type in MARKS and not e.withheld and e.reference_year in (None, year):
            marks.append(charts.Mark(e.log_index, MARKS[e.entry_type]))
    title = f"{trail.kpi} for {year} ({label}) across record time, {trail.member}"
    start = min((e.log_index for e in trail.entries), default=0)  # one axis for both
    svg = charts.history_chart(
        f"history-{year}", title, points, marks, trail.log_size, withheld, start, until
    )
    return {"year": year, "label": label, "svg": svg, "withheld": withheld}


def trail(
    ledger: Ledger,
    reader: Reader,
    member: str | None,
    year: str | None,
    kpi: str | None,
    cycle: str | None,
) -> View:
    code, t, cycle = member_code(member), year_number(year), text(cycle, "cycle")
    kpi_code = text(kpi, "kpi")
    if kpi_code is None:
        raise QueryError("name a KPI: kpi=TF.1.1")
    found = value_trail(ledger, reader, code, t, kpi_code, cycle)
    framework = definitions(ledger)
    versions = framework["kpis"].get(kpi_code)
    if versions is None:
        raise QueryError(f"{kpi_code!r} is not a KPI of the framework")
    definition = latest(versions)
    direction = str(definition.get("direction", "none"))
    size = tree_size(ledger.sequencer.checkpoint())
    rows = [_row(e, size, reader) for e in found.entries]
    others = peers(ledger, reader, code, t, kpi_code)
    shown = [p for p in others.shown if p.status == "value"]
    dots = [
        charts.Peer(p.member, n, show.value_text(p.value))
        for p in shown
        if (n := show.number(p.value)) is not None
    ]
    current = [
        e for e in found.entries if e.entry_type in VALUE_TYPES and e.reference_year == t
    ]
    own = None
    if current and not current[-1].withheld and current[-1].body.get("status") == "value":
        value = current[-1].body.get("value")
        number = show.number(value)
        if number is not None:
            own = charts.Peer(code, number, show.value_text(value))
    title = f"{kpi_code} for {t}: {code} among the other Members"
    restricted = dict(found.restricted_shown)
    for other, names in others.restricted_shown.items():
        restricted.setdefault(other, []).extend(names)
    context: Context = {
        "member": code,
        "name": member_name(code),
        "reference_year": t,
        "kpi": kpi_code,
        "definition": definition,
        "direction": direction,
        "audience": reader.audience(code),
        "rows": rows,
        "withheld": found.withheld,
        "charts": [history_figure(found, t - 1, "T−1"), history_figure(found, t, "T")],
        "peers": {
            "svg": charts.distribution_chart(
                "peers", title, dots, own, others.withheld, direction
            ),
            "shown": len(others.shown),
            "not_numbers": len(others.shown) - len(dots),
            "withheld": others.withheld,
        },
        "checkpoint_size": size,
        "full_reader": reader.role in FULL_READERS,
        "assessment": url("/ui/assessment", member=code, year=t, cycle=cycle),
        "history": url("/ui/history", member=code, year=t, cycle=cycle),
    }
    return View(context, restricted)
