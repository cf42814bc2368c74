"""The framework file (``intake/framework_file.py``) and ``pmm framework apply``.

``load_framework`` reads a TOML file and refuses it, naming the file and the key
(or the line) and the reason, when anything in it is wrong; ``plan`` lists the
definition statements that make the ledger's framework match the file. Then the
same end to end on SQLite and PostgreSQL: ``api.cli.framework.apply_framework``
on the shared ``world`` and the ``pmm framework apply`` command.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.cli.framework import apply_framework, current_framework
from intake.errors import FrameworkFileError
from intake.framework_file import FrameworkFile, load_framework, plan
from ledger.errors import DomainRuleError, RoleNotPermittedError
from ledger.home import open_ledger
from ledger.persistence import Settings
from verify.formats.entry import Entry
from verify.formats.schema import check_body, statement_type
from verify.formats.statement import SignedStatement
from verify.scoring.scoreboard import Scoreboard

if TYPE_CHECKING:
    from tests.conftest import World

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "api" / "frameworks" / "pmm-demo.toml"
runner = CliRunner()

HEAD = """\
[framework]
title = "PMM test framework"
applies_from = 2021

[dimensions.D1]
name = "Trade Facilitation and Economic Competitiveness"

[outcomes."D1.EO1"]
dimension = "D1"
name = "Paperless trade"
"""
LINEAR = '{ method = "linear", best = "100", worst = "0" }'


def kpi_toml(
    code: str,
    scoring: str = LINEAR,
    *,
    outcome: str = "D1.EO1",
    kind: str = "percentage",
    unit: str = "percent",
    direction: str = "higher_is_better",
    extra: str = "",
) -> str:
    return f"""
