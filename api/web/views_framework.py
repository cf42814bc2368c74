"""The framework page: dimensions → expected outcomes → KPIs, every version.

Definitions hold no Member's value, so every reader sees all of them
(``GET /framework`` is public) and nothing goes to the access log.
"""

from __future__ import annotations

from typing import Any

from api.http.routes_audit import get_framework
from api.web.params import size_number, text, url
from api.web.render import View
from api.web.views_common import latest
from ledger.application import Ledger


def framework(ledger: Ledger, as_of: str | None, at_size: str | None) -> View:
    """Dimensions → expected outcomes → KPIs, each with every version."""
    as_of, size = text(as_of, "as_of"), size_number(at_size, "at_size")
    found = get_framework(ledger, as_of, size)

    def node(code: str, versions: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        return {"code": code, "latest": latest(versions), "versions": versions, **more}

    kpis, outcomes = found["kpis"], found["outcomes"]
    placed: set[str] = set()

    def kpis_of(outcome: str) -> list[dict[str, Any]]:
        mine = [c for c, v in kpis.items() if latest(v).get("outcome") == outcome]
        placed.update(mine)
        return [node(c, kpis[c]) for c in mine]

    def outcomes_of(dimension: str) -> list[dict[str, Any]]:
        mine = [c for c, v in outcomes.items() if latest(v).get("dimension") == dimension]
        placed.update(mine)
        return [node(c, outcomes[c], kpis=kpis_of(c)) for c in mine]

    tree = [node(c, v, outcomes=outcomes_of(c)) for c, v in found["dimensions"].items()]
    loose = [node(c, v, kpis=kpis_of(c)) for c, v in outcomes.items() if c not in placed]
    loose_kpis = [node(c, v) for c, v in kpis.items() if c not in placed]
    context = {
        "position": found["position"],
        "overall": found["overall_aggregation"],
        "tree": tree,
        "loose": loose,
        "loose_kpis": loose_kpis,
        "counts": {k: len(found[k]) for k in ("dimensions", "outcomes", "kpis")},
        "as_of": as_of,
        "json": url("/framework", as_of=as_of, at_size=size),
    }
    return View(context)
