"""The KPI framework file and DataBank CSV: round trips, never a crash.

A framework written from a generated spec loads back as that spec
(intake/framework_file.py, docs/framework-file.md); a DataBank export
written from generated rows reads back as those rows
(intake/databank_file.py, docs/import.md). Mutated and TOML- or CSV-ish
noise is refused with ``FrameworkFileError`` / ``ImportFileError`` only, in
bounded time and memory (``tests/fuzz/targets.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given

from intake.databank_file import read_databank
from intake.framework_file import load_framework
from tests.fuzz import targets
from tests.fuzz.strategies import FUZZ, hostile
from tests.fuzz.strategies_files import (
    DATABANK_BYTES,
    FRAMEWORK_BYTES,
    THRESHOLDS_BYTES,
    TOML_PIECES,
    databank_csv,
    databank_tables,
    framework_specs,
    framework_toml,
)


@FUZZ
@given(spec=framework_specs())
def test_a_framework_file_loads_as_written(
    spec: dict[str, Any], tmp_path_factory: Any
) -> None:
    path = Path(tmp_path_factory.mktemp("framework")) / "framework.toml"
    path.write_text(framework_toml(spec), "utf-8")
    loaded = load_framework(path)
    assert loaded.title == spec["title"]
    found = {(d.kind, d.code): d for d in loaded.definitions}
    for group, kind in (
        ("dimensions", "dimension"),
        ("outcomes", "outcome"),
        ("kpis", "kpi"),
    ):
        for code, entry in spec[group].items():
            definition = found.pop((kind, code))
            body = {**entry, "code": code}
            if kind == "kpi":
                body["scoring_method"] = body.pop("scoring")
            assert definition.body == body
            assert definition.applies_from == spec["year"]
    assert not found, f"definitions the file does not hold: {sorted(found)}"


@FUZZ
@given(table=databank_tables())
def test_a_databank_export_reads_as_written(
    table: tuple[list[int], list[list[str]]], tmp_path_factory: Any
) -> None:
    years, rows = table
    path = Path(tmp_path_factory.mktemp("databank")) / "export.csv"
    path.write_bytes(databank_csv(years, rows))
    read = read_databank(path)
    assert read.years == tuple(years)
    assert read.database == "Doing Business"
    assert not read.malformed
    got = [
        [r.country_name, r.country, r.series_name, r.series, *r.cells] for r in read.rows
    ]
    assert got == rows


@FUZZ
@given(hostile(FRAMEWORK_BYTES) | TOML_PIECES)
def test_mutated_framework_files_are_refused_cleanly(data: bytes) -> None:
    targets.run("framework", data)


@FUZZ
@given(hostile(DATABANK_BYTES))
def test_mutated_databank_files_are_refused_cleanly(data: bytes) -> None:
    targets.run("databank", data)


@FUZZ
@given(data=hostile(THRESHOLDS_BYTES) | TOML_PIECES)
def test_mutated_thresholds_files_are_refused_cleanly(data: bytes) -> None:
    targets.run("thresholds", data)