[kpis."{code}"]
outcome = "{outcome}"
name = "KPI {code}"
unit = "{unit}"
value_kind = "{kind}"
direction = "{direction}"
disclosure = "public"
scoring = {scoring}
{extra}"""


def write(tmp_path: Path, text: str, name: str = "framework.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path, *phrases: str) -> FrameworkFileError:
    """``load_framework(path)`` must refuse, naming the file and every phrase."""
    with pytest.raises(FrameworkFileError) as caught:
        load_framework(path)
    message = str(caught.value)
    assert caught.value.path == str(path)
    assert message.startswith(f"{path}: ") and "nothing applied" in message
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    return caught.value


def board_of(statements: Sequence[tuple[str, dict[str, Any]]]) -> Scoreboard:
    """The framework a ledger would hold after recording ``statements``."""
    board = Scoreboard()
    for index, (kind, body) in enumerate(statements):
        entry = Entry(
            raw=b"",
            signed=SignedStatement({"type": kind, "body": body}, ""),
            stream="framework",
            stream_version=index + 1,
            recorded_at="2026-03-02T09:00:00.000000Z",
            entry_type=kind,
        )
        board.apply(index, entry)
    return board


# -- the demo file ---------------------------------------------------------------------


def test_the_demo_file_loads_and_plans_79_statements() -> None:
    spec = load_framework(DEMO)
    kinds = [d.kind for d in spec.definitions]
    assert (kinds.count("dimension"), kinds.count("outcome"), kinds.count("kpi")) == (
        4,
        23,
        51,
    )
    assert spec.title == "PMM framework, version 1" and spec.aggregation == "mean"
    statements = plan(spec, None)
    assert len(statements) == 79
    types = [kind for kind, _ in statements]
    assert types == [
        "framework.created",
        *["dimension.defined"] * 4,
        *["outcome.defined"] * 23,
        *["kpi.defined"] * 51,
    ]
    assert statements[0] == ("framework.created", {"title": "PMM framework, version 1"})
    for kind, body in statements:  # every body is what the ledger admits
        check_body(statement_type(kind), body)
    kpis = {body["code"]: body for kind, body in statements if kind == "kpi.defined"}
    assert kpis["KPI-01"] == {
        "applies_from": 2021,
        "code": "KPI-01",
        "direction": "higher_is_better",
        "disclosure": "public",
        "name": "Rate of electronic declarations",
        "outcome": "D1.EO1",
        "scoring_method": {"method": "linear", "best": "100", "worst": "0"},
        "unit": "percent",
        "value_kind": "percentage",
    }
    # Planned against what it plans, the file has nothing more to say.
    assert plan(spec, board_of(statements)) == []


# -- refusals: every problem named by key (or line) and reason, nothing applied ----------


def test_an_unknown_method_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + kpi_toml("K1", '{ method = "z_score" }'))
    error = refused(path)
    assert error.problems == (
        "kpis.K1: scoring has unknown method 'z_score'; known methods: "
        "linear, thresholds, as_score, ratio, variation",
    )


def test_best_equal_to_worst_is_refused(tmp_path: Path) -> None:
    scoring = '{ method = "linear", best = "5", worst = "5" }'
    path = write(tmp_path, HEAD + kpi_toml("K1", scoring, kind="number", unit="hours"))
    error = refused(path)
    assert error.problems == (
        "kpis.K1: scoring best and worst are both 5: the scale has no width",
    )


def test_best_on_the_wrong_side_for_the_direction_is_refused(tmp_path: Path) -> None:
    scoring = '{ method = "linear", best = "240", worst = "1" }'
    text = HEAD + kpi_toml(
        "K1", scoring, kind="number", unit="hours", direction="lower_is_better"
    )
    refused(
        write(tmp_path, text),
        "kpis.K1: scoring best must be below worst for a lower_is_better KPI",
    )


def test_a_cycle_of_derived_ratios_is_refused(tmp_path: Path) -> None:
    text = (
        HEAD
        + kpi_toml("K1", kind="number", unit="count")
        + kpi_toml(
            "K2",
            '{ method = "ratio", numerator = "K3", denominator = "K1" }',
            kind="ratio",
            unit="ratio",
        )
        + kpi_toml(
            "K3",
            '{ method = "ratio", numerator = "K2", denominator = "K1" }',
            kind="ratio",
            unit="ratio",
        )
    )
    error = refused(write(tmp_path, text))
    assert error.problems == (
        "kpis.K2.scoring: a cycle in aggregation: K2 -> K3 -> K2; "
        "a derived KPI cannot depend on itself",
    )


def test_a_derived_ratio_that_reads_itself_is_refused(tmp_path: Path) -> None:
    derived = '{ method = "ratio", numerator = "K2", denominator = "K3" }'
    text = (
        HEAD
        + kpi_toml("K2", derived, kind="ratio", unit="ratio")
        + kpi_toml("K3", derived, kind="ratio", unit="ratio")
    )
    refused(write(tmp_path, text), "kpis.K2.scoring: a cycle in aggregation: K2 -> K2")


def test_a_missing_referenced_kpi_is_refused(tmp_path: Path) -> None:
    derived = '{ method = "ratio", numerator = "K9", denominator = "K1" }'
    text = HEAD + kpi_toml("K1") + kpi_toml("K2", derived, kind="ratio", unit="ratio")
    error = refused(write(tmp_path, text))
    assert error.problems == (
        "kpis.K2.scoring: reads KPI 'K9', which the file does not define",
    )


def test_an_outcome_naming_an_undefined_dimension_is_refused(tmp_path: Path) -> None:
    text = HEAD + '\n[outcomes."D9.EO1"]\ndimension = "D9"\nname = "Nowhere"\n'
    error = refused(write(tmp_path, text))
    assert error.problems == (
        "outcomes.D9.EO1.dimension: names dimension 'D9', which the file does not define",
    )


def test_a_kpi_naming_an_undefined_outcome_is_refused(tmp_path: Path) -> None:
    error = refused(write(tmp_path, HEAD + kpi_toml("K1", outcome="D1.EO7")))
    assert error.problems == (
        "kpis.K1.outcome: names outcome 'D1.EO7', which the file does not define",
    )


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    text = HEAD + kpi_toml("K1") + '\n[kpis."K2"\nname = "unclosed"\n'
    line = text.splitlines().index('[kpis."K2"') + 1
    error = refused(write(tmp_path, text), "invalid TOML", f"line {line}")
    assert len(error.problems) == 1


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    error = refused(write(tmp_path, HEAD + kpi_toml("K1", extra='colour = "red"\n')))
    assert error.problems == (
        "kpis.K1.colour: unknown key; allowed: applies_from, direction, disclosure, "
        "illustrative, name, outcome, reason, scoring, unit, value_kind, weight",
    )


def test_unknown_sections_and_framework_keys_are_refused(tmp_path: Path) -> None:
    text = HEAD.replace("applies_from = 2021", "applies_from = 2021\nowner = 'WCO'")
    text += "\n[pillars.P1]\nname = 'PMM has no pillars'\n"
    refused(
        write(tmp_path, text),
        "unknown section(s) pillars; allowed: framework, dimensions, outcomes, kpis",
        "framework.owner: unknown key; allowed: aggregation, applies_from, reason, title",
    )


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = (
        HEAD.replace('title = "PMM test framework"\n', "")
        + kpi_toml("K1", '{ method = "z_score" }')
        + kpi_toml("K2", outcome="D1.EO9")
        + kpi_toml("K3", '{ method = "linear", best = "1" }')
    )
    error = refused(write(tmp_path, text))
    assert error.problems == (
        "framework.title: required, a non-empty text",
        "kpis.K1: scoring has unknown method 'z_score'; known methods: "
        "linear, thresholds, as_score, ratio, variation",
        "kpis.K3: scoring linear needs worst",
        "kpis.K2.outcome: names outcome 'D1.EO9', which the file does not define",
    )
    assert str(error).count(f"  {tmp_path / 'framework.toml'}: ") == 4


def test_a_definition_needs_a_year(tmp_path: Path) -> None:
    text = HEAD.replace("applies_from = 2021\n", "") + kpi_toml(
        "K1", extra="applies_from = 2023\n"
    )
    error = refused(write(tmp_path, text))
    assert error.problems == (
        "dimensions.D1.applies_from: required (or framework.applies_from), a year",
        "outcomes.D1.EO1.applies_from: required (or framework.applies_from), a year",
    )


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    refused(tmp_path / "absent.toml", "cannot read the file")
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[framework]\ntitle = "Douane fran\xe7aise"\n')
    refused(path, "invalid TOML")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "framework = 1\n",
            id="number",
        ),
        pytest.param(
            'framework = "PMM"\n',
            id="text",
        ),
        pytest.param("kpis = 3\n[framework]\ntitle = 'T'\n", id="kpis"),
    ],
)
def test_a_section_that_is_not_a_table_is_refused(tmp_path: Path, text: str) -> None:
    refused(write(tmp_path, text), "must be a table")


def test_an_empty_title_is_refused(tmp_path: Path) -> None:
    text = HEAD.replace('title = "PMM test framework"', 'title = ""') + kpi_toml("K1")
    refused(write(tmp_path, text), "framework.title")


def test_toml_numbers_are_read_exactly_as_decimals(tmp_path: Path) -> None:
    scoring = '{ method = "linear", best = 2.5, worst = 0.1 }'
    thresholds = '{ method = "thresholds", cuts = [1e3, 1500.50], scores = [0, 40.5, 100] }'
    text = (
        HEAD
        + kpi_toml("K1", scoring, kind="ratio", unit="ratio", extra="weight = 2.50\n")
        + kpi_toml("K2", thresholds, kind="number", unit="count", extra="weight = 3\n")
    )
    spec = load_framework(write(tmp_path, text))
    bodies = {d.code: d.body for d in spec.definitions}
    # Not 0.1000000000000000055511151231257827 (the binary float 0.1).
    assert bodies["K1"]["scoring_method"] == {
        "method": "linear",
        "best": "2.5",
        "worst": "0.1",
    }
    assert bodies["K1"]["weight"] == "2.5"
    assert bodies["K2"]["scoring_method"]["cuts"] == ["1000", "1500.5"]
    assert bodies["K2"]["scoring_method"]["scores"] == ["0", "40.5", "100"]
    assert bodies["K2"]["weight"] == "3"
    # Strings are taken as written.
    text = HEAD + kpi_toml("K3", '{ method = "linear", best = "2.50", worst = "0" }')
    spec = load_framework(write(tmp_path, text, "strings.toml"))
    assert spec.definitions[-1].body["scoring_method"]["best"] == "2.50"


# -- plan against the framework the ledger holds ---------------------------------------

PLANNED = HEAD + kpi_toml("K1") + kpi_toml("K2", kind="number", unit="hours")


def held(tmp_path: Path, text: str = PLANNED) -> Scoreboard:
    """A ledger's framework made from ``text``."""
    return board_of(plan(load_framework(write(tmp_path, text, "held.toml")), None))


