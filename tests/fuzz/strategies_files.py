"""Hypothesis strategies for the files people write: framework TOML, DataBank CSV.

A framework file (intake/framework_file.py, docs/framework-file.md) or a
World Bank DataBank long export (intake/databank_file.py, docs/import.md)
written from a generated spec, the way a person or the World Bank writes it,
and TOML- or CSV-ish noise that reaches the readers' corners.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.strategies import AMOUNT, WORDS, YEAR

# -- the KPI framework file (intake/framework_file.py) -----------------


def _toml_key(code: str) -> str:
    return f'"{code}"'


@st.composite
def framework_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A framework file's content: dimensions, outcomes under them, KPIs under
    those, linear scoring; as the dict ``load_framework`` must give back."""
    dims = draw(
        st.lists(
            st.from_regex(r"D[1-9]", fullmatch=True), min_size=1, max_size=3, unique=True
        )
    )
    outcomes = {f"{d}.EO{i}": d for d in dims for i in range(1, draw(st.integers(1, 3)))}
    if not outcomes:
        outcomes = {f"{dims[0]}.EO1": dims[0]}
    kpis: dict[str, dict[str, Any]] = {}
    for n, outcome in enumerate(
        draw(st.lists(st.sampled_from(sorted(outcomes)), min_size=1, max_size=5))
    ):
        best, worst = draw(st.lists(AMOUNT, min_size=2, max_size=2, unique_by=Decimal))
        kpis[f"K{n}"] = {
            "outcome": outcome,
            "name": draw(WORDS),
            "unit": "hours",
            "value_kind": "number",
            "direction": "none",
            "disclosure": draw(st.sampled_from(["public", "wco", "restricted"])),
            "scoring": {"method": "linear", "best": best, "worst": worst},
        }
    return {
        "title": draw(WORDS),
        "year": draw(YEAR),
        "dimensions": {d: {"name": draw(WORDS)} for d in dims},
        "outcomes": {o: {"dimension": d, "name": draw(WORDS)} for o, d in outcomes.items()},
        "kpis": kpis,
    }


def toml_string(text: str) -> str:
    """A TOML basic string: every character but the printable ASCII escaped."""
    escaped = "".join(
        ch if " " <= ch <= "~" and ch not in '"\\' else f"\\U{ord(ch):08X}" for ch in text
    )
    return f'"{escaped}"'


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return toml_string(value) if isinstance(value, str) else str(value)


def framework_toml(spec: dict[str, Any]) -> str:
    """The framework file of ``spec`` (docs/framework-file.md)."""
    lines = ["[framework]", f"title = {toml_string(spec['title'])}"]
    lines.append(f"applies_from = {spec['year']}")
    for group in ("dimensions", "outcomes", "kpis"):
        for code, entry in spec[group].items():
            lines.append(f"[{group}.{_toml_key(code)}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


FRAMEWORK_BYTES = framework_specs().map(lambda s: framework_toml(s).encode("utf-8"))
# TOML-ish noise that reaches tomllib's and our checks' corners: deep nesting,
# long numbers, exponents, dates, inline tables.
TOML_PIECES = st.lists(
    st.sampled_from(
        [
            "[",
            "]",
            "{",
            "}",
            "=",
            ",",
            '"',
            "\n",
            "a",
            "kpis.",
            "framework",
            "title",
            "scoring",
            "1e999999",
            "9" * 50,
            "9" * 5000,
            "[" * 400,
            "{a=" * 200,
            "-0",
            "nan",
            "inf",
            "1979-05-27",
            "[[x]]",
            "weight",
            "applies_from",
            "0x7f",
            "'''",
            "\\u0000",
        ]
    ),
    max_size=30,
).map(lambda parts: "".join(parts).encode("utf-8"))

# -- World Bank DataBank CSV (intake/databank_file.py) ------------------

CELL = st.one_of(
    AMOUNT,
    st.just(".."),
    st.just(""),
    st.sampled_from(["1e3", "1E-2", "+4", "1e99999999", "-0.0", "12,5", "9" * 60]),
)


@st.composite
def databank_tables(draw: st.DrawFn) -> tuple[list[int], list[list[str]]]:
    """Years and rows ``[country name, code, series name, series code, cells...]``."""
    years = sorted(
        draw(st.lists(st.integers(1990, 2030), min_size=1, max_size=4, unique=True))
    )
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        country = draw(st.from_regex(r"[A-Z]{3}", fullmatch=True))
        series = draw(st.from_regex(r"IC\.[A-Z]{3}\.[A-Z]{4}", fullmatch=True))
        cells = [draw(CELL) for _ in years]
        rows.append(
            [
                draw(WORDS).strip() or "X",
                country,
                draw(WORDS).strip() or "S",
                series,
                *cells,
            ]
        )
    return years, rows


def databank_csv(years: list[int], rows: list[list[str]]) -> bytes:
    """A DataBank long export of ``rows``, as the World Bank writes it."""
    out = io.StringIO(newline="")
    header = ["Country Name", "Country Code", "Series Name", "Series Code"]
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header + [f"{y} [YR{y}]" for y in years])
    writer.writerows(rows)
    out.write("\r\n\r\nData from database: Doing Business\r\nLast Updated: 10/29/2019\r\n")
    return ("\ufeff" + out.getvalue()).encode("utf-8")


DATABANK_BYTES = databank_tables().map(lambda t: databank_csv(*t))

# -- the red-flag thresholds file (projections/flag_thresholds.py) ---------

PACKAGED_THRESHOLDS = (
    Path(__file__).parents[2] / "api" / "frameworks" / "flags-v1.toml"
).read_bytes()
THRESHOLDS_BYTES = st.just(PACKAGED_THRESHOLDS)
