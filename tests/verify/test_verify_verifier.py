"""The offline verifier on clean exports, and its answer to unreadable input.

Real ledgers (SQLite and PostgreSQL, the ``world`` fixture) are exported with
``pmm export``'s code, then checked by ``verify.check.verifier`` and its CLI
(``python -m verify``): exit 0 and a stable JSON report when all is well, exit
2 with a message naming the file when the folder, trust file or state file
cannot be used, exit 1 (a finding) when the bundle's own files are damaged.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.export import export
from ledger.keys import KeyPair
from verify.__main__ import main
from verify.check.findings import Finding
from verify.check.signatures import SignatureJob, SignaturePool
from verify.check.verifier import verify_export
from verify.formats.checkpoint import parse_checkpoint
from verify.formats.cosignature import CosignatureSigner
from verify.formats.note import parse_note
from verify.formats.statement import SignedStatement, key_id

if TYPE_CHECKING:
    from tests.conftest import World


def populate(world: World) -> KeyPair:
    """Values from two NCPs, a key rotation and a revocation; the new KEN key."""
    world.hours(world.ncp_ken, world.KEN, "12.5")
    world.hours(world.ncp_bra, world.BRA, "30")
    rotated = KeyPair.generate(world.ncp_ken.principal)
    body = {
        "principal": "ncp-ken",
        "public_key": rotated.public_key,
        "reason": "lost laptop",
    }
    world.record(world.ncp_ken, "registry", "principal.key_rotated", body)
    world.submit(rotated, world.KEN, world.KPI_PERCENT, {"amount": "87.5"}, "percent")
    body = {"principal": "ncp-bra", "reason": "left the administration"}
    world.record(world.admin, "registry", "principal.revoked", body)
    source = {"name": "World Bank DataBank", "sha256": "a" * 64}
    ratio = {"numerator": "3", "denominator": "4"}
    world.submit(world.sec, world.BRA, world.KPI_RATIO, ratio, "ratio", source=source)
    return rotated


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_clean_export_verifies_with_json_report_and_state(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    populate(world)
    out = tmp_path / "export"
    export(world.ledger, out)
    state = tmp_path / "auditor" / "state.json"
    code, text, err = run(
        capsys, out, "--trust", out / "trust.json", "--state", state, "--json"
    )
    assert (code, err) == (0, "")
    report = json.loads(text)
    size = world.ledger.log_size()
    assert report["format"] == "pmm-verify-result/v1"
    assert report["verified"] is True and report["exit_code"] == 0
    assert report["origin"] == world.ledger.origin
    assert report["checkpoint"]["size"] == size
    assert (
        report["checkpoint"]["cosigners"] == [] and report["checkpoint"]["quorum"] == "none"
    )
    assert report["counts"]["entries"] == size
    assert report["counts"]["streams"] == 4  # registry, framework, KEN, BRA
    # 6 principals of the world, the 3 genesis admins and the ledger's own.
    assert report["counts"]["principals"] == 10
    by_type = report["counts"]["by_type"]
    assert by_type["registry.genesis"] == 1 and by_type["principal.revoked"] == 1
    assert by_type["value.submitted"] == 4 and sum(by_type.values()) == size
    assert report["first_failure"] is None and report["findings"] == []
    assert report["state"] == {"file": str(state), "checkpoints_seen": 0, "updated": True}
    saved = json.loads(state.read_text())
    assert saved["format"] == "pmm-verifier-state/v1"
    assert [c["size"] for c in saved["checkpoints"]] == [size]
    assert saved["checkpoints"][0]["note"] == (out / "checkpoint").read_text()
    # Again with the state: still consistent, plain output.
    code, text, _ = run(capsys, out, "--trust", out / "trust.json", "--state", state)
    assert code == 0
    assert text.startswith(f"verified {world.ledger.origin}: {size} entries, 4 streams")
    assert "1 checkpoint(s) seen before" in text


def test_result_object_and_parallel_workers(world: World, tmp_path: Path) -> None:
    populate(world)
    out = tmp_path / "export"
    export(world.ledger, out)
    inline = verify_export(out, out / "trust.json", workers=1)
    parallel = verify_export(out, out / "trust.json", workers=2)
    assert inline == parallel
    assert inline.verified and inline.first_failure is None
    assert inline.counts.entries == inline.size == world.ledger.log_size()
    assert dict(inline.counts.by_type)["principal.key_rotated"] == 1
    assert inline.state_file is None and not inline.state_updated


def test_growing_log_stays_consistent_with_the_state(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    first, second = tmp_path / "first", tmp_path / "second"
    export(world.ledger, first)
    before = world.ledger.log_size()
    assert run(capsys, first, "--trust", first / "trust.json", "--state", state)[0] == 0
    populate(world)
    export(world.ledger, second)
    assert run(capsys, second, "--trust", first / "trust.json", "--state", state)[0] == 0
    sizes = [c["size"] for c in json.loads(state.read_text())["checkpoints"]]
    assert sizes == [before, world.ledger.log_size()] and before < sizes[1]


def test_witness_cosignatures_meet_the_quorum(world: World, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export(world.ledger, out)
    witness = CosignatureSigner.generate("audit.example/witness")
    note = (out / "checkpoint").read_text()
    body = parse_note(note).text
    cosigned = note + f"— {witness.name} " + _cosignature(witness, body) + "\n"
    (out / "checkpoint").write_text(cosigned)
    trust = json.loads((out / "trust.json").read_text())
    trust["policy"] = (
        f"log {trust['log_vkey']}\nwitness auditor {witness.verifier().vkey()}\n"
        "quorum auditor\n"
    )
    pinned = tmp_path / "trust.json"
    pinned.write_text(json.dumps(trust))
    result = verify_export(out, pinned)
    assert result.verified and result.cosigners == ("auditor",)
    assert result.size == parse_checkpoint(body).size


def _cosignature(witness: CosignatureSigner, body: str) -> str:
    raw = witness.key_id.to_bytes(4, "big") + witness.sign_at(body.encode(), 1_700_000_000)
    return base64.b64encode(raw).decode()


# -- input errors: exit 2, the file named, never "verified" ---------------------------


@pytest.fixture
def exported(world: World, tmp_path: Path) -> Path:
    out = tmp_path / "export"
    export(world.ledger, out)
    return out


def _input_error(
    capsys: pytest.CaptureFixture[str], *args: str | Path, names: str, says: str
) -> dict[str, Any]:
    code, text, err = run(capsys, *args)
    assert code == 2, (text, err)
    assert err.startswith("error: ") and names in err and says in err, err
    assert "Traceback" not in err and "verified" not in text
    code, text, _ = run(capsys, *args, "--json")
    report: dict[str, Any] = json.loads(text)
    assert (code, report["verified"], report["exit_code"]) == (2, False, 2)
    assert names in report["error"]
    return report


def test_missing_export_folder(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = tmp_path / "nowhere"
    trust = exported / "trust.json"
    _input_error(capsys, gone, "--trust", trust, names=str(gone), says="no such export")


def test_missing_trust_file(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = tmp_path / "trust.json"
    _input_error(capsys, exported, "--trust", trust, names=str(trust), says="missing")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not JSON"),
        ("[]", "JSON object"),
        ('{"format": "pmm-trust/v1"}', "'origin'"),
    ],
)
def test_malformed_trust_file(
    exported: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    says: str,
) -> None:
    trust = tmp_path / "trust.json"
    trust.write_text(content)
    _input_error(capsys, exported, "--trust", trust, names=str(trust), says=says)


def test_trust_file_with_a_policy_without_its_log(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = json.loads((exported / "trust.json").read_text())
    trust["policy"] = "quorum none\n"
    pinned = tmp_path / "trust.json"
    pinned.write_text(json.dumps(trust))
    _input_error(
        capsys,
        exported,
        "--trust",
        pinned,
        names=str(pinned),
        says="does not list log_vkey",
    )


def _failed(capsys: pytest.CaptureFixture[str], *args: str | Path) -> dict[str, Any]:
    """Damaged bundle content is a verdict: exit 1, a finding, nothing on stderr."""
    code, text, err = run(capsys, *args, "--json")
    assert (code, err) == (1, ""), (text, err)
    report: dict[str, Any] = json.loads(text)
    assert report["verified"] is False and report["exit_code"] == 1
    return report


def test_truncated_entry_bundle_is_a_finding(
    exported: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trust = tmp_path / "trust.json"
    shutil.copy(exported / "trust.json", trust)
    bundle_file = next((exported / "tile" / "entries").iterdir())
    if bundle_file.is_dir():  # 000.p/<W>
        bundle_file = next(bundle_file.iterdir())
    data = bundle_file.read_bytes()
    bundle_file.write_bytes(data[: len(data) - 10])
    report = _failed(capsys, exported, "--trust", trust)
    failure = report["first_failure"]
    size = report["checkpoint"]["size"]
    assert (failure["check"], failure["index"]) == ("entry", size - 1)
    relative = str(bundle_file.relative_to(exported))
    assert failure["reason"].startswith(f"entry {size - 1} cannot be read from {relative}")


def test_missing_checkpoint_and_hash_tile_are_findings(
    exported: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trust = tmp_path / "trust.json"
    shutil.copy(exported / "trust.json", trust)
    tile = next(p for p in (exported / "tile" / "0").rglob("*") if p.is_file())
    tile.unlink()
    report = _failed(capsys, exported, "--trust", trust)
    assert report["first_failure"]["check"] == "tiles"
    assert report["first_failure"]["reason"] == (
        f"hash tile {tile.relative_to(exported)} does not exist"
    )
    (exported / "checkpoint").write_text("not a note\n")
    report = _failed(capsys, exported, "--trust", trust)
    assert [f["check"] for f in report["findings"]] == ["checkpoint"]
    assert "not a signed checkpoint note" in report["first_failure"]["reason"]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{", "not JSON"),
        ('{"format": "other"}', "format"),
        (
            '{"format": "pmm-verifier-state/v1", "origin": "elsewhere", "checkpoints": []}',
            "origin",
        ),
        ("STATE_WITH_BAD_NOTE", "not a checkpoint signed by the log"),
    ],
)
def test_malformed_state_file(
    exported: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    says: str,
) -> None:
    trust = json.loads((exported / "trust.json").read_text())
    if content == "STATE_WITH_BAD_NOTE":
        note = (exported / "checkpoint").read_text().replace("\n\n", "\nextra\n\n")
        root = parse_checkpoint(parse_note((exported / "checkpoint").read_text()).text).root
        item = {"size": 1, "root": base64.b64encode(root).decode(), "note": note}
        content = json.dumps(
            {
                "format": "pmm-verifier-state/v1",
                "origin": trust["origin"],
                "checkpoints": [item],
            }
        )
    state = tmp_path / "state.json"
    state.write_text(content)
    before = state.read_text()
    _input_error(
        capsys,
        exported,
        "--trust",
        exported / "trust.json",
        "--state",
        state,
        names=str(state),
        says=says,
    )
    assert state.read_text() == before


def test_signature_pool_checks_chunks_in_worker_processes() -> None:
    key, other = KeyPair.generate("p"), KeyPair.generate("q")

    def job(index: int, signer: KeyPair) -> SignatureJob:
        statement = {"principal": "p", "nonce": str(index)}
        signed = SignedStatement(statement, "")
        signature = signer.private_key.sign(b"pmm-statement/v1\n" + signed.canonical())
        return SignatureJob(
            index,
            "registry",
            "principal.registered",
            "p",
            key_id(key.public_bytes),
            key.public_bytes,
            base64.b64encode(signature).decode(),
            signed.canonical(),
        )

    found: list[Finding] = []
    pool = SignaturePool(2, found.append)
    try:
        for start in range(0, 40, 8):  # more chunks than may be in flight
            pool.submit(
                [job(i, other if i in (13, 30) else key) for i in range(start, start + 8)]
            )
        pool.finish()
        assert pool.parallel  # every chunk went through the worker processes
    finally:
        pool.close()
    assert sorted(f.index or 0 for f in found) == [13, 30]
    assert {f.check for f in found} == {"signature"}


def test_an_unexpected_error_is_exit_2_without_a_traceback(
    exported: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import verify.__main__ as cli

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli, "verify_export", broken)
    code, text, err = run(capsys, exported, "--trust", exported / "trust.json")
    assert (code, text) == (2, "")
    assert err == (
        f"error: {exported}: internal error, nothing verified: RuntimeError: disk on fire\n"
    )