def test_plan_orders_derived_kpis_after_what_they_read(tmp_path: Path) -> None:
    derived = '{ method = "ratio", numerator = "K1", denominator = "K2" }'
    text = (
        HEAD
        + kpi_toml("K0", derived, kind="ratio", unit="ratio")
        + kpi_toml("K2", kind="number", unit="count")
        + kpi_toml("K1", kind="number", unit="count")
    )
    statements = plan(load_framework(write(tmp_path, text)), None)
    assert [body["code"] for _, body in statements[1:]] == [
        "D1",
        "D1.EO1",
        "K1",
        "K2",
        "K0",
    ]


def test_plan_with_nothing_changed_is_empty(tmp_path: Path) -> None:
    spec = load_framework(write(tmp_path, PLANNED))
    assert plan(spec, held(tmp_path)) == []


def test_plan_a_new_kpi(tmp_path: Path) -> None:
    text = PLANNED + kpi_toml("K3", extra="applies_from = 2024\n")
    statements = plan(load_framework(write(tmp_path, text)), held(tmp_path))
    assert [(kind, body["code"], body["applies_from"]) for kind, body in statements] == [
        ("kpi.defined", "K3", 2024)
    ]


def test_plan_a_changed_kpi_as_a_revision(tmp_path: Path) -> None:
    text = HEAD + kpi_toml(
        "K1",
        '{ method = "linear", best = "90", worst = "10" }',
        extra='applies_from = 2023\nreason = "the frontier moved"\n',
    )
    text += kpi_toml("K2", kind="number", unit="hours")
    statements = plan(load_framework(write(tmp_path, text)), held(tmp_path))
    assert statements == [
        (
            "kpi.revised",
            {
                "applies_from": 2023,
                "code": "K1",
                "direction": "higher_is_better",
                "disclosure": "public",
                "name": "KPI K1",
                "outcome": "D1.EO1",
                "reason": "the frontier moved",
                "scoring_method": {"method": "linear", "best": "90", "worst": "10"},
                "unit": "percent",
                "value_kind": "percentage",
            },
        )
    ]
    check_body(statement_type("kpi.revised"), statements[0][1])


