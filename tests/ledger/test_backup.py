"""Backup and restore (docs/backup.md, decision 32), on SQLite and PostgreSQL:
a restored ledger verifies; a backup taken while a writer runs is one
consistent snapshot; a ledger that is not empty is replaced only with
``force``. Hostile backup files: test_backup_hostile.py; rollbacks:
test_backup_rollback.py."""

from __future__ import annotations

import shutil
import tarfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from ledger.application import Ledger
from ledger.backup import make_backup
from ledger.backup_file import Manifest
from ledger.errors import BackupError
from ledger.home import KEYS_DIR, open_ledger
from ledger.keys import KeyPair
from ledger.log_keys import handover_body, next_key_path, vkey_of
from ledger.persistence import Settings
from ledger.restore import restore_backup
from tests.ledger.backups import (
    drop_replaced,
    log_size_of,
    lose_database,
    register,
    stored_facts,
    verified,
)

if TYPE_CHECKING:
    from tests.conftest import Registration, World


def test_a_restored_ledger_verifies(
    ledger: Ledger, registration: Registration, tmp_path: Path
) -> None:
    for n in range(5):
        register(ledger, registration, f"r{n}")
    settings, note = ledger.settings, ledger.sequencer.checkpoint()
    ledger.close()
    keys = tmp_path / "key-backup"
    shutil.copytree(settings.home / KEYS_DIR, keys)
    manifest = make_backup(settings, tmp_path / "ledger.pmmbackup")
    assert manifest.log_size == 6 and manifest.checkpoint == note
    assert (tmp_path / "ledger.pmmbackup").stat().st_mode & 0o777 == 0o600
    with tarfile.open(tmp_path / "ledger.pmmbackup") as tar:
        names = tar.getnames()
    assert names == ["manifest.json", "payload", "home/ledger.json"]  # no key in it
    lose_database(settings)
    new = Settings(tmp_path / "new-home", settings.database_url)
    done = restore_backup(new, tmp_path / "ledger.pmmbackup", keys=keys)
    assert done.home_written == ("ledger.json",) and done.replaced is None
    assert (new.home / "keys" / "log.key").stat().st_mode & 0o777 == 0o600
    result = verified(new, tmp_path)
    assert result.verified, result.findings
    assert (result.size, result.counts.entries) == (6, 6)
    restored = open_ledger(new)
    try:
        assert restored.sequencer.checkpoint() == note
        register(restored, registration, "after-restore")  # it takes writes again
        assert restored.log_size() == 7
    finally:
        restored.close()


def test_a_backup_while_a_writer_runs_is_one_snapshot(
    ledger: Ledger, registration: Registration, tmp_path: Path
) -> None:
    # The writer goes on until three backups were taken beside it (at least 12
    # writes, at most 400), so the test does not depend on how fast each is.
    errors: list[Exception] = []
    written, enough = [0], threading.Event()

    def writer() -> None:
        try:
            while written[0] < 12 or (not enough.is_set() and written[0] < 400):
                register(ledger, registration, f"w{written[0]}")
                written[0] += 1
        except Exception as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    manifests: list[Manifest] = []
    while thread.is_alive() or not manifests:
        manifests.append(make_backup(ledger.settings, tmp_path / f"b{len(manifests)}"))
        if len(manifests) >= 3:
            enough.set()
    thread.join()
    assert not errors and len(manifests) >= 3
    sizes = [m.log_size for m in manifests]
    assert sizes == sorted(sizes) and sizes[0] >= 1 and sizes[-1] <= written[0] + 1
    # Each backup is the log at one write boundary: its payload holds exactly
    # the manifest's size, every entry integrated, and restores to a ledger
    # that verifies.
    for number in sorted({0, len(manifests) // 2, len(manifests) - 1}):
        manifest = manifests[number]
        target = _fresh_target(ledger.settings, tmp_path / f"restore-{number}")
        try:
            keys = ledger.settings.home / "keys"
            restore_backup(target, tmp_path / f"b{number}", keys=keys)
            # Taken between two writes: no stored event is left out of the log.
            facts = stored_facts(target)
            assert facts.size == facts.entries == manifest.log_size
            result = verified(target, tmp_path)
            assert result.verified, result.findings
            assert result.size == manifest.log_size == result.counts.entries
        finally:
            _drop_target(target)


def _fresh_target(settings: Settings, home: Path) -> Settings:
    """Another, empty place for a restore: a new home; on PostgreSQL the backup
    names its schema, so the live schema is moved aside meanwhile."""
    if settings.database_url is None:
        return Settings(home)
    base, _, schema = settings.database_url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_live"')
    return Settings(home, settings.database_url)


def _drop_target(target: Settings) -> None:
    if target.database_url is None:
        return
    base, _, schema = target.database_url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'ALTER SCHEMA "{schema}_live" RENAME TO "{schema}"')


def test_restore_replaces_a_ledger_only_with_force(
    ledger: Ledger, registration: Registration, tmp_path: Path
) -> None:
    settings = ledger.settings
    ledger.close()
    make_backup(settings, tmp_path / "old")
    reopened = open_ledger(settings)
    register(reopened, registration, "newer")
    reopened.close()
    with pytest.raises(BackupError, match=r"already holds 2 stored entries.*--force"):
        restore_backup(settings, tmp_path / "old")
    assert log_size_of(settings) == 2
    done = restore_backup(settings, tmp_path / "old", force=True)
    assert log_size_of(settings) == 1
    assert done.replaced is not None  # the newer ledger is kept, not deleted
    if settings.database_url is None:
        assert Path(done.replaced).stat().st_mode & 0o777 == 0o600
    drop_replaced(settings)


def test_a_backup_after_a_log_key_hand_over_restores_and_verifies(
    world: World, tmp_path: Path
) -> None:
    """After ``log.key_rotated`` the key that signs is HOME/keys/log-2.key: the
    manifest's checkpoint is that key's, and restore finds it among the keys."""
    home = world.ledger.settings.home
    first = KeyPair.load(home / KEYS_DIR / "log.key")
    new = KeyPair.generate("log")
    new.save(next_key_path(home / KEYS_DIR))
    world.ledger.log_keys.add(new)
    body = handover_body(world.ledger, first, new, "yearly rotation")
    world.record(world.admin, "registry", "log.key_rotated", body)
    world.hours(world.ncp_ken, world.KEN, "12")
    settings = world.ledger.settings
    world.ledger.close()
    keys = tmp_path / "key-backup"
    shutil.copytree(home / KEYS_DIR, keys)
    manifest = make_backup(settings, tmp_path / "rotated.pmmbackup")
    assert manifest.log_vkey == vkey_of(manifest.origin, new)
    lose_database(settings)
    new_home = Settings(tmp_path / "new-home", settings.database_url)
    restore_backup(new_home, tmp_path / "rotated.pmmbackup", keys=keys)
    result = verified(new_home, tmp_path)
    assert result.verified, result.findings
    assert result.log_keys == (vkey_of(manifest.origin, first), manifest.log_vkey)
