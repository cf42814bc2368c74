"""What the views share: frames as plain rows, Member names, publications,
and the KPI definitions (names, units, directions) the pages label rows with."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import pycountry

from api.http.routes_audit import get_framework
from ledger.application import Ledger
from ledger.errors import NotFoundError
from projections.log_reader import LogReader
from verify.formats.entry import parse_entry

Context = dict[str, Any]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as plain values: NaN is None, whole floats are ints again."""
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))

    def clean(value: Any) -> Any:
        if isinstance(value, float):
            return (
                None if math.isnan(value) else int(value) if value.is_integer() else value
            )
        return value

    return [{k: clean(v) for k, v in row.items()} for row in rows]


def member_name(code: str) -> str | None:
    found = pycountry.countries.get(alpha_3=code)
    return str(found.name) if found is not None else None


def publications(ledger: Ledger, stream: str) -> list[tuple[int, int]]:
    """(log index, cut_at) of each publication of ``stream``, oldest first
    (the order ``--published CYCLE@N`` counts in)."""
    found = []
    for index, raw in LogReader.of(ledger).stream_entries([stream], ledger.log_size()):
        entry = parse_entry(raw)
        if entry.entry_type == "assessment.published":
            found.append((index, int(entry.signed.body["cut_at"])))
    return found


def definitions(ledger: Ledger) -> dict[str, Any]:
    """The framework now (public: definitions hold no Member's value), or an
    empty one when the log holds none yet."""
    try:
        return get_framework(ledger, None, None)
    except NotFoundError:
        return {"dimensions": {}, "outcomes": {}, "kpis": {}, "overall_aggregation": None}


def latest(versions: list[dict[str, Any]]) -> dict[str, Any]:
    """The newest version's definition of a framework node."""
    return dict(versions[-1]["definition"])


def directions(framework: dict[str, Any]) -> dict[str, str]:
    """KPI code -> its newest ``direction`` (higher_is_better, lower_is_better, none)."""
    return {
        code: str(latest(v).get("direction", "none"))
        for code, v in framework["kpis"].items()
    }
