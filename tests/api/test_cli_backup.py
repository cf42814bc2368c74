"""``pmm backup``, ``pmm restore``, ``pmm verify --state`` and ``pmm receipt
check`` from the command line, on SQLite and PostgreSQL (docs/backup.md)."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from typer.testing import CliRunner

from api.cli import app
from api.http import create_app
from ledger import pg_tools
from ledger.application import Ledger
from ledger.errors import ConfigurationError
from ledger.home import POLICY_FILE, open_ledger
from ledger.keys import KeyPair
from ledger.persistence import Settings
from tests.ledger.backups import drop_replaced, lose_database, register
from verify.formats.cosignature import CosignatureSigner

if TYPE_CHECKING:
    from tests.conftest import Registration

runner = CliRunner()


def pmm(settings: Settings, *args: str, path: str | None = None) -> tuple[int, str]:
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "300"}
    if path is not None:
        env["PATH"] = path
    result = runner.invoke(app, [*args, "--home", str(settings.home)], env=env)
    return result.exit_code, result.output


def test_backup_restore_verify_from_the_command_line(
    ledger: Ledger, registration: Registration, tmp_path: Path
) -> None:
    for name in ("a", "b"):
        register(ledger, registration, name)
    settings = ledger.settings
    ledger.close()
    backup = tmp_path / "ledger.pmmbackup"
    code, output = pmm(settings, "backup", "--out", str(backup), "--json")
    assert code == 0, output
    summary = json.loads(output)
    assert (summary["log_size"], summary["backend"]) == (3, settings.backend)
    code, output = pmm(settings, "backup", "--out", str(backup))
    assert code == 1 and "never overwrites" in output
    keys = tmp_path / "keys"
    shutil.copytree(settings.home / "keys", keys)
    lose_database(settings)
    new = Settings(tmp_path / "new", settings.database_url)
    code, output = pmm(new, "restore", str(backup))
    assert code == 1 and "Keys are never in a backup" in output
    code, output = pmm(new, "restore", str(backup), "--keys", str(keys))
    assert code == 0, output
    assert "restored" in output and "at log size 3" in output
    code, output = pmm(new, "verify")
    assert code == 0, output
    assert output.startswith("verified ") and "size 3" in output
    code, output = pmm(new, "restore", str(backup), "--keys", str(keys))
    assert code == 1 and "already holds 3 stored entries" in output


def test_rollback_fails_verify_state_and_receipt_check(
    ledger: Ledger, registration: Registration, tmp_path: Path
) -> None:
    settings = ledger.settings
    ledger.close()
    older = tmp_path / "older"
    assert pmm(settings, "backup", "--out", str(older))[0] == 0
    reopened = open_ledger(settings)
    receipt = tmp_path / "entry-2.tlog-proof"
    for name in ("a", "b"):
        recorded = register(reopened, registration, name)
    assert recorded.receipt is not None
    receipt.write_text(recorded.receipt)
    reopened.close()
    state = tmp_path / "state.json"
    assert pmm(settings, "verify", "--state", str(state))[0] == 0
    assert pmm(settings, "verify")[0] == 0  # HOME/verifier-state.json
    code, output = pmm(settings, "receipt", "check", str(receipt))
    assert code == 0 and output.startswith("consistent: "), output

    code, output = pmm(settings, "restore", str(older), "--force")
    assert code == 0 and "kept as" in output, output

    code, output = pmm(settings, "verify", "--state", str(state))
    assert code == 1 and "rollback" in output and "rolled back" in output, output
    # The home's own verifier state is not in the backup: it remembers too.
    code, output = pmm(settings, "verify")
    assert code == 1 and "rollback" in output, output
    code, output = pmm(settings, "receipt", "check", str(receipt), "--json")
    assert code == 1, output
    result = json.loads(output)
    assert (result["verdict"], result["receipt_size"], result["ledger_size"]) == (
        "rollback",
        3,
        1,
    )
    code, output = pmm(settings, "receipt", "check", str(tmp_path / "state.json"))
    assert code == 1 and "the receipt does not verify" in output
    drop_replaced(settings)


@pytest.mark.parametrize("backend", ["postgresql"])  # the tools matter to it only
def test_missing_or_old_postgresql_tools_are_named(ledger: Ledger, tmp_path: Path) -> None:
    settings = ledger.settings
    ledger.close()
    empty = tmp_path / "no-tools"
    empty.mkdir()
    code, output = pmm(settings, "backup", "--out", str(tmp_path / "b"), path=str(empty))
    assert code == 2 and "pg_dump is not on PATH" in output, output
    assert not (tmp_path / "b").exists()
    # The installed tools against the running server: the versions the rule reads.
    target = pg_tools.Target.of(settings)
    with target.connect() as conn:
        server = pg_tools.server_major(conn)
    _, major = pg_tools.tool("pg_dump")
    pg_tools.check_versions("pg_dump", major, server)  # this machine's pair passes
    with pytest.raises(ConfigurationError, match="postgresql-client-99"):
        pg_tools.check_versions("pg_dump", major, 99)
    banner = "pg_restore (PostgreSQL) 16.4 (Debian 16.4-1.pgdg120+1)\n"
    assert pg_tools.major_of(banner, "pg_restore") == 16
    with pytest.raises(ConfigurationError, match="cannot tell the version"):
        pg_tools.major_of("pg_restore 9", "pg_restore")


@contextmanager
def served(settings: Settings) -> Iterator[tuple[str, Ledger]]:
    """The HTTP API (api/http) on a free loopback port, in a thread."""
    ledger = open_ledger(settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(create_app(settings, ledger), port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", ledger
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        ledger.close()


def test_receipt_check_asks_a_served_ledger(
    ledger: Ledger, registration: Registration, tmp_path: Path
) -> None:
    settings = ledger.settings
    ledger.close()
    older = tmp_path / "older"
    assert pmm(settings, "backup", "--out", str(older))[0] == 0
    trust, receipt = tmp_path / "export" / "trust.json", tmp_path / "r.tlog-proof"
    with served(settings) as (url, live):
        recorded = register(live, registration, "a")
        assert recorded.receipt is not None
        receipt.write_text(recorded.receipt)
        assert pmm(settings, "export", "--out", str(tmp_path / "export"))[0] == 0
        code, output = pmm(settings, "receipt", "check", str(receipt), "--url", url)
        assert code == 2 and "--url needs --trust" in output
        args = ("receipt", "check", str(receipt), "--url", url, "--trust", str(trust))
        code, output = pmm(settings, *args)
        assert code == 0 and "inclusion not checked" in output, output
        if settings.database_url is None:  # the server has the SQLite file open
            code, output = pmm(settings, "restore", str(older), "--force")
            assert code == 1 and "stop pmm serve" in output, output
    assert pmm(settings, "restore", str(older), "--force")[0] == 0
    with served(settings) as (url, _):
        args = ("receipt", "check", str(receipt), "--url", url, "--trust", str(trust))
        code, output = pmm(settings, *args)
    assert code == 1 and output.startswith("rollback: "), output
    drop_replaced(settings)


def test_a_write_below_the_witness_quorum_says_why(ledger: Ledger, tmp_path: Path) -> None:
    """``pmm submit`` reports each witness's refusal on stderr (here: no witness
    answers; the rollback and fork reasons are in test_backup_rollback.py)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])  # closed once the block ends
    witness = CosignatureSigner.generate("witness.test/w1").verifier().vkey()
    policy = (
        f"log {ledger.log_vkey()}\nwitness w1 {witness} http://127.0.0.1:{port}\n"
        "quorum w1\n"
    )
    (ledger.settings.home / POLICY_FILE).write_text(policy)
    settings = ledger.settings
    ledger.close()
    body = {
        "member": None,
        "name": "Late reviewer",
        "principal": "late",
        "public_key": KeyPair.generate("late").public_key,
        "role": "peer_reviewer",
    }
    draft = tmp_path / "draft.json"
    draft.write_text(
        json.dumps({"type": "principal.registered", "stream": "registry", "body": body})
    )
    args = ("submit", str(draft), "--as", "admin", "--approve", "admin-2")
    code, output = pmm(settings, *args)
    assert code == 0, output
    assert "warning: the checkpoint is below the witness quorum" in output
    assert "witness w1: " in output


def test_receipt_check_with_the_entry_and_a_forged_path(
    ledger: Ledger, registration: Registration, tmp_path: Path
) -> None:
    recorded = register(ledger, registration, "a")
    register(ledger, registration, "b")
    assert recorded.receipt is not None
    entry = tmp_path / "entry"
    entry.write_bytes(ledger.sequencer.store.entry(recorded.log_index))
    settings = ledger.settings
    ledger.close()
    receipt = tmp_path / "r.tlog-proof"
    receipt.write_text(recorded.receipt)
    args = ("receipt", "check", str(receipt), "--entry", str(entry))
    code, output = pmm(settings, *args)
    assert code == 0 and "log of size 3 extends the checkpoint of size 2" in output
    assert "entry 1 is in both" in output
    # The audit path's hash replaced: the checkpoint still verifies, the path not.
    lines = recorded.receipt.split("\n")
    lines[2] = base64.b64encode(b"\x07" * 32).decode()
    receipt.write_text("\n".join(lines))
    code, output = pmm(settings, *args)
    assert code == 1 and "inclusion proof fails" in output, output
