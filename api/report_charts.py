"""The audit report's charts: the pages' own SVGs, cut at the report's record time.

For every KPI a red flag names (at most ``MAX_KPIS``), the value's history
across record time for T−1 and T, with corrections, validations,
publications and reopenings marked — drawn by ``api/web/views_trail.py``'s
``history_figure`` exactly as ``/ui/trail`` draws it, from the entries
before the report's cut only (docs/report.md).
"""

from __future__ import annotations

from dataclasses import replace

from api.web.views_trail import history_figure
from ledger.application import Ledger
from projections.access import Reader
from projections.report import AuditReport
from projections.trail import value_trail

MAX_KPIS = 6  # a report is read on paper: the flagged KPIs, not every KPI


def flagged_kpis(report: AuditReport) -> list[str]:
    """The KPIs the report's red flags name, high severity first, each once."""
    found: list[str] = []
    for flag in report.flags:
        kpi = flag.get("kpi")
        if isinstance(kpi, str) and kpi not in found:
            found.append(kpi)
    return found[:MAX_KPIS]


def report_charts(
    ledger: Ledger, reader: Reader, report: AuditReport
) -> list[tuple[str, str]]:
    """(caption, SVG markup): T−1 and T for each flagged KPI, as at the cut."""
    svgs: list[tuple[str, str]] = []
    for kpi in flagged_kpis(report):
        trail = value_trail(ledger, reader, report.member, report.reference_year, kpi)
        then = replace(
            trail,
            entries=tuple(e for e in trail.entries if e.log_index < report.cut),
            log_size=report.cut,
        )
        year = report.reference_year
        for shown, label in ((year - 1, "T−1"), (year, "T")):
            figure = history_figure(then, shown, label, until=_until(report))
            svgs.append((f"{kpi}, {label} ({shown})", str(figure["svg"])))
    return svgs


def _until(report: AuditReport) -> str:
    """How the chart names its right edge: the report's own record time."""
    return "now" if report.label == "now" else "the report's cut"
