"""The backup file: a tar archive that describes itself (docs/backup.md).

Members, in this order, and nothing else::

    manifest.json          what the backup is (below)
    payload                the database: a SQLite file, or a pg_dump custom archive
    home/ledger.json       the home's configuration (origin, genesis principal)
    home/witness-policy.txt  the witness policy, if the ledger has one

The manifest (``pmm-backup/v1``) names the origin, the backend, the log's size
and the checkpoint at backup time (signed by the log key, so it cannot be made
up without that key), and the sha256 of the payload and of each home file.
Keys are never in a backup (docs/decisions.md 32). Reading a backup is
hostile-input handling (decision 17): only the members above, regular files,
each at most once and within its size bound, hashes checked while reading.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ledger.errors import BackupError
from ledger.files import open_private
from verify.errors import VerifyError
from verify.formats.checkpoint import Checkpoint, open_checkpoint
from verify.formats.note_keys import Ed25519Verifier

FORMAT = "pmm-backup/v1"
MANIFEST = "manifest.json"
PAYLOAD = "payload"
HOME_PREFIX = "home/"
HOME_FILES = ("ledger.json", "witness-policy.txt")
MAX_SMALL = 1 << 20  # bytes of the manifest or of one home file
CHUNK = 1 << 20
FORMAT_TAR = tarfile.PAX_FORMAT
BACKENDS = ("sqlite", "postgresql")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Manifest:
    origin: str
    backend: str
    created_at: str
    log_size: int
    log_vkey: str
    checkpoint: str  # the signed note of the log at backup time
    payload_bytes: int
    payload_sha256: str
    home: dict[str, str]  # home file name -> sha256
    schema: str | None = None  # PostgreSQL: the schema the archive recreates
    pg_dump_major: int | None = None

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "format": FORMAT,
            "origin": self.origin,
            "backend": self.backend,
            "created_at": self.created_at,
            "log_size": self.log_size,
            "log_vkey": self.log_vkey,
            "checkpoint": self.checkpoint,
            "payload": {"bytes": self.payload_bytes, "sha256": self.payload_sha256},
            "home": dict(sorted(self.home.items())),
            "keys": "not included: restore with the home's keys/ folder in place",
            "schema": self.schema,
            "pg_dump_major": self.pg_dump_major,
        }
        return json.dumps(data, indent=2).encode() + b"\n"

    def verified_checkpoint(self) -> Checkpoint:
        """The manifest's checkpoint, signed by its log key, of its size."""
        try:
            log = Ed25519Verifier.from_vkey(self.log_vkey)
            checkpoint = open_checkpoint(self.checkpoint, [log], origin=self.origin)
        except VerifyError as exc:
            raise BackupError(f"the manifest's checkpoint does not verify: {exc}") from None
        if log.name != self.origin:
            raise BackupError("the manifest's log key is not named after its origin")
        if checkpoint.checkpoint.size != self.log_size:
            raise BackupError(
                f"the manifest says the log has {self.log_size} entries, but its "
                f"signed checkpoint is of size {checkpoint.checkpoint.size}"
            )
        return checkpoint.checkpoint


def parse_manifest(raw: bytes) -> Manifest:
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BackupError(f"the manifest is not of format {FORMAT!r}")
        payload, home = data["payload"], data["home"]
        manifest = Manifest(
            _text(data["origin"]),
            _text(data["backend"]),
            _text(data["created_at"]),
            _count(data["log_size"]),
            _text(data["log_vkey"]),
            _text(data["checkpoint"]),
            _count(payload["bytes"]),
            _text(payload["sha256"]),
            {_text(k): _text(v) for k, v in home.items()},
            None if data.get("schema") is None else _text(data["schema"]),
            None if data.get("pg_dump_major") is None else _count(data["pg_dump_major"]),
        )
    except BackupError:
        raise
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = f"{type(exc).__name__} {exc}"
        raise BackupError(f"the manifest is unreadable: {reason}") from None
    if manifest.backend not in BACKENDS:
        raise BackupError(f"the manifest names an unknown backend {manifest.backend!r}")
    hashes = [manifest.payload_sha256, *manifest.home.values()]
    if not all(SHA256_HEX.fullmatch(h) for h in hashes):
        raise BackupError("the manifest's hashes must be 64 lowercase hex digits")
    if not set(manifest.home) <= set(HOME_FILES) or "ledger.json" not in manifest.home:
        raise BackupError(f"the manifest's home files must be among {HOME_FILES}")
    if manifest.backend == "postgresql" and not manifest.schema:
        raise BackupError("a PostgreSQL backup's manifest must name its schema")
    return manifest


