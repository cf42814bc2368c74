"""Errors of the read side: why a query or a thresholds file was refused.

``status`` is the HTTP status the API answers with (translated in one place,
api/); the command line prints the message and exits 2 (input error).
"""

from __future__ import annotations

from collections.abc import Sequence


class ProjectionError(Exception):
    """Base of every refusal by the projections package."""

    status = 422


class QueryError(ProjectionError):
    """A score, diff or export query that names nothing, or is out of range."""

    status = 400


class NoSuchAssessmentError(ProjectionError):
    """No assessment of that Member for that reference year (or cycle)."""

    status = 404


class SignInRequiredError(ProjectionError):
    """The read needs a principal: send a bearer token (``pmm token``)."""

    status = 401


class ReadNotPermittedError(ProjectionError):
    """The reader's role does not allow this read (docs/design.md §1, roles)."""

    status = 403


class ThresholdsFileError(ProjectionError):
    """A red-flag thresholds file that cannot be used; lists every problem found."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        lines = "\n".join(f"  {path}: {p}" for p in self.problems)
        super().__init__(f"{path}: {len(self.problems)} problem(s):\n{lines}")


class NoSuchFlagError(ProjectionError):
    """A flag id that no rule raises at this record time."""

    status = 404
