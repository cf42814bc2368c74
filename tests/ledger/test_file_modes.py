"""Folders 0700 and files 0600, from the moment they are created
(docs/decisions.md 20): the home and everything the ledger writes in it (the
SQLite database with its WAL and SHM, the writer lock, the config, keys, the
verifier's state), exports, and a witness's state, on SQLite and PostgreSQL.

The umask is set to the common 022 for these tests, under which a file made
without a mode would be 0644 and a folder 0755."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger.export import export
from ledger.home import init_ledger
from ledger.persistence import Settings
from ledger.witness import Witness
from verify.formats.checkpoint import Checkpoint, sign_checkpoint
from verify.formats.cosignature import CosignatureSigner
from verify.formats.note_keys import Ed25519Signer
from verify.merkle.tree import EMPTY_ROOT

if TYPE_CHECKING:
    from tests.conftest import World


@pytest.fixture(autouse=True)
def common_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def modes(top: Path) -> dict[str, int]:
    """Every folder and file under ``top`` (itself included): its permission bits."""
    found = {".": stat.S_IMODE(top.stat().st_mode)}
    for path in top.rglob("*"):
        found[str(path.relative_to(top))] = stat.S_IMODE(path.stat().st_mode)
    return found


def owner_only(top: Path) -> dict[str, str]:
    """What under ``top`` is not 0700 (folders) or 0600 (files)."""
    wrong = {}
    for name, mode in modes(top).items():
        wanted = 0o700 if (top / name).is_dir() else 0o600
        if mode != wanted:
            wrong[name] = oct(mode)
    return wrong


def test_the_home_and_its_files_are_the_owners_only(world: World, tmp_path: Path) -> None:
    ledger = world.ledger
    settings = ledger.settings
    world.hours(world.ncp_ken, world.KEN, "12")  # a write takes the writer lock
    env = {"PMM_DATABASE_URL": settings.database_url or ""}
    verified = CliRunner().invoke(app, ["verify", "--home", str(settings.home)], env=env)
    assert verified.exit_code == 0, verified.output
    home = set(modes(settings.home))
    assert {".", "keys", "keys/admin.key", "keys/log.key", "ledger.json"} <= home
    assert "verifier-state.json" in home
    if settings.backend == "sqlite":
        assert {
            "ledger.sqlite",
            "ledger.sqlite-wal",
            "ledger.sqlite-shm",
            "ledger.sqlite.writer-lock",
        } <= home
    assert owner_only(settings.home) == {}


def test_an_existing_home_is_narrowed_before_the_ledger_writes_into_it(
    settings: Settings,
) -> None:
    settings.home.mkdir(mode=0o755)
    init_ledger(settings, "test.pmm.example/ledger").close()
    assert owner_only(settings.home) == {}


def test_exports_are_the_owners_only(world: World, tmp_path: Path) -> None:
    out = tmp_path / "new" / "folders" / "log"
    export(world.ledger, out)
    names = set(modes(out))
    assert {"checkpoint", "trust.json", "tile/entries"} <= names
    assert any(name.startswith("tile/0/") for name in names)
    assert owner_only(tmp_path / "new") == {}


def test_a_witness_state_and_its_lock_are_the_owners_only(tmp_path: Path) -> None:
    log = Ed25519Signer.generate("witness.test/log")
    state = tmp_path / "witness" / "state.json"
    witness = Witness(
        CosignatureSigner.generate("witness.test/w1"), [log.verifier().vkey()], state
    )
    note = sign_checkpoint(Checkpoint("witness.test/log", 0, EMPTY_ROOT), log)
    assert witness.add_checkpoint(f"old 0\n\n{note}".encode()).status == 200
    assert set(modes(state.parent)) == {".", "state.json", "state.json.lock"}
    assert owner_only(state.parent) == {}
