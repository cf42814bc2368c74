"""Scores, value history and changes as pandas tables, honouring disclosure.

docs/design.md §1: every read path and export honours the disclosure level the
Member chose. An audience sees what is disclosed at its level or below
(``public`` < ``wco`` < ``restricted``); a score is disclosed at the most
restrictive level of the values it was computed from (docs/scoring.md), so a
``public`` export never carries a number derived from a ``wco`` value.
Files are written by suffix: ``.csv``, ``.parquet`` or ``.xlsx``, all through
``file_bytes``, which never lets text become a live spreadsheet formula.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from ledger.application import Ledger
from projections.changes import Diff
from projections.disclosure import AUDIENCES, VALUE_TYPES, disclosure_now, visible
from projections.errors import QueryError
from projections.log_reader import LogReader
from projections.timetravel import Position, find_assessment
from verify.scoring.tables import ScoreTable

WRITERS = {".csv", ".parquet", ".xlsx"}


def check_audience(audience: str) -> None:
    if audience not in AUDIENCES:
        raise QueryError(f"audience {audience!r}: choose one of {', '.join(AUDIENCES)}")


def score_rows(table: ScoreTable, where: Position, audience: str) -> list[dict[str, Any]]:
    """One dict per visible score, with its provenance and record-time position."""
    check_audience(audience)
    return [
        {
            "member": table.member,
            "cycle": table.cycle,
            "reference_year": table.reference_year,
            "level": row.level,
            "code": row.code,
            "score": row.score,
            "status": row.status,
            "grade": row.grade,
            "method": row.method,
            "method_version": row.method_version,
            "sources": " ".join(map(str, row.sources)),
            "excluded": "; ".join(f"{c}: {r}" for c, r in row.excluded),
            "restated_by": row.restated_by,
            "disclosure": row.disclosure,
            "log_size": where.size,
        }
        for row in table.rows
        if visible(row.disclosure, audience)
    ]


SCORE_COLUMNS = [
    *("member", "cycle", "reference_year", "level", "code", "score", "status", "grade"),
    *("method", "method_version", "sources", "excluded", "restated_by", "disclosure"),
    "log_size",
]


def history_frame(
    ledger: Ledger, member: str, year: int, audience: str, cycle: str | None = None
) -> pd.DataFrame:
    """Every value recorded in the assessment, superseded ones included, in log order."""
    check_audience(audience)
    log = LogReader.of(ledger)
    stream = find_assessment(log, member, year, cycle)
    entries = log.parsed([stream], ledger.log_size())
    # Each value at its level now, superseded ones too; a correction also at
    # the level of the value it corrects, which its reason speaks of.
    levels = disclosure_now(ledger, stream)
    rows = []
    for index, entry in entries:
        body = entry.signed.body
        if entry.entry_type not in VALUE_TYPES:
            continue
        disclosure = levels.entry(entry)
        if not visible(disclosure, audience):
            continue
        rows.append(
            {
                "log_index": index,
                "entry": entry.stream_version,
                "recorded_at": entry.recorded_at,
                "entry_type": entry.entry_type,
                "principal": entry.signed.principal,
                "kpi": body["kpi"],
                "reference_year": body["reference_year"],
                "status": body["status"],
                "value": json.dumps(body.get("value"), sort_keys=True),
                "unit": body["unit"],
                "disclosure": disclosure,
                "supersedes": body.get("supersedes"),
                "kind": body.get("kind"),
                "reason": body.get("reason"),
                "evidence": " ".join(body.get("evidence", ())),
                "source": (body.get("source") or {}).get("name"),
            }
        )
    return pd.DataFrame(rows)


def changes_frame(found: Diff, audience: str) -> pd.DataFrame:
    """The diff's entries and moved scores that ``audience`` may see, one row each."""
    check_audience(audience)
    rows: list[dict[str, Any]] = [
        {"what": "entry", **{k: _text(v) for k, v in asdict(c).items()}}
        for c in found.changes
        if visible(c.disclosure, audience)
    ]
    rows += [
        {"what": "score", **{k: _text(v) for k, v in asdict(s).items()}}
        for s in found.score_changes
        if visible(s.disclosure, audience)
    ]
    return pd.DataFrame(rows)


def restricted_names(frame: pd.DataFrame) -> list[str]:
    """The rows of a scores, history or changes frame shown at ``restricted``,
    named for the access log: ``score kpi KPI-01``, ``entry 122``."""
    if frame.empty or "disclosure" not in frame.columns:
        return []
    names = []
    for _, row in frame[frame["disclosure"] == "restricted"].iterrows():
        if row.get("what", "entry" if "log_index" in row else "score") == "entry":
            names.append(f"entry {int(row['log_index'])}")
        else:
            names.append(f"score {row['level']} {row['code']}")
    return names


def _text(value: Any) -> Any:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True)
    return value


# Text a spreadsheet would run as a formula (OWASP, "CSV injection"): a reason
# or value recorded as =HYPERLINK(...) must open as text (docs/decisions.md 19).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def formula_like(value: Any) -> bool:
    """True for text a spreadsheet would take as a formula; a plain decimal
    number such as ``-3.5`` is data, not a formula."""
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and PLAIN_NUMBER.fullmatch(value) is None
    )


def file_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """``frame`` as a ``csv``, ``parquet`` or ``xlsx`` file: the one writer of
    every export (``pmm scores|diff|history --out``, ``GET /exports/...``).

    CSV (RFC 4180) has no cell types, so formula-like text gets a leading
    single quote, which spreadsheets read as "this is text" (OWASP). In XLSX
    every text cell is stored as a string cell: openpyxl would store text
    starting with ``=`` as a formula."""
    buffer = io.BytesIO()
    if fmt == "csv":
        # RFC 4180 line ends (CRLF), so that a field holding a CR is quoted too.
        safe = frame.map(lambda v: "'" + v if formula_like(v) else v)
        safe.to_csv(buffer, index=False, lineterminator="\r\n")
    elif fmt == "parquet":
        frame.to_parquet(buffer, index=False)
    elif fmt == "xlsx":
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            frame.to_excel(writer, index=False)
            for sheet in writer.sheets.values():
                for row in sheet.iter_rows():
                    for cell in row:
                        if isinstance(cell.value, str):
                            cell.data_type = "s"
    else:
        raise QueryError(f"export to csv, parquet or xlsx, not {fmt!r}")
    return buffer.getvalue()


def write(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV, Parquet or Excel, chosen by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix not in WRITERS:
        raise QueryError(f"{path}: export to .csv, .parquet or .xlsx, not {suffix!r}")
    path.write_bytes(file_bytes(frame, suffix[1:]))
