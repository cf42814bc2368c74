"""Reference data for a realistic demo of the WCO Performance Measurement Mechanism.

The framework (dimensions, expected outcomes, KPIs and their scoring methods)
is the framework file ``api/frameworks/pmm-demo.toml``, which ``pmm demo``
applies like any other (``pmm framework apply``); this module reads it and
lists the Members.  Nothing here is an official WCO dataset.

Where the names come from
-------------------------
* Dimensions: the four performance dimensions of the WCO PMM are real and are
  named as on https://pmm.wcoomd.org/about and
  https://www.wcoomd.org/en/topics/capacity-building/instrument-and-tools/pmm.aspx
* Counts: PMM version 1 has 23 expected outcomes and its first cycle (2022
  data) used 51 KPIs (https://pmm.wcoomd.org/about and WCO News 106,
  https://mag.wcoomd.org/magazine/wco-news-106-issue-1-2025/takeaways-first-cycle-pmm).
* Real expected-outcome names (``illustrative=False``), from WCO News 106:
  "Paperless trade", "Increased trust in the relationship with trade" and
  "More efficiency of clearance and delivery in e-commerce".
* Real KPI names (``illustrative=False``):
  from WCO News 106: "Rate of electronic declarations", "Variation in the
  number of Authorized Economic Operators", "AEO involvement in trade" and
  "Share of e-commerce shipments"; from the PMM FAQ
  (https://pmm.wcoomd.org/faqs): "Data standardization", "Effectiveness of
  post-clearance controls", "Effectiveness of controls on drugs", "Variation in
  the number of alcohol seizures" and "Annual variation in requests for
  information".  For the five FAQ KPIs the outcome they are attached to, and
  for all nine the unit, value kind, direction, disclosure and scoring method,
  are this demo's own choices.

Illustrative content
--------------------
All other outcome and KPI names (``illustrative=True``) are plausible customs
performance measures written for the demo; the full official lists are not
public.  Units, value kinds, directions, disclosure defaults and scoring
methods are demo choices for every KPI.  Text KPIs are scored ``as_score``:
only a Secretariat score revision gives them a score.  Members are real
WCO Members (ISO 3166-1 alpha-3 code, English short name); their selection is
arbitrary and implies nothing about PMM participation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from intake.framework_file import load_framework

FRAMEWORK_FILE: Final = Path(__file__).parent / "frameworks" / "pmm-demo.toml"


@dataclass(frozen=True, slots=True)
class Kpi:
    """A KPI as the demo framework file defines it."""

    code: str
    outcome: str
    name: str
    unit: str
    value_kind: str
    direction: str
    disclosure: str
    scoring_method: dict[str, Any]
    illustrative: bool


@dataclass(frozen=True, slots=True)
class Member:
    """A WCO Member administration, identified by ISO 3166-1 alpha-3 code."""

    code: str
    name: str


_FRAMEWORK = load_framework(FRAMEWORK_FILE)
DIMENSIONS: Final = tuple(d.code for d in _FRAMEWORK.definitions if d.kind == "dimension")
OUTCOMES: Final = tuple(d.code for d in _FRAMEWORK.definitions if d.kind == "outcome")
KPIS: Final = tuple(
    Kpi(
        code=d.code,
        outcome=d.body["outcome"],
        name=d.body["name"],
        unit=d.body["unit"],
        value_kind=d.body["value_kind"],
        direction=d.body["direction"],
        disclosure=d.body["disclosure"],
        scoring_method=d.body["scoring_method"],
        illustrative=bool(d.body.get("illustrative", False)),
    )
    for d in sorted(_FRAMEWORK.definitions, key=lambda d: d.code)
    if d.kind == "kpi"
)

MEMBERS: Final[tuple[Member, ...]] = (
    # East and Southern Africa
    Member("KEN", "Kenya"),
    Member("ZAF", "South Africa"),
    Member("MUS", "Mauritius"),
    # West and Central Africa
    Member("NGA", "Nigeria"),
    Member("SEN", "Senegal"),
    # North of Africa, Near and Middle East
    Member("MAR", "Morocco"),
    Member("JOR", "Jordan"),
    # Europe
    Member("FRA", "France"),
    Member("DEU", "Germany"),
    Member("GEO", "Georgia"),
    # Americas and the Caribbean
    Member("BRA", "Brazil"),
    Member("CAN", "Canada"),
    Member("MEX", "Mexico"),
    Member("CHL", "Chile"),
    Member("URY", "Uruguay"),
    # Asia / Pacific
    Member("JPN", "Japan"),
    Member("IND", "India"),
    Member("IDN", "Indonesia"),
    Member("AUS", "Australia"),
    Member("NZL", "New Zealand"),
)
