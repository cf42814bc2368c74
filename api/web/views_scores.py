"""The score pages: a table at a record time, every value recorded, what changed.

Every read goes through the very functions the JSON API answers with
(``projections/score_query.py``) as the request's reader (``ReaderDep``), so a
page shows exactly the rows ``GET /scores``, ``/history`` and ``/diff`` answer
that reader, and the count of those withheld; each view names the
restricted rows it shows, which ``render.answer`` writes to the access log
first. Query parameters are read by ``params.py``.
"""

from __future__ import annotations

import json
from typing import Any

from api.web import show
from api.web.params import member_code, size_number, text, url, year_number
from api.web.render import View
from api.web.views_common import definitions, directions, member_name, publications, records
from ledger.application import Ledger
from projections.access import Reader
from projections.errors import QueryError
from projections.exports import restricted_names
from projections.log_reader import LogReader
from projections.score_query import When, read_diff, read_history, read_scores
from projections.timetravel import find_assessment


def scores(
    ledger: Ledger,
    reader: Reader,
    member: str | None,
    year: str | None,
    cycle: str | None,
    as_of: str | None,
    at_size: str | None,
    published: str | None,
) -> View:
    """The score table at one record time, and the switches to the others."""
    code, t = member_code(member), year_number(year)
    cycle, as_of, published = (
        text(cycle, "cycle"),
        text(as_of, "as_of"),
        text(published, "published"),
    )
    size = size_number(at_size, "at_size")
    read = read_scores(
        ledger, code, t, When(cycle, as_of, size, published), reader.audience(code)
    )
    answer, rows = read.header(), read.rows
    where, name = answer["position"], answer["cycle"]
    base = {"member": code, "year": t, "cycle": cycle}
    now = published is None and as_of is None and size is None
    switches = [
        {
            "label": "As corrected now",
            "href": url("/ui/scores", **base),
            "current": now,
            "note": None,
        }
    ]
    changes = []
    found = publications(ledger, answer["stream"])
    for n, (index, cut) in enumerate(found, 1):
        which = "" if len(found) == 1 else f", publication {n} of {len(found)}"
        label = f"As published (cycle {name}{which})"
        latest = n == len(found)
        current = published == f"{name}@{n}" or (latest and published == name)
        href = url("/ui/scores", member=code, year=t, published=f"{name}@{n}")
        note = f"entry {index}, cut at log size {cut}"
        switches.append({"label": label, "href": href, "current": current, "note": note})
        changes.append(
            {
                "label": f"What changed since publication {n}" if which else "What changed",
                "href": url("/ui/diff", **base, from_=f"size:{cut}"),
                "note": f"from log size {cut} to now",
            }
        )
    here = url("/ui/diff", **base, from_=f"size:{where['size']}")
    if not now and all(c["href"] != here for c in changes):
        label, note = "What changed from this view to now", f"from log size {where['size']}"
        changes.insert(0, {"label": label, "href": here, "note": f"{note} to now"})
    api = {**base, "as_of": as_of, "at_size": size, "published": published}
    context = {
        **answer,
        "name": member_name(code),
        "rows": rows,
        "switches": switches,
        "changes": changes,
        "as_of": as_of,
        "history": url("/ui/history", **base),
        "json": url("/scores", **api),
        "csv": url("/exports/scores.csv", **api),
        "assessment": url("/ui/assessment", **base),
    }
    return View(context, {answer["member"]: read.restricted_shown()})


def history(
    ledger: Ledger, reader: Reader, member: str | None, year: str | None, cycle: str | None
) -> View:
    """Every value recorded, superseded ones included, each marked by what replaced it."""
    code, t, cycle = member_code(member), year_number(year), text(cycle, "cycle")
    frame, withheld = read_history(ledger, code, t, cycle, reader.audience(code))
    rows = records(frame)
    replaced = {
        r["supersedes"]: r["entry"] for r in rows if r.get("supersedes") is not None
    }
    for row in rows:
        row["value"] = json.loads(row["value"]) if row.get("value") else None
        row["superseded_by"] = replaced.get(row["entry"])
        row["evidence"] = (row.get("evidence") or "").split()
        row["trail"] = url("/ui/trail", member=code, year=t, kpi=row["kpi"], cycle=cycle)
    context = {
        "member": code,
        "name": member_name(code),
        "reference_year": t,
        "withheld": withheld,
        "rows": rows,
        "scores": url("/ui/scores", member=code, year=t, cycle=cycle),
        "json": url("/history", member=code, year=t, cycle=cycle),
        "audience": reader.audience(code),
    }
    return View(context, {code: restricted_names(frame)})


def diff(
    ledger: Ledger,
    reader: Reader,
    member: str | None,
    year: str | None,
    start: str | None,
    end: str | None,
    cycle: str | None,
) -> View:
    """Entries between two record times and the scores they moved (from defaults to
    the first publication's cut)."""
    code, t, cycle = member_code(member), year_number(year), text(cycle, "cycle")
    start, end = text(start, "from"), text(end, "to")
    stream = find_assessment(LogReader.of(ledger), code, t, cycle)
    found = publications(ledger, stream)
    if start is None:
        if not found:
            raise QueryError(
                f"{stream} has not been published: name from= (a time, a date or size:N)"
            )
        start = f"size:{found[0][1]}"
    read = read_diff(ledger, code, t, start, end, cycle, reader.audience(code))
    answer, frame = read.answer(), read.frame
    base = {"member": code, "year": t, "cycle": cycle}
    kpi_directions = directions(definitions(ledger))
    changes = [{**c, "trend": _value_trend(c, kpi_directions)} for c in answer["changes"]]
    by_index = {c["log_index"]: c for c in changes}
    moved = [
        {
            **s,
            "causes": [(i, by_index.get(i)) for i in s["caused_by"]],
            # A score is always "higher is better" (docs/scoring.md).
            "trend": show.trend(s["old"], s["new"], "higher_is_better"),
        }
        for s in answer["score_changes"]
    ]
    context = {
        **answer,
        "name": member_name(code),
        "first": answer["from"],
        "last": answer["to"],
        "start": start,
        "end": end,
        "changes": changes,
        "moved": moved,
        "publications": [
            {
                "n": n,
                "index": i,
                "cut": cut,
                "href": url("/ui/diff", **base, from_=f"size:{cut}"),
            }
            for n, (i, cut) in enumerate(found, 1)
        ],
        "scores_then": url("/ui/scores", **base, at_size=answer["from"]["size"]),
        "scores_now": url("/ui/scores", **base, at_size=answer["to"]["size"]),
        "json": url("/diff", **base, from_=start, to=end),
    }
    return View(context, {code: restricted_names(frame)})


def _value_trend(change: dict[str, Any], kpi_directions: dict[str, str]) -> str:
    """Better or worse for a value change, by its KPI's direction; a definition
    or disclosure change has no direction."""
    old, new = change["old"], change["new"]
    if not (isinstance(old, dict) and isinstance(new, dict)) or "status" not in new:
        return ""
    kpi = str(change["subject"]).split(" ")[0]
    return show.trend(
        show.number(old.get("value")),
        show.number(new.get("value")),
        kpi_directions.get(kpi, "none"),
    )
