"""The documentation names every statement type the ledger knows."""

from __future__ import annotations

from pathlib import Path

from verify.formats.schema import STATEMENT_TYPES

ROOT = Path(__file__).resolve().parents[1]


def test_every_statement_type_is_documented() -> None:
    text = (ROOT / "docs" / "statements.md").read_text()
    missing = [name for name in STATEMENT_TYPES if f"`{name}`" not in text]
    assert not missing, f"docs/statements.md does not describe {missing}"
