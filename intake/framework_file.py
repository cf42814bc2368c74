"""The framework file: dimensions, expected outcomes, KPIs and scoring as TOML.

``docs/framework-file.md`` documents the format. ``load_framework`` reads and
checks a file (every problem named by line or key, nothing half-read);
``plan`` compares it with the framework the ledger holds and lists the
definition statements that make the ledger match it: ``*.defined`` for what is
new, ``*.revised`` (applying from a stated reference year, with a reason) for
what changed. Definitions are never deleted, so a file that leaves one out is
refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from intake.errors import FrameworkFileError, TomlTextError
from intake.toml_text import decimal_strings, read_toml
from verify.errors import VerifyError
from verify.formats.schema import check_body, statement_type
from verify.scoring.methods import method_inputs
from verify.scoring.scoreboard import Scoreboard

_SECTIONS = {"framework", "dimensions", "outcomes", "kpis"}
_FRAMEWORK_KEYS = {"title", "aggregation", "applies_from", "reason"}
# File keys per definition kind (besides ``applies_from`` and ``reason``).
_KEYS = {
    "dimension": ("name", "aggregation", "weight"),
    "outcome": ("dimension", "name", "aggregation", "weight", "illustrative"),
    "kpi": (
        *("outcome", "name", "unit", "value_kind", "direction", "disclosure"),
        *("scoring", "weight", "illustrative"),
    ),
}
_GROUPS = {"dimension": "dimensions", "outcome": "outcomes", "kpi": "kpis"}


@dataclass(frozen=True)
class Definition:
    """One definition from the file: its kind, code, body and where it came from."""

    kind: str  # dimension | outcome | kpi
    code: str
    body: dict[str, Any]  # the statement body, without applies_from/reason
    applies_from: int
    reason: str | None
    key: str  # e.g. kpis.KPI-07


@dataclass(frozen=True)
class FrameworkFile:
    path: str
    title: str
    aggregation: str
    definitions: tuple[Definition, ...]


def load_framework(path: str | Path) -> FrameworkFile:
    """Read and check a framework file, or raise ``FrameworkFileError`` (every problem)."""
    name = str(path)
    try:
        data = read_toml(Path(path), parse_float=Decimal)
    except OSError as exc:
        raise FrameworkFileError(name, [f"cannot read the file: {exc.strerror}"]) from None
    except TomlTextError as exc:
        raise FrameworkFileError(name, [f"invalid TOML: {exc}"]) from None
    problems: list[str] = []
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        problems.append(
            f"unknown section(s) {', '.join(unknown)}; allowed: framework, "
            "dimensions, outcomes, kpis"
        )
    head = data.get("framework", {})
    if not isinstance(head, dict):
        problems.append("framework: must be a table ([framework] with a title)")
        head = {}
    for key in sorted(set(head) - _FRAMEWORK_KEYS):
        problems.append(
            f"framework.{key}: unknown key; allowed: {', '.join(sorted(_FRAMEWORK_KEYS))}"
        )
    if not isinstance(head.get("title"), str) or not head["title"].strip():
        problems.append("framework.title: required, a non-empty text")
    default_year = head.get("applies_from")
    definitions: list[Definition] = []
    for kind, group in _GROUPS.items():
        section = data.get(group, {})
        if not isinstance(section, dict):
            problems.append(f"{group}: must be a table of codes")
            continue
        for code, entry in section.items():
            definitions.extend(
                _definition(kind, code, entry, default_year, head.get("reason"), problems)
            )
    checked = FrameworkFile(
        name,
        str(head.get("title", "")),
        head.get("aggregation", "mean"),
        tuple(definitions),
    )
    _check_framework(checked, problems)
    problems.extend(_check_references(checked))
    if problems:
        raise FrameworkFileError(name, problems)
    return checked


def _definition(
    kind: str,
    code: str,
    entry: Any,
    default_year: Any,
    default_reason: Any,
    problems: list[str],
) -> list[Definition]:
    key = f"{_GROUPS[kind]}.{code}"
    if not isinstance(entry, dict):
        problems.append(f"{key}: must be a table")
        return []
    allowed = {*_KEYS[kind], "applies_from", "reason"}
    for extra in sorted(set(entry) - allowed):
        problems.append(
            f"{key}.{extra}: unknown key; allowed: {', '.join(sorted(allowed))}"
        )
    body = {
        "code": code,
        **{k: decimal_strings(entry[k]) for k in _KEYS[kind] if k in entry},
    }
    if kind == "kpi" and "scoring" in body:
        body["scoring_method"] = body.pop("scoring")
    year = entry.get("applies_from", default_year)
    if not isinstance(year, int) or isinstance(year, bool):
        problems.append(f"{key}.applies_from: required (or framework.applies_from), a year")
        year = 0
    reason = entry.get("reason", default_reason)
    statement = f"{kind}.defined"
    trial = {**body, "applies_from": year} if kind == "kpi" else body
    try:
        check_body(statement_type(statement), trial)
    except VerifyError as exc:
        problems.append(f"{key}: {_without_prefix(str(exc), statement)}")
        return []
    return [Definition(kind, code, body, year, reason, key)]


def _without_prefix(message: str, statement: str) -> str:
    # "kpi.defined: body.scoring_method ..." → "scoring ..." (the file's own key).
    message = message.removeprefix(f"{statement}: ").replace(
        "body.scoring_method", "scoring"
    )
    return message.replace("body.", "")


def _check_framework(spec: FrameworkFile, problems: list[str]) -> None:
    try:
        check_body(
            statement_type("framework.created"),
            {"title": spec.title or "-", "aggregation": spec.aggregation},
        )
    except VerifyError as exc:
        problems.append(f"framework: {_without_prefix(str(exc), 'framework.created')}")


def _check_references(spec: FrameworkFile) -> list[str]:
    codes = {kind: {d.code for d in spec.definitions if d.kind == kind} for kind in _GROUPS}
    problems = []
    for d in spec.definitions:
        parent = {"outcome": ("dimension", "dimension"), "kpi": ("outcome", "outcome")}.get(
            d.kind
        )
        if parent and d.body[parent[0]] not in codes[parent[1]]:
            problems.append(
                f"{d.key}.{parent[0]}: names {parent[1]} {d.body[parent[0]]!r}, "
                "which the file does not define"
            )
    kpis = {d.code: d for d in spec.definitions if d.kind == "kpi"}
    for d in kpis.values():
        for name in method_inputs(d.body["scoring_method"]):
            if name not in kpis:
                problems.append(
                    f"{d.key}.scoring: reads KPI {name!r}, which the file does not define"
                )
    cycle = _cycle({c: method_inputs(d.body["scoring_method"]) for c, d in kpis.items()})
    if cycle:
        problems.append(
            f"{kpis[cycle[0]].key}.scoring: a cycle in aggregation: "
            f"{' -> '.join(cycle)}; a derived KPI cannot depend on itself"
        )
    return problems


def _cycle(graph: Mapping[str, tuple[str, ...]]) -> list[str] | None:
    """A path that returns to its start, if the dependency graph has one."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def _ordered(spec: FrameworkFile) -> list[Definition]:
    """Dimensions, then outcomes, then KPIs with a derived KPI after what it reads."""
    kpis = {d.code: d for d in spec.definitions if d.kind == "kpi"}
    done: list[Definition] = []

    def add(d: Definition) -> None:
        if d in done:
            return
        for name in method_inputs(d.body["scoring_method"]):
            add(kpis[name])
        done.append(d)

    for d in spec.definitions:
        if d.kind != "kpi":
            done.append(d)
    done.sort(key=lambda d: (d.kind != "dimension", d.kind != "outcome"))
    for d in sorted(kpis.values(), key=lambda d: d.code):
        add(d)
    return done


