"""Hostile backup files (docs/backup.md, decision 17): truncated, a tampered
payload, a manifest that lies about the log's size, odd members, another
ledger's backup. Each is refused and leaves the ledger as it was, on SQLite
and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from ledger import pg_tools
from ledger.application import Ledger
from ledger.backup import make_backup
from ledger.backup_file import parse_manifest
from ledger.errors import BackupError
from ledger.home import init_ledger, open_ledger
from ledger.persistence import Settings
from ledger.restore import restore_backup
from tests.ledger.backups import drop_replaced, log_size_of, register

if TYPE_CHECKING:
    from tests.conftest import Registration


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
    assert log_size_of(settings) == 3  # nothing of the ledger was touched
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


@pytest.mark.parametrize("backend", ["postgresql"])  # an archive is SQL on PostgreSQL
def test_an_archive_that_reaches_beyond_the_schema_is_refused(
    backups: tuple[Settings, Path, Path], tmp_path: Path
) -> None:
    settings, _, newer = backups
    base, _, schema = str(settings.database_url).partition("?schema=")
    other = f"{schema}_x"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{other}"')
        conn.execute(f'CREATE TABLE "{other}".planted (id INTEGER)')
    try:
        dump = tmp_path / "other.dump"
        target = pg_tools.Target.of(settings)
        args = ["--format=custom", f"--schema={other}", f"--file={dump}"]
        pg_dump = shutil.which("pg_dump") or "pg_dump"
        done = subprocess.run(
            [pg_dump, *args, *target.tool_args()], env=target.tool_env(), check=False
        )
        assert done.returncode == 0
        members = _members(newer)
        raw = dump.read_bytes()
        planted = _with_manifest(
            {**members, "payload": raw},
            payload={"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()},
        )
        _write_members(tmp_path / "planted", planted)
        _refused(settings, tmp_path / "planted", f"reaches beyond the schema '{schema}'")
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{other}" CASCADE')
