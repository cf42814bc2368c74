"""The assessment page: as published, as corrected now, and what changed.

docs/design.md §2's three questions side by side for one Member's reference year:
each score of a publication's cut, the same score at a record time (now by
default, or the date or log size the record-time control names), and how it
moved, with a link to the diff that says by whom, why and on what evidence.
Rows are grouped by dimension and expected outcome and labelled with the KPI
names of the framework. A score the reader may not see reads "withheld" in
every column, at every record time, with each value's level as it stands now
(decision 26); each group says how many it withholds.
"""

from __future__ import annotations

from typing import Any

from api.web import show
from api.web.params import member_code, size_number, text, url, year_number
from api.web.render import View
from api.web.views_common import Context, definitions, latest, member_name, publications
from ledger.application import Ledger
from projections.access import Reader
from projections.errors import QueryError
from projections.log_reader import LogReader
from projections.score_query import When, read_scores, restricted_score_names
from projections.timetravel import find_assessment

Key = tuple[str, str]  # (level, code)


def _table(
    ledger: Ledger, reader: Reader, code: str, year: int, when: When
) -> tuple[dict[str, Any], dict[Key, dict[str, Any]], set[Key]]:
    """The position read, the visible rows by key, and the keys withheld."""
    read = read_scores(ledger, code, year, when, reader.audience(code))
    shown = {(r["level"], r["code"]): r for r in read.rows}
    every = {(r.level, r.code) for r in read.found.table.rows}
    header = read.header()
    return (
        {"position": header["position"], "cycle": header["cycle"]},
        shown,
        every - set(shown),
    )


def _record_time(
    as_of: str | None, at_size: str | None, by: str | None
) -> tuple[str | None, int | None]:
    """The control's record time: the button pressed says which field counts."""
    when, size = text(as_of, "as_of"), size_number(at_size, "at_size")
    choice = text(by, "by")
    if choice not in (None, "date", "size"):
        raise QueryError(f"by={choice!r}: choose by=date or by=size")
    if choice == "date" or (choice is None and size is None):
        return when, None
    if choice == "size" or when is None:
        return None, size
    raise QueryError("name one record time: a date (as_of) or a log size (at_size)")


def _cell(key: Key, shown: dict[Key, dict[str, Any]], hidden: set[Key]) -> dict[str, Any]:
    if key in hidden:
        return {"withheld": True, "score": None, "status": None}
    row = shown.get(key)
    if row is None:
        return {"withheld": False, "score": None, "status": "not in the table"}
    return {"withheld": False, "score": row["score"], "status": row["status"]}


def _change(then: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    if then["withheld"] or now["withheld"]:
        return {"withheld": True, "trend": "", "delta": None}
    # A score is always "higher is better" (docs/scoring.md): a drop is worse.
    trend = show.trend(then["score"], now["score"], "higher_is_better")
    before, after = show.number(then["score"]), show.number(now["score"])
    delta = None
    if before is not None and after is not None and before != after:
        delta = f"{after - before:+}"
    elif then["score"] is None and now["score"] is not None:
        trend = "changed"
    elif (then["score"], then["status"]) != (now["score"], now["status"]):
        trend = trend or "changed"
    return {"withheld": False, "trend": trend, "delta": delta}


def assessment(
    ledger: Ledger,
    reader: Reader,
    member: str | None,
    year: str | None,
    cycle: str | None,
    published: str | None,
    as_of: str | None,
    at_size: str | None,
    by: str | None,
) -> View:
    code, t, cycle = member_code(member), year_number(year), text(cycle, "cycle")
    stream = find_assessment(LogReader.of(ledger), code, t, cycle)
    when, size = _record_time(as_of, at_size, by)
    now_head, now_rows, now_hidden = _table(
        ledger, reader, code, t, When(cycle, as_of=when, at_size=size)
    )
    name = now_head["cycle"]
    found = publications(ledger, stream)
    chosen = text(published, "published")
    then_head: dict[str, Any] | None = None
    then_rows: dict[Key, dict[str, Any]] = {}
    then_hidden: set[Key] = set()
    if found:
        chosen = chosen or f"{name}@{len(found)}"
        then_head, then_rows, then_hidden = _table(
            ledger, reader, code, t, When(published=chosen)
        )
    framework = definitions(ledger)
    keys = set(now_rows) | now_hidden | set(then_rows) | then_hidden

    def line(level: str, node_code: str, label: str) -> dict[str, Any]:
        key = (level, node_code)
        then = _cell(key, then_rows, then_hidden) if found else None
        now = _cell(key, now_rows, now_hidden)
        return {
            "level": level,
            "code": node_code,
            "name": label,
            "then": then,
            "now": now,
            "change": _change(then, now) if then is not None else None,
            "trail": url("/ui/trail", member=code, year=t, kpi=node_code, cycle=cycle)
            if level == "kpi"
            else None,
        }

    def named(group: str, node_code: str) -> str:
        versions = framework[group].get(node_code)
        return str(latest(versions).get("name", "")) if versions else ""

    groups: list[dict[str, Any]] = []
    placed: set[Key] = set()
    for dimension in sorted(
        {c for lv, c in keys if lv == "dimension"} | set(framework["dimensions"])
    ):
        outcomes: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for outcome, versions in framework["outcomes"].items():
            if latest(versions).get("dimension") != dimension:
                continue
            kpis = [
                line("kpi", k, named("kpis", k))
                for k, v in framework["kpis"].items()
                if latest(v).get("outcome") == outcome and ("kpi", k) in keys
            ]
            placed.update(("kpi", k["code"]) for k in kpis)
            head = line("outcome", outcome, named("outcomes", outcome))
            outcomes.append({"head": head, "kpis": kpis, "withheld": _count([head, *kpis])})
            rows += [head, *kpis]
        head = line("dimension", dimension, named("dimensions", dimension))
        groups.append(
            {"head": head, "outcomes": outcomes, "withheld": _count([head, *rows])}
        )
    loose = [line("kpi", c, named("kpis", c)) for lv, c in sorted(keys) if lv == "kpi"]
    loose = [r for r in loose if ("kpi", r["code"]) not in placed]
    overall = (
        line("overall", "overall", "Overall") if ("overall", "overall") in keys else None
    )
    base = {"member": code, "year": t, "cycle": cycle}
    now_size = now_head["position"]["size"]
    context: Context = {
        "member": code,
        "name": member_name(code),
        "reference_year": t,
        "cycle": name,
        "audience": reader.audience(code),
        "now": now_head,
        "then": then_head,
        "withheld_now": len(now_hidden),
        "withheld_then": len(then_hidden),
        "groups": groups,
        "loose": loose,
        "overall": overall,
        "publications": [
            {"value": f"{name}@{n}", "label": f"publication {n} (cut at log size {cut})"}
            for n, (_, cut) in enumerate(found, 1)
        ],
        "published": chosen,
        "cuts": [cut for _, cut in found],
        "log_size": ledger.log_size(),
        "as_of": when,
        "at_size": now_size,
        "diff": url(
            "/ui/diff",
            **base,
            from_=f"size:{then_head['position']['size']}",
            to=f"size:{now_size}",
        )
        if then_head
        else None,
        "scores": url("/ui/scores", **base),
        "history": url("/ui/history", **base),
    }
    names = restricted_score_names([*now_rows.values(), *then_rows.values()])
    return View(context, {code: sorted(set(names))})


def _count(rows: list[dict[str, Any]]) -> int:
    """How many of ``rows`` read "withheld" in some column."""
    return sum(
        bool(r["now"]["withheld"] or (r["then"] is not None and r["then"]["withheld"]))
        for r in rows
    )
