"""The trust file (verify/formats/trust.py): what ``pmm export`` writes is what
the verifier reads, and a hostile trust file is an ``InputError`` naming it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from verify.errors import InputError
from verify.formats.note import Ed25519Signer
from verify.formats.trust import (
    TRUST_FILE,
    TRUST_FORMAT,
    load_trust,
    log_alone_policy,
    parse_trust,
    trust_bytes,
    trust_fields,
)

ORIGIN = "pmm.example/ledger"
LOG = Ed25519Signer.generate(ORIGIN)
VKEY = LOG.verifier().vkey()
GENESIS = b'{"entry_type":"genesis"}'


def _written(tmp_path: Path, fields: dict[str, str]) -> Path:
    path = tmp_path / TRUST_FILE
    path.write_bytes(trust_bytes(fields))
    return path


def test_trust_file_round_trips(tmp_path: Path) -> None:
    fields = trust_fields(ORIGIN, VKEY, GENESIS)
    order = ["format", "origin", "log_vkey", "genesis_entry_sha256", "policy"]
    assert list(fields) == order
    assert fields["format"] == TRUST_FORMAT == "pmm-trust/v1"
    assert fields["genesis_entry_sha256"] == hashlib.sha256(GENESIS).hexdigest()
    assert fields["policy"] == log_alone_policy(VKEY) == f"log {VKEY}\nquorum none\n"
    raw = trust_bytes(fields)
    assert raw == (json.dumps(fields, indent=2) + "\n").encode()
    roots = load_trust(_written(tmp_path, fields))
    assert (roots.origin, roots.log_vkey) == (ORIGIN, VKEY)
    assert roots.genesis_entry_sha256 == fields["genesis_entry_sha256"]
    assert roots.log == LOG.verifier()
    assert [log.verifier for log in roots.policy.logs] == [LOG.verifier()]


def test_a_given_policy_is_kept(tmp_path: Path) -> None:
    policy = f"log {VKEY}\nquorum none\n\n"
    fields = trust_fields(ORIGIN, VKEY, GENESIS, policy)
    assert fields["policy"] == policy
    assert load_trust(_written(tmp_path, fields)).origin == ORIGIN


def _hostile(**changes: str | None) -> dict[str, str]:
    fields = trust_fields(ORIGIN, VKEY, GENESIS)
    for name, value in changes.items():
        if value is None:
            del fields[name]
        else:
            fields[name] = value
    return fields


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (_hostile(format="pmm-trust/v2"), "trust file format must be 'pmm-trust/v1'"),
        (_hostile(origin=None), "trust file needs 'origin' as non-empty text"),
        (_hostile(log_vkey=""), "trust file needs 'log_vkey' as non-empty text"),
        (_hostile(genesis_entry_sha256="AB" * 32), "64 lowercase hex digits"),
        (_hostile(origin="other.example/log"), "not the origin 'other.example/log'"),
        (_hostile(policy="quorum none\n"), "the policy does not list log_vkey as a log"),
        (_hostile(log_vkey="not a key"), TRUST_FILE),
    ],
)
def test_hostile_trust_files_are_input_errors(
    tmp_path: Path, fields: dict[str, str], message: str
) -> None:
    path = _written(tmp_path, fields)
    with pytest.raises(InputError) as refused:
        load_trust(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "trust file is not JSON"),
        (b"\xff\xfe", "trust file is not JSON"),
        (b"[]", "trust file must be a JSON object"),
        (b"[" * 100_000, "nests arrays or objects too deeply"),
        (trust_bytes(trust_fields(ORIGIN, VKEY, GENESIS))[:-20], "trust file is not JSON"),
    ],
)
def test_malformed_trust_bytes_are_input_errors(raw: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_trust(raw, Path(TRUST_FILE))


def test_a_missing_or_huge_trust_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="trust file is missing"):
        load_trust(tmp_path / TRUST_FILE)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * ((1 << 20) + 1))
    with pytest.raises(InputError, match="larger than"):
        load_trust(huge)