def test_plan_a_changed_dimension_with_the_framework_reason(tmp_path: Path) -> None:
    text = PLANNED.replace(
        "applies_from = 2021", 'applies_from = 2024\nreason = "WCO Council decision"'
    ).replace('name = "Trade Facilitation', 'weight = "2"\nname = "Trade Facilitation')
    statements = plan(load_framework(write(tmp_path, text)), held(tmp_path))
    assert statements == [
        (
            "dimension.revised",
            {
                "applies_from": 2024,
                "code": "D1",
                "name": "Trade Facilitation and Economic Competitiveness",
                "reason": "WCO Council decision",
                "weight": "2",
            },
        )
    ]


def test_a_change_without_a_reason_is_refused_naming_the_key(tmp_path: Path) -> None:
    text = PLANNED.replace('name = "KPI K2"', 'name = "Release time, in hours"')
    spec = load_framework(write(tmp_path, text))
    with pytest.raises(FrameworkFileError) as caught:
        plan(spec, held(tmp_path))
    assert caught.value.problems == (
        "kpis.K2: changed, so it needs a reason (or framework.reason)",
    )


def test_a_definition_missing_from_the_file_is_refused(tmp_path: Path) -> None:
    spec = load_framework(write(tmp_path, HEAD + kpi_toml("K1")))
    with pytest.raises(FrameworkFileError) as caught:
        plan(spec, held(tmp_path))
    assert caught.value.problems == (
        "kpis.K2: defined in the ledger but missing from the file; "
        "definitions are never deleted",
    )
    assert "nothing applied" in str(caught.value)


