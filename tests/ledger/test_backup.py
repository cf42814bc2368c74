"""Backup and restore (docs/backup.md, decision 32), on SQLite and PostgreSQL:
a restored ledger verifies; a backup taken while a writer runs is one
consistent snapshot; hostile backup files are refused and leave the ledger
as it was; a ledger that is not empty is replaced only with ``force``."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from ledger.application import Ledger, Recorded
from ledger.backup import make_backup
from ledger.backup_file import Manifest, parse_manifest
from ledger.errors import BackupError
from ledger.export import export
from ledger.home import KEYS_DIR, init_ledger, open_ledger
from ledger.keys import KeyPair
from ledger.persistence import Settings
from ledger.restore import restore_backup
from verify.verifier import VerifyResult, verify_export

if TYPE_CHECKING:
    from tests.conftest import Registration


def register(ledger: Ledger, registration: Registration, name: str) -> Recorded:
    key = KeyPair.generate(name)
    body = {
        "member": None,
        "name": name,
        "principal": name,
        "public_key": key.public_key,
        "role": "peer_reviewer",
    }
    return ledger.record(registration(ledger, body))


def verified(settings: Settings, scratch: Path, state: Path | None = None) -> VerifyResult:
    """Export the ledger of ``settings`` as it is and run the offline verifier."""
    ledger = open_ledger(settings, integrate=False)
    folder = scratch / f"export-{uuid.uuid4().hex[:8]}"
    try:
        export(ledger, folder)
    finally:
        ledger.close()
    return verify_export(folder, folder / "trust.json", state)


def lose_database(settings: Settings) -> None:
    """The disaster: the database is gone (the SQLite file with its home, or the
    PostgreSQL schema)."""
    if settings.database_url is None:
        shutil.rmtree(settings.home)
        return
    base, _, schema = settings.database_url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def drop_replaced(settings: Settings) -> None:
    """Drop the schemas a forced PostgreSQL restore kept aside."""
    if settings.database_url is None:
        return
    base, _, schema = settings.database_url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"{schema}_rep%",)
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


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
    writes, errors = 12, []

    def writer() -> None:
        try:
            for n in range(writes):
                register(ledger, registration, f"w{n}")
        except Exception as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    manifests: list[Manifest] = []
    while thread.is_alive() or not manifests:
        manifests.append(make_backup(ledger.settings, tmp_path / f"b{len(manifests)}"))
    thread.join()
    assert not errors
    sizes = [m.log_size for m in manifests]
    assert sizes == sorted(sizes) and sizes[0] >= 1 and sizes[-1] <= writes + 1
    # Each backup is the log at one write boundary: its payload holds exactly
    # the manifest's size, every entry integrated, and restores to a ledger
    # that verifies.
    for number in sorted({0, len(manifests) // 2, len(manifests) - 1}):
        manifest = manifests[number]
        target = _fresh_target(ledger.settings, tmp_path / f"restore-{number}")
        restore_backup(target, tmp_path / f"b{number}", keys=ledger.settings.home / "keys")
        result = verified(target, tmp_path)
        assert result.verified, result.findings
        assert result.size == manifest.log_size == result.counts.entries
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
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
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
    assert _size(settings) == 2
    done = restore_backup(settings, tmp_path / "old", force=True)
    assert _size(settings) == 1
    assert done.replaced is not None  # the newer ledger is kept, not deleted
    if settings.database_url is None:
        assert Path(done.replaced).stat().st_mode & 0o777 == 0o600
    drop_replaced(settings)


def _size(settings: Settings) -> int:
    ledger = open_ledger(settings)
    try:
        return ledger.log_size()
    finally:
        ledger.close()


# -- hostile backup files: refused, and the ledger left as it was ---------------------


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        found = {}
        for member in tar:
            handle = tar.extractfile(member)
            assert handle is not None
            found[member.name] = handle.read()
        return found


def _write_members(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


def _with_manifest(members: dict[str, bytes], **changes: object) -> dict[str, bytes]:
    data = json.loads(members["manifest.json"])
    data.update(changes)
    return {**members, "manifest.json": json.dumps(data).encode()}


@pytest.fixture
def backups(
    ledger: Ledger, registration: Registration, tmp_path: Path
) -> tuple[Settings, Path, Path]:
    """The ledger's settings, an older backup (size 1) and a newer one (size 3);
    the ledger stays at size 3 and closed."""
    settings = ledger.settings
    ledger.close()
    make_backup(settings, tmp_path / "older")
    reopened = open_ledger(settings)
    register(reopened, registration, "a")
    register(reopened, registration, "b")
    reopened.close()
    make_backup(settings, tmp_path / "newer")
    return settings, tmp_path / "older", tmp_path / "newer"


def _refused(settings: Settings, file: Path, phrase: str, *, force: bool = True) -> None:
    with pytest.raises(BackupError, match=phrase):
        restore_backup(settings, file, force=force)
    assert _size(settings) == 3  # nothing of the ledger was touched
    drop_replaced(settings)


def test_truncated_backups_are_refused(
    backups: tuple[Settings, Path, Path], tmp_path: Path
) -> None:
    settings, _, newer = backups
    raw = newer.read_bytes()
    with tarfile.open(newer) as tar:
        ends = [m.offset_data + m.size for m in tar.getmembers()]
    # Inside the manifest, the payload, the last home file (the archive's
    # padding after its last member is not part of the backup).
    for cut in (700, ends[1] - 10, ends[2] - 1):
        (tmp_path / "cut").write_bytes(raw[:cut])
        _refused(settings, tmp_path / "cut", "truncated|lacks its manifest|bytes")
    (tmp_path / "junk").write_bytes(b"not a backup at all\n" * 100)
    _refused(settings, tmp_path / "junk", "not a readable pmm backup")


def test_a_tampered_payload_is_refused(
    backups: tuple[Settings, Path, Path], tmp_path: Path
) -> None:
    settings, _, newer = backups
    members = _members(newer)
    payload = bytearray(members["payload"])
    payload[len(payload) // 2] ^= 0x01
    _write_members(tmp_path / "flipped", {**members, "payload": bytes(payload)})
    _refused(settings, tmp_path / "flipped", "sha256 .* corrupted")
    # The hash fixed up to match: the payload's content still has to be the log
    # the manifest's signed checkpoint describes.
    garbage = b"\x00" * len(payload)
    fixed = _with_manifest(
        {**members, "payload": garbage},
        payload={"bytes": len(garbage), "sha256": hashlib.sha256(garbage).hexdigest()},
    )
    _write_members(tmp_path / "rehashed", fixed)
    _refused(settings, tmp_path / "rehashed", "payload|pg_restore failed")


def test_a_manifest_that_lies_about_the_size_is_refused(
    backups: tuple[Settings, Path, Path], tmp_path: Path
) -> None:
    settings, older, newer = backups
    members = _members(newer)
    _write_members(tmp_path / "bigger", _with_manifest(members, log_size=30))
    _refused(settings, tmp_path / "bigger", "says the log has 30 entries, but its signed")
    # A genuine, log-signed checkpoint of another size (the older backup's)
    # over the newer payload: the payload's own log refutes it.
    old = json.loads(_members(older)["manifest.json"])
    lying = _with_manifest(members, log_size=1, checkpoint=old["checkpoint"])
    _write_members(tmp_path / "smaller", lying)
    _refused(settings, tmp_path / "smaller", "manifest says the log has 1 entries; the pay")


def test_odd_members_and_another_origin_are_refused(
    backups: tuple[Settings, Path, Path], tmp_path: Path
) -> None:
    settings, _, newer = backups
    members = _members(newer)
    _write_members(tmp_path / "escape", {**members, "../../keys/log.key": b"{}"})
    _refused(settings, tmp_path / "escape", "unexpected member")
    _write_members(tmp_path / "twice", {**members, "home/ledger.json ": b"{}"})
    _refused(settings, tmp_path / "twice", "unexpected member|home files")
    reordered = {"payload": members["payload"], **members}
    _write_members(tmp_path / "late", reordered)
    _refused(settings, tmp_path / "late", "unexpected member")
    other = Settings(tmp_path / "other-home")  # another ledger, with its own origin
    init_ledger(other, "other.example/ledger").close()
    make_backup(other, tmp_path / "other")
    _refused(settings, tmp_path / "other", "backup of the ledger other.example/ledger")
    assert parse_manifest(members["manifest.json"]).origin != "other.example/ledger"
