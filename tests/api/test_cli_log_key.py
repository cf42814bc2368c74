"""``pmm log-key rotate|show`` and a witness that follows the hand-over, on
SQLite and PostgreSQL (docs/key-compromise.md, docs/decisions.md 33).

The drill as an operator runs it: a draft, another admin's approval made from
it with ``pmm approve``, the rotation recorded; then the export verifies from
the first key pinned, and a witness whose operator replaced the log's key in
its configuration goes on cosigning from the size it cosigned before, while
a witness still configured with the old key refuses the new key's checkpoints.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from ledger.home import init_ledger, open_ledger
from ledger.keys import KeyPair
from ledger.log_keys import vkey_of
from ledger.persistence import Settings
from ledger.witness import Witness
from verify.check.verifier import verify_export
from verify.formats.cosignature import CosignatureSigner

runner = CliRunner()
ORIGIN = "test.pmm.example/log-key"


def pmm(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    result = runner.invoke(app, [*args, "--home", str(settings.home)], env=env)
    return result.exit_code, result.stdout  # without the stderr notes


def add_checkpoint(witness: Witness, old: int, proof: list[bytes], note: str) -> int:
    lines = [f"old {old}", *(base64.b64encode(p).decode() for p in proof)]
    request = ("\n".join(lines) + "\n\n" + note).encode()
    return witness.add_checkpoint(request).status


def test_the_drill_from_the_command_line(settings: Settings, tmp_path: Path) -> None:
    init_ledger(settings, ORIGIN).close()
    first = KeyPair.load(settings.home / "keys" / "log.key")
    ledger = open_ledger(settings)
    witness_key = CosignatureSigner("witness.example/w1", KeyPair.generate("w").private_key)
    state = tmp_path / "witness-state.json"
    old_vkey = ledger.log_vkey()
    assert (
        add_checkpoint(
            Witness(witness_key, [old_vkey], state), 0, [], ledger.sequencer.checkpoint()
        )
        == 200
    )
    ledger.close()
    code, draft = pmm(
        settings, "log-key", "rotate", "--as", "admin", "--reason", "drill", "--draft"
    )
    assert code == 0, draft
    draft_file = tmp_path / "draft.json"
    draft_file.write_text(draft)
    code, approval = pmm(settings, "approve", str(draft_file), "--as", "admin-2")
    assert code == 0, approval
    (tmp_path / "a2.json").write_text(approval)
    code, output = pmm(
        settings,
        "log-key",
        "rotate",
        "--as",
        "admin",
        "--reason",
        "drill",
        "--approval",
        str(tmp_path / "a2.json"),
    )
    assert code == 0, output
    code, shown = pmm(settings, "log-key", "show", "--json")
    found = json.loads(shown)
    new = KeyPair.load(settings.home / "keys" / "log-2.key")
    assert found["current"] == vkey_of(ORIGIN, new)
    assert found["hand_overs"] == [
        {"at": 1, "old_key": vkey_of(ORIGIN, first), "new_key": vkey_of(ORIGIN, new)}
    ]
    ledger = open_ledger(settings)
    try:
        note = ledger.sequencer.checkpoint()
        proof = ledger.sequencer.consistency(1, 2)
        # A witness still configured with the old key refuses the new key's
        # checkpoint; its operator names the new key, and it follows on.
        assert (
            add_checkpoint(Witness(witness_key, [old_vkey], state), 1, proof, note) == 403
        )
        assert (
            add_checkpoint(Witness(witness_key, [found["current"]], state), 1, proof, note)
            == 200
        )
        out = tmp_path / "export"
        code, exported = pmm(settings, "export", "--out", str(out))
        assert code == 0, exported
    finally:
        ledger.close()
    assert json.loads((out / "trust.json").read_text())["log_vkey"] == old_vkey
    result = verify_export(out, out / "trust.json")
    assert result.verified, result.findings
    assert result.log_keys == (old_vkey, found["current"])