def test_the_overall_aggregation_is_fixed(tmp_path: Path) -> None:
    text = PLANNED.replace(
        "applies_from = 2021", 'applies_from = 2021\naggregation = "min"'
    )
    with pytest.raises(FrameworkFileError) as caught:
        plan(load_framework(write(tmp_path, text)), held(tmp_path))
    assert caught.value.problems == (
        "framework.aggregation: the ledger's framework aggregates dimensions by "
        "'mean'; the overall aggregation is fixed when it is created",
    )


# -- end to end on the ledger (SQLite and PostgreSQL) ----------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }"
    raise TypeError(f"no TOML for {value!r}")


def restated(
    board: Scoreboard, applies_from: int, changes: dict[str, dict[str, Any]] | None = None
) -> str:
    """A framework file saying exactly what ``board`` holds (latest versions), with
    the body keys in ``changes`` (by code) replaced."""
    changes = changes or {}
    lines = [
        "[framework]",
        'title = "Restated from the ledger"',
        f"aggregation = {toml_value(board.overall)}",
        f"applies_from = {applies_from}",
    ]
    groups = (
        ("dimensions", board.dimensions),
        ("outcomes", board.outcomes),
        ("kpis", board.kpis),
    )
    for group, definitions in groups:
        for code, versions in definitions.items():
            lines += ["", f"[{group}.{json.dumps(code)}]"]
            body = {**versions[-1].body, **changes.get(code, {})}
            for key, value in body.items():
                if key == "code" or (key == "reason" and code not in changes):
                    continue
                if key == "applies_from" and group != "kpis" and code not in changes:
                    continue
                name = "scoring" if key == "scoring_method" else key
                lines.append(f"{name} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


NEW_KPI = kpi_toml(
    "TF.1.5",
    '{ method = "linear", best = "1", worst = "240" }',
    outcome="EO.1",
    kind="number",
    unit="hours",
    direction="lower_is_better",
    extra="applies_from = 2023\n",
)


def world_file(world: World, tmp_path: Path, extra: str, name: str) -> FrameworkFile:
    board = current_framework(world.ledger)
    assert board is not None
    return load_framework(write(tmp_path, restated(board, 2015) + extra, name))


def test_apply_a_restated_framework_plus_one_kpi(world: World, tmp_path: Path) -> None:
    ledger = world.ledger
    board = current_framework(ledger)
    assert board is not None and sorted(board.kpis) == [
        world.KPI_HOURS,
        world.KPI_PERCENT,
        world.KPI_RATIO,
        world.KPI_YES_NO,
    ]
    same = world_file(world, tmp_path, "", "same.toml")
    assert plan(same, board) == []
    size = ledger.log_size()
    version = ledger.stream_version("framework")
    spec = world_file(world, tmp_path, NEW_KPI, "plus-one.toml")
    recorded = apply_framework(ledger, world.sec, spec)
    assert [(r.entry_type, r.stream, r.principal) for r in recorded] == [
        ("kpi.defined", "framework", world.sec.principal)
    ]
    assert (recorded[0].log_index, recorded[0].stream_version) == (size, version + 1)
    assert ledger.log_size() == size + 1
    after = current_framework(ledger)
    assert after is not None and after.kpis["TF.1.5"][-1].applies_from == 2023
    assert after.kpis["TF.1.5"][-1].body["scoring_method"]["worst"] == "240"
    # Applying the same file again records nothing.
    assert apply_framework(ledger, world.sec, spec) == []
    assert ledger.log_size() == size + 1


def test_apply_a_revision_from_the_file(world: World, tmp_path: Path) -> None:
    board = current_framework(world.ledger)
    assert board is not None
    change = {
        "scoring_method": {"method": "linear", "best": "48", "worst": "0"},
        "applies_from": 2023,
        "reason": "48 hours is the new frontier",
    }
    text = restated(board, 2015, {world.KPI_HOURS: change})
    size = world.ledger.log_size()
    recorded = apply_framework(
        world.ledger, world.sec, load_framework(write(tmp_path, text))
    )
    assert [r.entry_type for r in recorded] == ["kpi.revised"]
    after = current_framework(world.ledger)
    assert after is not None
    latest = after.kpis[world.KPI_HOURS][-1]
    assert (latest.number, latest.applies_from, latest.position) == (2, 2023, size)
    assert latest.body["reason"] == "48 hours is the new frontier"
    assert latest.body["scoring_method"]["best"] == "48"
    # The file now matches the ledger: nothing more to record.
    assert (
        apply_framework(world.ledger, world.sec, load_framework(write(tmp_path, text)))
        == []
    )
    # A revision may not apply from before the version it follows: the ledger refuses.
    earlier = {**change, "applies_from": 2020, "reason": "back-dated"}
    earlier["scoring_method"] = {"method": "linear", "best": "24", "worst": "0"}
    text = restated(after, 2015, {world.KPI_HOURS: earlier}) + NEW_KPI
    before = world.state()
    with pytest.raises(DomainRuleError, match="must apply from reference year 2023"):
        apply_framework(world.ledger, world.sec, load_framework(write(tmp_path, text)))
    assert world.state() == before  # TF.1.5, though fine, was not recorded either


def test_a_bad_file_records_nothing(world: World, tmp_path: Path) -> None:
    before = world.state()
    bad = NEW_KPI.replace('method = "linear"', 'method = "z_score"')
    with pytest.raises(FrameworkFileError) as caught:
        world_file(world, tmp_path, bad, "bad.toml")
    assert "kpis.TF.1.5: scoring has unknown method 'z_score'" in str(caught.value)
    assert world.state() == before
    # Changed without a reason: refused by plan, before anything is signed.
    board = current_framework(world.ledger)
    assert board is not None
    text = restated(board, 2015).replace("KPI TF.1.2", "Renamed") + NEW_KPI
    with pytest.raises(FrameworkFileError, match=r"kpis\.TF\.1\.2: changed"):
        apply_framework(world.ledger, world.sec, load_framework(write(tmp_path, text)))
    assert world.state() == before


def test_a_batch_the_ledger_refuses_records_nothing(world: World, tmp_path: Path) -> None:
    """The file is read fine, the ledger refuses one statement: all or nothing."""
    before = world.state()
    wrong_unit = kpi_toml(
        "TF.1.6", outcome="EO.1", unit="hours", extra="applies_from = 2023\n"
    )
    spec = world_file(world, tmp_path, NEW_KPI + wrong_unit, "units.toml")
    assert [body["code"] for _, body in plan(spec, current_framework(world.ledger))] == [
        "TF.1.5",
        "TF.1.6",
    ]
    with pytest.raises(DomainRuleError, match="a percentage value is measured in percent"):
        apply_framework(world.ledger, world.sec, spec)
    assert world.state() == before  # TF.1.5, though fine, was not recorded either


def test_only_the_secretariat_may_apply(world: World, tmp_path: Path) -> None:
    before = world.state()
    spec = world_file(world, tmp_path, NEW_KPI, "plus-one.toml")
    with pytest.raises(RoleNotPermittedError):
        apply_framework(world.ledger, world.ncp_ken, spec)
    assert world.state() == before


# -- pmm framework apply ---------------------------------------------------------------


def pmm(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    result = runner.invoke(app, [*args, "--home", str(settings.home)], env=env)
    return result.exit_code, result.output


def log_size(settings: Settings) -> int:
    ledger = open_ledger(settings)
    try:
        return ledger.log_size()
    finally:
        ledger.close()


def test_cli_framework_apply(settings: Settings, tmp_path: Path) -> None:
    code, output = pmm(settings, "init", "--origin", "cli.example/ledger")
    assert code == 0, output
    key = settings.home / "keys" / "wco-sec.key"
    assert runner.invoke(app, ["keygen", "wco-sec", "--out", str(key)]).exit_code == 0
    code, output = pmm(
        settings,
        "principal",
        "add",
        "wco-sec",
        "--role",
        "secretariat",
        "--public-key",
        str(key),
        "--as",
        "admin",
        "--approve",
        "admin-2",
    )
    assert code == 0, output
    size = log_size(settings)

    # --dry-run lists what would be recorded, and records nothing.
    code, output = pmm(
        settings, "framework", "apply", str(DEMO), "--as", "wco-sec", "--dry-run"
    )
    assert code == 0, output
    assert "would record 79 definition statement(s)" in output
    assert "framework.created" in output and "KPI-51" in output
    code, output = pmm(
        settings, "framework", "apply", str(DEMO), "--as", "wco-sec", "--dry-run", "--json"
    )
    assert code == 0, output
    dry = json.loads(output)
    assert dry["dry_run"] is True and len(dry["statements"]) == 79
    assert dry["statements"][:2] == [
        {"type": "framework.created", "code": ""},
        {"type": "dimension.defined", "code": "D1"},
    ]
    assert log_size(settings) == size

    code, output = pmm(
        settings, "framework", "apply", str(DEMO), "--as", "wco-sec", "--json"
    )
    assert code == 0, output
    applied = json.loads(output)["statements"]
    assert len(applied) == 79 and applied[0] == {
        "type": "framework.created",
        "stream_version": 1,
        "log_index": size,
    }
    assert [r["log_index"] for r in applied] == list(range(size, size + 79))
    assert log_size(settings) == size + 79

    code, output = pmm(settings, "framework", "apply", str(DEMO), "--as", "wco-sec")
    assert code == 0 and "nothing to apply" in output, output
    assert log_size(settings) == size + 79

    # A revision, seen first with --dry-run, then recorded.
    text = DEMO.read_text(encoding="utf-8")
    kpi_08 = 'worst = "240" }\nillustrative = true\n\n# D1.EO4'
    revised = text.replace(
        kpi_08,
        'worst = "120" }\nillustrative = true\napplies_from = 2024\n'
        'reason = "release within 5 days is now the worst case"\n\n# D1.EO4',
    )
    assert revised != text
    path = write(tmp_path, revised, "revised.toml")
    code, output = pmm(
        settings, "framework", "apply", str(path), "--as", "wco-sec", "--dry-run"
    )
    assert code == 0 and "kpi.revised" in output and "KPI-08" in output, output
    assert "would record 1 definition statement(s)" in output
    code, output = pmm(
        settings, "framework", "apply", str(path), "--as", "wco-sec", "--json"
    )
    assert code == 0, output
    assert json.loads(output)["statements"] == [
        {"type": "kpi.revised", "stream_version": 80, "log_index": size + 79}
    ]

    # A bad file: exit 2, every problem listed, nothing recorded.
    bad = revised.replace('method = "variation"', 'method = "z_score"', 1).replace(
        'outcome = "D4.EO4"', 'outcome = "D4.EO9"', 1
    )
    path = write(tmp_path, bad, "bad.toml")
    code, output = pmm(settings, "framework", "apply", str(path), "--as", "wco-sec")
    assert code == 2, output
    assert "2 problem(s), nothing applied" in output
    assert "kpis.KPI-04: scoring has unknown method 'z_score'" in output
    assert "names outcome 'D4.EO9', which the file does not define" in output
    # A change without a reason: exit 2, naming the key.
    unreasoned = text.replace('name = "Rate of electronic declarations"', 'name = "e-dec"')
    path = write(tmp_path, unreasoned, "unreasoned.toml")
    code, output = pmm(settings, "framework", "apply", str(path), "--as", "wco-sec")
    assert code == 2 and "kpis.KPI-01: changed, so it needs a reason" in output, output
    assert log_size(settings) == size + 80
