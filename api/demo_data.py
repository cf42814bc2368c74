"""Reference data for a realistic demo of the WCO Performance Measurement Mechanism.

Pure data, standard library only.  Nothing here is an official WCO dataset.

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
methods are demo choices for every KPI.  Text KPIs carry ``"as_score"`` as a
placeholder: a reviewer turns the narrative into a score.  Members are real
WCO Members (ISO 3166-1 alpha-3 code, English short name); their selection is
arbitrary and implies nothing about PMM participation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Unit = Literal[
    "hours", "days", "count", "percent", "USD", "ratio", "yes_no", "grade", "text"
]
ValueKind = Literal["number", "ratio", "percentage", "yes_no", "grade", "text"]
Direction = Literal["lower_is_better", "higher_is_better", "none"]
Disclosure = Literal["public", "wco", "restricted"]
ScoringMethod = Literal["linear", "thresholds", "as_score", "ratio", "variation"]


@dataclass(frozen=True, slots=True)
class Dimension:
    """One of the four PMM performance dimensions."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """An expected outcome, belonging to one dimension."""

    code: str
    dimension: str
    name: str
    illustrative: bool


@dataclass(frozen=True, slots=True)
class Kpi:
    """A key performance indicator, attached to one expected outcome."""

    code: str
    outcome: str
    name: str
    unit: Unit
    value_kind: ValueKind
    direction: Direction
    disclosure: Disclosure
    scoring_method: ScoringMethod
    illustrative: bool


@dataclass(frozen=True, slots=True)
class Member:
    """A WCO Member administration, identified by ISO 3166-1 alpha-3 code."""

    code: str
    name: str


#: Units allowed for each value kind.
UNITS_BY_KIND: Final[dict[ValueKind, frozenset[Unit]]] = {
    "number": frozenset({"hours", "days", "count", "USD"}),
    "ratio": frozenset({"ratio"}),
    "percentage": frozenset({"percent"}),
    "yes_no": frozenset({"yes_no"}),
    "grade": frozenset({"grade"}),
    "text": frozenset({"text"}),
}

DIMENSIONS: Final[tuple[Dimension, ...]] = (
    Dimension("D1", "Trade Facilitation and Economic Competitiveness"),
    Dimension("D2", "Revenue Collection"),
    Dimension("D3", "Enforcement, Security and Protection of Society"),
    Dimension("D4", "Organizational Development"),
)

OUTCOMES: Final[tuple[Outcome, ...]] = (
    # D1 - Trade Facilitation and Economic Competitiveness
    Outcome("D1.EO1", "D1", "Paperless trade", False),
    Outcome("D1.EO2", "D1", "Increased trust in the relationship with trade", False),
    Outcome(
        "D1.EO3",
        "D1",
        "More efficiency of clearance and delivery in e-commerce",
        False,
    ),
    Outcome("D1.EO4", "D1", "Reduced time for the release of goods", True),
    Outcome("D1.EO5", "D1", "Transparent and predictable Customs procedures", True),
    Outcome("D1.EO6", "D1", "Risk-based and proportionate controls", True),
    Outcome("D1.EO7", "D1", "Coordinated border management", True),
    Outcome("D1.EO8", "D1", "Efficient transit of goods", True),
    # D2 - Revenue Collection
    Outcome("D2.EO1", "D2", "Revenue collected as forecast", True),
    Outcome("D2.EO2", "D2", "Correct classification, valuation and origin", True),
    Outcome("D2.EO3", "D2", "Effective post-clearance audit", True),
    Outcome("D2.EO4", "D2", "Efficient recovery of Customs debts", True),
    Outcome("D2.EO5", "D2", "Improved voluntary compliance", True),
    # D3 - Enforcement, Security and Protection of Society
    Outcome("D3.EO1", "D3", "Effective fight against drug trafficking", True),
    Outcome("D3.EO2", "D3", "Reduced illicit trade in excise goods", True),
    Outcome("D3.EO3", "D3", "Protection of intellectual property rights", True),
    Outcome("D3.EO4", "D3", "Secure international supply chain", True),
    Outcome("D3.EO5", "D3", "Protection of the environment and cultural heritage", True),
    Outcome("D3.EO6", "D3", "Effective international enforcement cooperation", True),
    # D4 - Organizational Development
    Outcome("D4.EO1", "D4", "Integrity and good governance", True),
    Outcome("D4.EO2", "D4", "Competent and professional workforce", True),
    Outcome("D4.EO3", "D4", "Strategic planning and performance management", True),
    Outcome("D4.EO4", "D4", "Digital transformation of Customs", True),
)

# Positional fields: code, outcome, name, unit, value_kind, direction,
# disclosure, scoring_method, illustrative.
KPIS: Final[tuple[Kpi, ...]] = (
    # D1.EO1 Paperless trade
    Kpi(
        "KPI-01",
        "D1.EO1",
        "Rate of electronic declarations",
        "percent",
        "percentage",
        "higher_is_better",
        "public",
        "linear",
        False,
    ),
    Kpi(
        "KPI-02",
        "D1.EO1",
        "Data standardization",
        "grade",
        "grade",
        "higher_is_better",
        "wco",
        "as_score",
        False,
    ),
    Kpi(
        "KPI-03",
        "D1.EO1",
        "Share of supporting documents submitted electronically",
        "percent",
        "percentage",
        "higher_is_better",
        "public",
        "linear",
        True,
    ),
    # D1.EO2 Increased trust in the relationship with trade
    Kpi(
        "KPI-04",
        "D1.EO2",
        "Variation in the number of Authorized Economic Operators",
        "percent",
        "percentage",
        "higher_is_better",
        "public",
        "variation",
        False,
    ),
    Kpi(
        "KPI-05",
        "D1.EO2",
        "AEO involvement in trade",
        "percent",
        "percentage",
        "higher_is_better",
        "public",
        "linear",
        False,
    ),
    Kpi(
        "KPI-06",
        "D1.EO2",
        "Number of AEO mutual recognition arrangements in force",
        "count",
        "number",
        "higher_is_better",
        "public",
        "thresholds",
        True,
    ),
    # D1.EO3 More efficiency of clearance and delivery in e-commerce
    Kpi(
        "KPI-07",
        "D1.EO3",
        "Share of e-commerce shipments",
        "percent",
        "percentage",
        "higher_is_better",
        "wco",
        "linear",
        False,
    ),
    Kpi(
        "KPI-08",
        "D1.EO3",
        "Average release time for e-commerce shipments",
        "hours",
        "number",
        "lower_is_better",
        "wco",
        "linear",
        True,
    ),
    # D1.EO4 Reduced time for the release of goods
    Kpi(
        "KPI-09",
        "D1.EO4",
        "Average release time for imports",
        "hours",
        "number",
        "lower_is_better",
        "public",
        "linear",
        True,
    ),
    Kpi(
        "KPI-10",
        "D1.EO4",
        "Time for import border compliance",
        "hours",
        "number",
        "lower_is_better",
        "public",
        "linear",
        True,
    ),
    Kpi(
        "KPI-11",
        "D1.EO4",
        "Time for export border compliance",
        "hours",
        "number",
        "lower_is_better",
        "public",
        "linear",
        True,
    ),
    # D1.EO5 Transparent and predictable Customs procedures
    Kpi(
        "KPI-12",
        "D1.EO5",
        "Number of advance rulings issued",
        "count",
        "number",
        "higher_is_better",
        "public",
        "thresholds",
        True,
    ),
    Kpi(
        "KPI-13",
        "D1.EO5",
        "Average time to issue an advance ruling",
        "days",
        "number",
        "lower_is_better",
        "public",
        "linear",
        True,
    ),
    # D1.EO6 Risk-based and proportionate controls
    Kpi(
        "KPI-14",
        "D1.EO6",
        "Share of declarations routed to physical inspection",
        "percent",
        "percentage",
        "lower_is_better",
        "wco",
        "linear",
        True,
    ),
    Kpi(
        "KPI-15",
        "D1.EO6",
        "Hit rate of physical inspections",
        "percent",
        "percentage",
        "higher_is_better",
        "restricted",
        "linear",
        True,
    ),
    # D1.EO7 Coordinated border management
    Kpi(
        "KPI-16",
        "D1.EO7",
        "National Single Window in operation",
        "yes_no",
        "yes_no",
        "higher_is_better",
        "public",
        "thresholds",
        True,
    ),
    Kpi(
        "KPI-17",
        "D1.EO7",
        "Number of border agencies connected to the Single Window",
        "count",
        "number",
        "higher_is_better",
        "public",
        "thresholds",
        True,
    ),
    # D1.EO8 Efficient transit of goods
    Kpi(
        "KPI-18",
        "D1.EO8",
        "Average duration of transit operations",
        "hours",
        "number",
        "lower_is_better",
        "wco",
        "linear",
        True,
    ),
    # D2.EO1 Revenue collected as forecast
    Kpi(
        "KPI-19",
        "D2.EO1",
        "Revenue collected versus revenue target",
        "ratio",
        "ratio",
        "higher_is_better",
        "wco",
        "ratio",
        True,
    ),
    Kpi(
        "KPI-20",
        "D2.EO1",
        "Variation in Customs revenue collected",
        "percent",
        "percentage",
        "higher_is_better",
        "wco",
        "variation",
        True,
    ),
    Kpi(
        "KPI-21",
        "D2.EO1",
        "Customs revenue as a share of total tax revenue",
        "percent",
        "percentage",
        "higher_is_better",
        "public",
        "linear",
        True,
    ),
    # D2.EO2 Correct classification, valuation and origin
    Kpi(
        "KPI-22",
        "D2.EO2",
        "Share of declarations amended after verification",
        "percent",
        "percentage",
        "lower_is_better",
        "wco",
        "linear",
        True,
    ),
    Kpi(
        "KPI-23",
        "D2.EO2",
        "Average time to settle valuation disputes",
        "days",
        "number",
        "lower_is_better",
        "wco",
        "linear",
        True,
    ),
    # D2.EO3 Effective post-clearance audit
    Kpi(
        "KPI-24",
        "D2.EO3",
        "Effectiveness of post-clearance controls",
        "percent",
        "percentage",
        "higher_is_better",
        "wco",
        "linear",
        False,
    ),
    Kpi(
        "KPI-25",
        "D2.EO3",
        "Yield of post-clearance audits (recovered / cost)",
        "ratio",
        "ratio",
        "higher_is_better",
        "restricted",
        "ratio",
        True,
    ),
    # D2.EO4 Efficient recovery of Customs debts
    Kpi(
        "KPI-26",
        "D2.EO4",
        "Customs debt arrears outstanding at year end",
        "USD",
        "number",
        "lower_is_better",
        "restricted",
        "linear",
        True,
    ),
    Kpi(
        "KPI-27",
        "D2.EO4",
        "Arrears recovered versus arrears outstanding",
        "ratio",
        "ratio",
        "higher_is_better",
        "wco",
        "ratio",
        True,
    ),
    # D2.EO5 Improved voluntary compliance
    Kpi(
        "KPI-28",
        "D2.EO5",
        "Share of declarations voluntarily corrected by traders",
        "percent",
        "percentage",
        "higher_is_better",
        "wco",
        "linear",
        True,
    ),
    Kpi(
        "KPI-29",
        "D2.EO5",
        "Description of the trader compliance programme",
        "text",
        "text",
        "none",
        "wco",
        "as_score",
        True,
    ),
    # D3.EO1 Effective fight against drug trafficking
    Kpi(
        "KPI-30",
        "D3.EO1",
        "Effectiveness of controls on drugs",
        "percent",
        "percentage",
        "higher_is_better",
        "restricted",
        "linear",
        False,
    ),
    Kpi(
        "KPI-31",
        "D3.EO1",
        "Number of drug seizures",
        "count",
        "number",
        "higher_is_better",
        "wco",
        "thresholds",
        True,
    ),
    Kpi(
        "KPI-32",
        "D3.EO1",
        "Number of controlled deliveries conducted",
        "count",
        "number",
        "higher_is_better",
        "restricted",
        "thresholds",
        True,
    ),
    # D3.EO2 Reduced illicit trade in excise goods
    Kpi(
        "KPI-33",
        "D3.EO2",
        "Variation in the number of alcohol seizures",
        "percent",
        "percentage",
        "higher_is_better",
        "wco",
        "variation",
        False,
    ),
    Kpi(
        "KPI-34",
        "D3.EO2",
        "Number of tobacco product seizures",
        "count",
        "number",
        "higher_is_better",
        "wco",
        "thresholds",
        True,
    ),
    # D3.EO3 Protection of intellectual property rights
    Kpi(
        "KPI-35",
        "D3.EO3",
        "Number of IPR infringement detentions",
        "count",
        "number",
        "higher_is_better",
        "public",
        "thresholds",
        True,
    ),
    Kpi(
        "KPI-36",
        "D3.EO3",
        "IPR recordation system available to right holders",
        "yes_no",
        "yes_no",
        "higher_is_better",
        "public",
        "thresholds",
        True,
    ),
    # D3.EO4 Secure international supply chain
    Kpi(
        "KPI-37",
        "D3.EO4",
        "Share of consignments with advance cargo information",
        "percent",
        "percentage",
        "higher_is_better",
        "wco",
        "linear",
        True,
    ),
    Kpi(
        "KPI-38",
        "D3.EO4",
        "Share of high-risk consignments examined",
        "percent",
        "percentage",
        "higher_is_better",
        "restricted",
        "linear",
        True,
    ),
    # D3.EO5 Protection of the environment and cultural heritage
    Kpi(
        "KPI-39",
        "D3.EO5",
        "Number of CITES-related seizures",
        "count",
        "number",
        "higher_is_better",
        "public",
        "thresholds",
        True,
    ),
    Kpi(
        "KPI-40",
        "D3.EO5",
        "Number of seizures of cultural objects",
        "count",
        "number",
        "higher_is_better",
        "public",
        "thresholds",
        True,
    ),
    # D3.EO6 Effective international enforcement cooperation
    Kpi(
        "KPI-41",
        "D3.EO6",
        "Annual variation in requests for information",
        "percent",
        "percentage",
        "higher_is_better",
        "wco",
        "variation",
        False,
    ),
    Kpi(
        "KPI-42",
        "D3.EO6",
        "Average time to answer mutual assistance requests",
        "days",
        "number",
        "lower_is_better",
        "wco",
        "linear",
        True,
    ),
    # D4.EO1 Integrity and good governance
    Kpi(
        "KPI-43",
        "D4.EO1",
        "Number of substantiated integrity cases",
        "count",
        "number",
        "lower_is_better",
        "restricted",
        "thresholds",
        True,
    ),
    Kpi(
        "KPI-44",
        "D4.EO1",
        "Code of conduct signed by all staff",
        "yes_no",
        "yes_no",
        "higher_is_better",
        "public",
        "thresholds",
        True,
    ),
    Kpi(
        "KPI-45",
        "D4.EO1",
        "Maturity of the integrity framework",
        "grade",
        "grade",
        "higher_is_better",
        "wco",
        "as_score",
        True,
    ),
    # D4.EO2 Competent and professional workforce
    Kpi(
        "KPI-46",
        "D4.EO2",
        "Average training hours per staff member",
        "hours",
        "number",
        "higher_is_better",
        "public",
        "linear",
        True,
    ),
    Kpi(
        "KPI-47",
        "D4.EO2",
        "Share of staff trained on WCO instruments",
        "percent",
        "percentage",
        "higher_is_better",
        "wco",
        "linear",
        True,
    ),
    Kpi(
        "KPI-48",
        "D4.EO2",
        "Staff turnover rate",
        "percent",
        "percentage",
        "lower_is_better",
        "wco",
        "linear",
        True,
    ),
    # D4.EO3 Strategic planning and performance management
    Kpi(
        "KPI-49",
        "D4.EO3",
        "Maturity of strategic planning",
        "grade",
        "grade",
        "higher_is_better",
        "public",
        "as_score",
        True,
    ),
    Kpi(
        "KPI-50",
        "D4.EO3",
        "Description of the performance management framework",
        "text",
        "text",
        "none",
        "wco",
        "as_score",
        True,
    ),
    # D4.EO4 Digital transformation of Customs
    Kpi(
        "KPI-51",
        "D4.EO4",
        "Share of Customs procedures available online",
        "percent",
        "percentage",
        "higher_is_better",
        "public",
        "linear",
        True,
    ),
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


def _unique(codes: list[str]) -> bool:
    return len(codes) == len(set(codes))


def check() -> None:
    """Assert the internal consistency of the demo data."""
    assert len(DIMENSIONS) == 4, len(DIMENSIONS)
    assert len(OUTCOMES) == 23, len(OUTCOMES)
    assert len(KPIS) == 51, len(KPIS)
    assert len(MEMBERS) == 20, len(MEMBERS)

    assert _unique([d.code for d in DIMENSIONS]), "duplicate dimension code"
    assert _unique([o.code for o in OUTCOMES]), "duplicate outcome code"
    assert _unique([k.code for k in KPIS]), "duplicate KPI code"
    assert _unique([m.code for m in MEMBERS]), "duplicate member code"
    assert all(len(m.code) == 3 and m.code.isupper() for m in MEMBERS)

    dimension_codes = {d.code for d in DIMENSIONS}
    for o in OUTCOMES:
        assert o.dimension in dimension_codes, o.code
        assert o.code.startswith(o.dimension + ".EO"), o.code
    assert {o.dimension for o in OUTCOMES} == dimension_codes

    outcome_codes = {o.code for o in OUTCOMES}
    for k in KPIS:
        assert k.outcome in outcome_codes, k.code
        assert k.unit in UNITS_BY_KIND[k.value_kind], k.code
        assert (k.direction == "none") == (k.value_kind == "text"), k.code
    assert {k.outcome for k in KPIS} == outcome_codes, "outcome without KPI"
