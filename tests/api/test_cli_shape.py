"""The shape of the ``pmm`` command line, on SQLite and PostgreSQL: where ``--home``
is taken and which one wins (docs/decisions.md decision 47), and help texts that
reflow to the terminal's width instead of breaking mid-sentence (decision 48)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from api.cli import app
from ledger.persistence import Settings

runner = CliRunner()
ORIGIN = "shape.example/ledger"
WIDTH = 200


def pmm(
    settings: Settings, args: list[str], home_env: Path | None = None
) -> tuple[int, str]:
    env = {
        "PMM_DATABASE_URL": settings.database_url or "",
        "COLUMNS": str(WIDTH),
        "PMM_HOME": str(home_env) if home_env is not None else None,
    }
    result = runner.invoke(app, args, env=env)
    return result.exit_code, result.output


@pytest.fixture
def home(settings: Settings) -> Path:
    """A home with a ledger in it."""
    code, output = pmm(settings, ["init", "--origin", ORIGIN, "--home", str(settings.home)])
    assert code == 0, output
    return settings.home


def test_home_before_or_after_the_command_or_from_the_environment(
    settings: Settings, home: Path
) -> None:
    forms: list[tuple[list[str], Path | None]] = [
        (["checkpoint", "--home", str(home)], None),
        (["--home", str(home), "checkpoint"], None),
        (["checkpoint"], home),
    ]
    for args, env_home in forms:
        code, output = pmm(settings, args, env_home)
        assert code == 0, (args, output)
        assert output.splitlines()[0] == ORIGIN, args
    # A group with a callback of its own, and a command under a group.
    for args in (
        ["--home", str(home), "principal", "list"],
        ["--home", str(home), "prove", "consistency", "1", "1"],
    ):
        code, output = pmm(settings, args)
        assert code == 0, (args, output)


def test_the_commands_own_home_wins_then_pmm_home_then_the_environment(
    settings: Settings, home: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    found = {
        # the command's own --home wins over `pmm --home`
        (f"--home {empty} checkpoint --home {home}", None): 0,
        (f"--home {home} checkpoint --home {empty}", None): 2,
        # `pmm --home` wins over PMM_HOME
        (f"--home {home} checkpoint", empty): 0,
        (f"--home {empty} checkpoint", home): 2,
        # and so does the command's own --home
        (f"checkpoint --home {home}", empty): 0,
        (f"checkpoint --home {empty}", home): 2,
    }
    for (line, env_home), expected in found.items():
        code, output = pmm(settings, line.split(), env_home)
        assert code == expected, (line, env_home, output)
        if expected == 2:
            assert f"no ledger in {empty}" in " ".join(output.split()), (line, output)
    # `pmm --home` holds for the one run it was given to, not the next.
    assert pmm(settings, ["--home", str(home), "checkpoint"])[0] == 0
    assert pmm(settings, ["checkpoint"], empty)[0] == 2


def _commands(
    group: TyperGroup, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every group and command under ``group``, with the words that name it."""
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


BOX = "│╭╮╰╯─"
ENDS = tuple(".:;!?)]'\"`")


def broken_lines(text: str) -> list[str]:
    """Pairs of rendered lines where a sentence goes on after a line that ended
    early: a hard line break in the help, which the terminal did not reflow."""
    found = []
    for before, after in pairwise(text.splitlines()):
        if before.startswith(("╭", "╰")) or after.startswith(("╭", "╰")):
            continue
        first = before.strip(" " + BOX)
        inner = after.strip(BOX).rstrip()
        second = inner.lstrip()
        if not first or not second:
            continue
        # A panel's row starts one space in; its own wrapped lines start further.
        new_row = after.startswith("│") and len(inner) - len(second) == 1
        short = len(before.rstrip(" " + BOX)) < WIDTH - 40
        if short and not new_row and not first.endswith(ENDS) and second[0].islower():
            found.append(f"{first!r} / {second!r}")
    return found


def test_every_help_reflows_to_the_terminal_width() -> None:
    root = get_command(app)
    assert isinstance(root, TyperGroup)
    paths = [path for path, _ in _commands(root)]
    assert len(paths) > 40
    problems = []
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(WIDTH)})
        assert result.exit_code == 0, (path, result.output)
        assert max(map(len, result.output.splitlines())) == WIDTH, path
        problems += [
            f"pmm {' '.join(path)} --help: {b}" for b in broken_lines(result.output)
        ]
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_hard_line_break() -> None:
    shown = "\n".join(
        [
            " Approve a draft registry change FILE as another admin; print the approval.",
            "",
            " The draft must name its expected_version (pmm principal add|revoke|recover",
            " --draft prints one); the signer attaches approvals with --approval FILE.",
            " Sign the access log's head into the integrity log now (every write seals",
            " it too when restricted reads came before).",
        ]
    )
    assert broken_lines(shown) == [
        '"Sign the access log\'s head into the integrity log now (every write seals" / '
        "'it too when restricted reads came before).'"
    ]
    wrapped = " ".join(["word"] * 40)[: WIDTH - 2] + "\n continued"
    assert broken_lines(wrapped) == []


def test_no_help_text_holds_a_line_break_inside_a_paragraph() -> None:
    """The source side of the same rule: one paragraph per line, paragraphs apart."""
    root = get_command(app)
    assert isinstance(root, TyperGroup)
    problems = []
    for path, command in _commands(root):
        texts = [command.help or ""] + [
            getattr(p, "help", None) or "" for p in command.params
        ]
        for text in texts:
            if re.search(r"[^\n]\n[^\n]", text.strip()):
                problems.append(f"pmm {' '.join(path)}: {text!r}")
    assert not problems, "\n".join(problems)
