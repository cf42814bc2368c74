"""The pages' query parameters, read from text, and the links between pages.

An HTML form sends every field, empty ones included, so a parameter is text
here: empty means absent, and one that is wrong is a ``QueryError`` (400) the
page shows in words, never a JSON validation error.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from projections.errors import QueryError

MAX_TEXT = 64
MAX_SIZE = 2**53


def text(value: str | None, name: str) -> str | None:
    """A parameter's text, None when absent or empty (an empty form field)."""
    found = (value or "").strip()
    if len(found) > MAX_TEXT:
        raise QueryError(f"{name} is longer than {MAX_TEXT} characters")
    return found or None


def member_code(value: str | None) -> str:
    found = text(value, "member")
    if found is None:
        raise QueryError("name a Member: member=KEN (ISO 3166-1 alpha-3)")
    return found.upper()


def year_number(value: str | None) -> int:
    found = text(value, "year")
    if found is None:
        raise QueryError("name a reference year: year=2022")
    if not (found.isascii() and found.isdigit()) or not 1900 <= int(found) <= 9999:
        raise QueryError(f"year {found!r} is not a reference year (1900 to 9999)")
    return int(found)


def size_number(value: str | None, name: str) -> int | None:
    found = text(value, name)
    if found is None:
        return None
    if not (found.isascii() and found.isdigit()) or int(found) > MAX_SIZE:
        raise QueryError(f"{name} {found!r} is not a log size (a whole number)")
    return int(found)


def url(path: str, **params: Any) -> str:
    """``path`` with the parameters that are set (``from_`` is sent as ``from``)."""
    query = {k.rstrip("_"): v for k, v in params.items() if v is not None}
    return f"{path}?{urlencode(query)}" if query else path
