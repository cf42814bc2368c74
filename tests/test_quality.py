"""ruff and mypy --strict are part of the test command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_tool_is_clean(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run calls exactly the README's second command, so CI proves the README."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [
        line.strip()
        for line in readme.split("```sh", 2)[1].split("```")[0].splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(commands) == 2, commands
    assert commands[1] in ci, f"{commands[1]!r} is not a line of .ci/run"
    assert commands[0].endswith("pmm demo")
