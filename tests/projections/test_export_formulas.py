"""Text recorded in signed statements never becomes a live spreadsheet formula in
an export (docs/decisions.md 19), on SQLite and PostgreSQL: correction reasons
that look like formulas go through ``pmm history``/``pmm diff --out`` and
``GET /exports/...`` as CSV and XLSX, and are read back as text."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl
import pytest
from fastapi.testclient import TestClient

from api.http import create_app
from projections.changes import diff
from projections.exports import changes_frame, formula_like, history_frame, write

if TYPE_CHECKING:
    from tests.conftest import World

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "\tx", "\rx"]
DATA = ["-3.5", "12", "hours were counted in days"]  # text that stays as it is


@pytest.fixture
def reasons(world: World) -> list[str]:
    """Kenya's hours, then one correction for each reason, each superseding the last."""
    previous = world.hours(world.ncp_ken, world.KEN, "12").stream_version
    for index, reason in enumerate([*FORMULAS, *DATA]):
        body = world.value_body(
            world.KPI_HOURS,
            {"amount": str(13 + index)},
            "hours",
            kind="correction",
            reason=reason,
            supersedes=previous,
        )
        previous = world.record(
            world.ncp_ken, world.KEN, "value.corrected", body
        ).stream_version
    return [*FORMULAS, *DATA]


def csv_column(data: bytes, name: str) -> list[str]:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    return [row[name] for row in rows if row[name]]


def expected_csv(reasons: list[str]) -> list[str]:
    return ["'" + r if r in FORMULAS else r for r in reasons]


def test_formula_like() -> None:
    assert all(formula_like(text) for text in FORMULAS)
    assert not any(formula_like(text) for text in [*DATA, "0", "-0.25", "", "a=b"])
    assert not formula_like(-3.5) and not formula_like(None)


def test_history_and_diff_files_hold_formulas_as_text(
    world: World, reasons: list[str], tmp_path: Path
) -> None:
    frames = {
        "history": history_frame(world.ledger, "KEN", world.REFERENCE_YEAR, "public"),
        "diff": changes_frame(
            diff(world.ledger, "KEN", world.REFERENCE_YEAR, start="size:0"), "public"
        ),
    }
    for name, frame in frames.items():
        write(frame, tmp_path / f"{name}.csv")
        assert csv_column((tmp_path / f"{name}.csv").read_bytes(), "reason") == (
            expected_csv(reasons)
        )
        write(frame, tmp_path / f"{name}.xlsx")
        sheet = openpyxl.load_workbook(tmp_path / f"{name}.xlsx").active
        assert sheet is not None
        header = [cell.value for cell in sheet[1]]
        column = header.index("reason") + 1
        cells = [
            row[column - 1] for row in sheet.iter_rows(min_row=2) if row[column - 1].value
        ]
        assert [cell.data_type for cell in cells] == ["s"] * len(reasons)
        # XML reads a carriage return back as a line feed; the text is the same.
        assert [str(cell.value).replace("\n", "\r") for cell in cells] == reasons


def test_http_csv_exports_hold_formulas_as_text(world: World, reasons: list[str]) -> None:
    app = create_app(world.ledger.settings, ledger=world.ledger)
    query = f"member=KEN&year={world.REFERENCE_YEAR}"
    with TestClient(app) as client:
        for path in (
            f"/exports/history.csv?{query}",
            f"/exports/diff.csv?{query}&from=size:0",
        ):
            answer = client.get(path)
            assert answer.status_code == 200, answer.text
            assert csv_column(answer.content, "reason") == expected_csv(reasons)