def plan(
    spec: FrameworkFile, current: Scoreboard | None
) -> list[tuple[str, dict[str, Any]]]:
    """The (statement type, body) pairs that make the ledger's framework match the file."""
    statements: list[tuple[str, dict[str, Any]]] = []
    if current is None:
        created: dict[str, Any] = {"title": spec.title}
        if spec.aggregation != "mean":
            created["aggregation"] = spec.aggregation
        statements.append(("framework.created", created))
        current = Scoreboard()
    elif spec.aggregation != current.overall:
        raise FrameworkFileError(
            spec.path,
            [
                f"framework.aggregation: the ledger's framework aggregates dimensions by "
                f"{current.overall!r}; the overall aggregation is fixed when it is created"
            ],
        )
    held = {
        "dimension": current.dimensions,
        "outcome": current.outcomes,
        "kpi": current.kpis,
    }
    problems = []
    for kind, group in held.items():
        mine = {d.code for d in spec.definitions if d.kind == kind}
        problems += [
            f"{_GROUPS[kind]}.{code}: defined in the ledger but missing from the file; "
            "definitions are never deleted"
            for code in sorted(set(group) - mine)
        ]
    for d in _ordered(spec):
        versions = held[d.kind].get(d.code)
        if not versions:
            body = {**d.body, "applies_from": d.applies_from} if d.kind == "kpi" else d.body
            statements.append((f"{d.kind}.defined", body))
            continue
        last = {
            k: v
            for k, v in versions[-1].body.items()
            if k not in ("applies_from", "reason")
        }
        if last == d.body:
            continue
        if not d.reason:
            problems.append(f"{d.key}: changed, so it needs a reason (or framework.reason)")
            continue
        statements.append(
            (
                f"{d.kind}.revised",
                {**d.body, "applies_from": d.applies_from, "reason": d.reason},
            )
        )
    if problems:
        raise FrameworkFileError(spec.path, problems)
    return statements
