"""Errors of intake: why a file people wrote was refused (docs/design.md §6).

``status`` is the HTTP status an API would answer with, as for the other
packages' errors; the command line prints the message and exits 2 (input error).
"""

from __future__ import annotations

from collections.abc import Sequence


class IntakeError(Exception):
    """Base of every refusal by the intake package."""

    status = 422


class FrameworkFileError(IntakeError):
    """A framework file that cannot be applied; lists every problem found."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        lines = "\n".join(f"  {path}: {p}" for p in self.problems)
        super().__init__(
            f"{path}: {len(self.problems)} problem(s), nothing applied:\n{lines}"
        )


class ImportFileError(IntakeError):
    """A DataBank file whose header or layout is not the expected one."""


class ValueRefusedError(IntakeError):
    """Why the importer refuses one value before signing it (``reason``: a short
    key the import's report counts by); it never leaves ``intake.databank``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class TomlTextError(IntakeError, ValueError):
    """Why a TOML file cannot be read; the message names the problem."""
