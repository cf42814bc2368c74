"""Reading a World Bank DataBank "long" CSV export.

``read_databank`` reads an export (header ``Country Name, Country Code, Series
Name, Series Code, 2019 [YR2019], ...``, UTF-8 with or without a byte-order
mark; blank lines and the ``Data from database:`` / ``Last Updated:`` footer
skipped) or refuses the whole file with ``ImportFileError``; a line with the
wrong number of fields is kept aside as malformed, to be reported per line.
``intake.databank`` turns the rows into signed statements. docs/import.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from intake.errors import ImportFileError
from verify.scoring.methods import DECIMAL_RE, MAX_DECIMAL_DIGITS

HEADER = ("Country Name", "Country Code", "Series Name", "Series Code")
_YEAR_COLUMN = re.compile(r"(\d{4}) \[YR(\d{4})\]")
_FOOTERS = ("Data from database:", "Last Updated:")
_NUMBER_CHARS = set("+-.0123456789eE")


@dataclass(frozen=True)
class Row:
    """One data line: an economy × series, with one cell per year column."""

    line: int
    country: str
    country_name: str
    series: str
    series_name: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class DataBankFile:
    path: Path
    sha256: str
    columns: tuple[str, ...]  # the year columns as headed, e.g. "2019 [YR2019]"
    years: tuple[int, ...]
    rows: tuple[Row, ...]
    malformed: tuple[tuple[int, str], ...]  # (line, why) lines that are not rows
    database: str | None  # from the "Data from database:" footer

    @property
    def source(self) -> dict[str, str]:
        name = f"World Bank DataBank: {self.database or 'export'} ({self.path.name})"
        return {"name": name[:200], "sha256": self.sha256}


def read_databank(path: str | Path) -> DataBankFile:
    """Read a DataBank long-format export, or refuse the whole file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        columns, years = _header(path, next(reader, None))
        rows, malformed, database = [], [], None
        for fields in reader:
            cells = tuple(f.strip() for f in fields)
            if not any(cells):
                continue
            if cells[0].startswith(_FOOTERS) and not any(cells[1:]):
                if cells[0].startswith(_FOOTERS[0]):
                    database = cells[0].split(":", 1)[1].strip() or None
                continue
            if len(cells) != 4 + len(years):
                why = f"{len(cells)} fields where the header has {4 + len(years)}"
                malformed.append((reader.line_num, why))
                continue
            rows.append(
                Row(reader.line_num, cells[1], cells[0], cells[3], cells[2], cells[4:])
            )
    except csv.Error as exc:
        raise ImportFileError(f"{path}, line {reader.line_num}: {exc}") from None
    digest = hashlib.sha256(raw).hexdigest()
    return DataBankFile(
        path, digest, columns, years, tuple(rows), tuple(malformed), database
    )


def _header(
    path: Path, header: list[str] | None
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    expected = ",".join(HEADER) + ",2019 [YR2019],..."
    what = f"{path} is not a DataBank long-format export (header {expected})"
    if not header:
        raise ImportFileError(f"{what}: the file is empty")
    names = [h.strip() for h in header]
    for i, want in enumerate(HEADER):
        got = names[i] if i < len(names) else "nothing"
        if got != want:
            raise ImportFileError(f"{what}: column {i + 1} is {got!r}, not {want!r}")
    years = []
    for i, name in enumerate(names[4:], 5):
        match = _YEAR_COLUMN.fullmatch(name)
        if match is None or match.group(1) != match.group(2):
            raise ImportFileError(f"{what}: column {i} is {name!r}, not a year column")
        years.append(int(match.group(1)))
    if not years or len(set(years)) != len(years):
        problem = "no year column" if not years else "a year column twice"
        raise ImportFileError(f"{what}: the header has {problem}")
    return tuple(names[4:]), tuple(years)


def decimal_text(text: str) -> str | None:
    """The cell as a canonical decimal string, or None if it is not a number."""
    if DECIMAL_RE.fullmatch(text):
        return text
    if not text or not set(text) <= _NUMBER_CHARS:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number.adjusted()) > MAX_DECIMAL_DIGITS:
        # Not a measurement, and "1e999999999" would be a billion digits
        # spelled out: refused before it is written (docs/decisions.md 17).
        return None
    canonical = format(number, "f")
    return canonical if DECIMAL_RE.fullmatch(canonical) else None
