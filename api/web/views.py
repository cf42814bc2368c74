"""What each page shows: its query read, its rows shaped for the template.

Every read goes through the very functions of the JSON API
(``api/http/routes_scores.py``, ``routes_audit.py``) as the ``ANONYMOUS``
reader, so a page shows exactly the rows ``GET /scores``, ``/history``,
``/diff`` and ``/framework`` answer without a token: ``public`` ones, and the
count of those withheld. Query parameters are read by ``params.py``.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pandas as pd
import pycountry

from api.http.routes_audit import get_framework
from api.http.routes_scores import diff_read, history_read, scores_read
from api.web.params import member_code, size_number, text, url, year_number
from ledger.application import Ledger
from projections.access import ANONYMOUS
from projections.errors import QueryError
from projections.timetravel import find_assessment
from verify.checkpoint import parse_checkpoint
from verify.note import parse_note
from verify.statement import parse_entry

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
    store = ledger.sequencer.store
    found = []
    for index, raw in store.stream_entries([stream], ledger.log_size()):
        entry = parse_entry(raw)
        if entry.entry_type == "assessment.published":
            found.append((index, int(entry.signed.body["cut_at"])))
    return found


def home(ledger: Ledger) -> Context:
    """The log, its latest checkpoint and every assessment opened in it."""
    checkpoint = parse_checkpoint(parse_note(ledger.sequencer.checkpoint()).text)
    assessments = []
    for stream, raw in ledger.sequencer.store.opened("assessment/"):
        body = parse_entry(raw).signed.body
        member, year = str(body["member"]), int(body["reference_year"])
        assessments.append(
            {
                "stream": stream,
                "member": member,
                "name": member_name(member),
                "cycle": body["cycle"],
                "year": year,
                "scores": url("/ui/scores", member=member, year=year),
                "history": url("/ui/history", member=member, year=year),
            }
        )
    years = sorted({a["year"] for a in assessments}, reverse=True)
    return {
        "log_size": ledger.log_size(),
        "checkpoint": {
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode("ascii"),
        },
        "assessments": assessments,
        "members": sorted({a["member"] for a in assessments}),
        "year": years[0] if years else None,
    }


def scores(
    ledger: Ledger,
    member: str | None,
    year: str | None,
    cycle: str | None,
    as_of: str | None,
    at_size: str | None,
    published: str | None,
) -> Context:
    """The score table at one record time, and the switches to the others."""
    code, t = member_code(member), year_number(year)
    cycle, as_of, published = (
        text(cycle, "cycle"),
        text(as_of, "as_of"),
        text(published, "published"),
    )
    size = size_number(at_size, "at_size")
    answer, rows = scores_read(
        ledger,
        ANONYMOUS,
        code,
        t,
        cycle=cycle,
        as_of=as_of,
        at_size=size,
        published=published,
    )
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
    return {
        **answer,
        "name": member_name(code),
        "rows": rows,
        "switches": switches,
        "changes": changes,
        "as_of": as_of,
        "history": url("/ui/history", **base),
        "json": url("/scores", **api),
        "csv": url("/exports/scores.csv", **api),
    }


def history(
    ledger: Ledger, member: str | None, year: str | None, cycle: str | None
) -> Context:
    """Every value recorded, superseded ones included, each marked by what replaced it."""
    code, t, cycle = member_code(member), year_number(year), text(cycle, "cycle")
    frame, withheld = history_read(ledger, ANONYMOUS, code, t, cycle)
    rows = records(frame)
    replaced = {
        r["supersedes"]: r["entry"] for r in rows if r.get("supersedes") is not None
    }
    for row in rows:
        row["value"] = json.loads(row["value"]) if row.get("value") else None
        row["superseded_by"] = replaced.get(row["entry"])
        row["evidence"] = (row.get("evidence") or "").split()
    return {
        "member": code,
        "name": member_name(code),
        "reference_year": t,
        "withheld": withheld,
        "rows": rows,
        "scores": url("/ui/scores", member=code, year=t, cycle=cycle),
        "json": url("/history", member=code, year=t, cycle=cycle),
    }


def diff(
    ledger: Ledger,
    member: str | None,
    year: str | None,
    start: str | None,
    end: str | None,
    cycle: str | None,
) -> Context:
    """Entries between two record times and the scores they moved (from defaults to
    the first publication's cut)."""
    code, t, cycle = member_code(member), year_number(year), text(cycle, "cycle")
    start, end = text(start, "from"), text(end, "to")
    stream = find_assessment(ledger.sequencer.store, code, t, cycle)
    found = publications(ledger, stream)
    if start is None:
        if not found:
            raise QueryError(
                f"{stream} has not been published: name from= (a time, a date or size:N)"
            )
        start = f"size:{found[0][1]}"
    answer, _ = diff_read(ledger, ANONYMOUS, code, t, start, end, cycle)
    base = {"member": code, "year": t, "cycle": cycle}
    changes = answer["changes"]
    by_index = {c["log_index"]: c for c in changes}
    moved = [
        {**s, "causes": [(i, by_index.get(i)) for i in s["caused_by"]]}
        for s in answer["score_changes"]
    ]
    return {
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


def framework(ledger: Ledger, as_of: str | None, at_size: str | None) -> Context:
    """Dimensions → expected outcomes → KPIs, each with every version."""
    as_of, size = text(as_of, "as_of"), size_number(at_size, "at_size")
    found = get_framework(ledger, as_of, size)

    def latest(versions: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(versions[-1]["definition"])

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
    return {
        "position": found["position"],
        "overall": found["overall_aggregation"],
        "tree": tree,
        "loose": loose,
        "loose_kpis": loose_kpis,
        "counts": {k: len(found[k]) for k in ("dimensions", "outcomes", "kpis")},
        "as_of": as_of,
        "json": url("/framework", as_of=as_of, at_size=size),
    }