def _text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_SMALL:
        raise ValueError("expected text")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("expected a non-negative integer")
    return value


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_backup(
    out: Path, manifest: Manifest, payload: Path, home_files: dict[str, bytes]
) -> None:
    """Write the archive to a 0600 scratch file beside ``out``, then link it
    into place: never over an existing file, never half a backup at ``out``."""
    scratch = out.with_name(f".{out.name}.{os.getpid()}.partial")
    scratch.unlink(missing_ok=True)
    handle = os.fdopen(open_private(scratch, os.O_WRONLY | os.O_EXCL), "wb")
    try:
        with handle, tarfile.open(fileobj=handle, mode="w", format=FORMAT_TAR) as tar:
            _add(tar, MANIFEST, io.BytesIO(manifest.to_json()), len(manifest.to_json()))
            with payload.open("rb") as data:
                _add(tar, PAYLOAD, data, payload.stat().st_size)
            for name, raw in sorted(home_files.items()):
                _add(tar, HOME_PREFIX + name, io.BytesIO(raw), len(raw))
            handle.flush()
            os.fsync(handle.fileno())
        os.link(scratch, out)  # refuses an existing ``out``
    except FileExistsError:
        raise BackupError(f"{out} exists; a backup never overwrites a file") from None
    finally:
        scratch.unlink(missing_ok=True)


def _add(tar: tarfile.TarFile, name: str, data: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(time.time())
    tar.addfile(info, data)


@dataclass(frozen=True)
class Backup:
    """A backup read and checked: the payload is in ``payload`` (0600)."""

    manifest: Manifest
    payload: Path
    home: dict[str, bytes]


def read_backup(path: Path, scratch: Path) -> Backup:
    """Read ``path``, writing its payload to ``scratch`` (a new 0600 file), and
    check every hash and size the manifest gives. ``BackupError`` otherwise."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            return _read(tar, path, scratch)
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(
            f"{path} is not a readable pmm backup (truncated or damaged?): {exc}"
        ) from None


def _read(tar: tarfile.TarFile, path: Path, scratch: Path) -> Backup:
    manifest: Manifest | None = None
    home: dict[str, bytes] = {}
    seen: set[str] = set()
    payload_hash: str | None = None
    for member in tar:
        if member.name in seen or not member.isfile():
            raise BackupError(f"{path}: member {member.name[:80]!r} is duplicated or odd")
        seen.add(member.name)
        source = tar.extractfile(member)
        assert source is not None  # a regular file
        if member.name == MANIFEST and not home and payload_hash is None:
            manifest = parse_manifest(_small(source, member))
        elif member.name == PAYLOAD and manifest is not None:
            payload_hash = _copy(source, scratch, manifest.payload_bytes, path)
        elif member.name.startswith(HOME_PREFIX) and manifest is not None:
            home[member.name[len(HOME_PREFIX) :]] = _small(source, member)
        else:
            raise BackupError(f"{path}: unexpected member {member.name[:80]!r}")
    if manifest is None or payload_hash is None:
        raise BackupError(f"{path} lacks its manifest or its payload (truncated?)")
    if payload_hash != manifest.payload_sha256:
        raise BackupError(
            f"{path}: the payload's sha256 is {payload_hash}, the manifest says "
            f"{manifest.payload_sha256}: the backup is corrupted"
        )
    if set(home) != set(manifest.home):
        raise BackupError(f"{path}: its home files are not those its manifest lists")
    for name, raw in home.items():
        if hashlib.sha256(raw).hexdigest() != manifest.home[name]:
            raise BackupError(f"{path}: home/{name} does not match its manifest hash")
    manifest.verified_checkpoint()
    return Backup(manifest, scratch, home)


def _small(source: IO[bytes], member: tarfile.TarInfo) -> bytes:
    if member.size > MAX_SMALL:
        raise BackupError(f"member {member.name!r} is over {MAX_SMALL} bytes")
    return source.read(MAX_SMALL + 1)


def _copy(source: IO[bytes], scratch: Path, expected: int, path: Path) -> str:
    digest, total = hashlib.sha256(), 0
    with os.fdopen(open_private(scratch, os.O_WRONLY | os.O_EXCL), "wb") as out:
        while chunk := source.read(CHUNK):
            total += len(chunk)
            if total > expected:
                raise BackupError(f"{path}: the payload is larger than its manifest says")
            digest.update(chunk)
            out.write(chunk)
    if total != expected:
        raise BackupError(
            f"{path}: the payload has {total} bytes, the manifest says {expected}"
        )
    return digest.hexdigest()
