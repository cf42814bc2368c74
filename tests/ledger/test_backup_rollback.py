"""Restoring an older backup rolls the log back; writing to it then forks it.
Both are detected (docs/backup.md "Rollback detection", decision 32), on SQLite
and PostgreSQL, by the three parties that remember a later checkpoint:

1. the witness (a real ``pmm witness serve`` process) refuses to cosign, and
   the ledger's write reports why (rolled back, then forked);
2. the verifier's state file: ``rollback``, then ``rewrite`` findings;
3. a client's receipt from after the backup: ``check_receipt`` says rollback,
   then fork.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from ledger.application import Ledger
from ledger.backup import make_backup
from ledger.home import POLICY_FILE, open_ledger
from ledger.keys import KeyPair
from ledger.persistence import Settings
from ledger.receipt_check import LedgerSource, ReceiptCheck, Trust, check_receipt
from ledger.restore import restore_backup
from ledger.witnessing import Witnessed
from tests.ledger.backups import drop_replaced, register, verified
from verify.formats.cosignature import CosignatureSigner
from verify.formats.note_keys import Ed25519Verifier
from verify.formats.policy_text import parse_policy

if TYPE_CHECKING:
    from tests.conftest import Registration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Setup:
    settings: Settings
    state: Path  # the witness's own state file
    trust: Trust


# The witness of ``pmm witness serve`` (api/cli/witness.py) without the rest of
# the command line, which takes seconds to import on a loaded machine.
SERVE = """
import sys
from pathlib import Path
from api.witness_server import make_server
from ledger.keys import KeyPair
from ledger.witness import Witness
from verify.formats.cosignature import CosignatureSigner
key, state, log, port = sys.argv[1:]
pair = KeyPair.load(Path(key))
signer = CosignatureSigner(pair.principal, pair.private_key)
server, sock = make_server(Witness(signer, [log], Path(state)), "127.0.0.1", int(port))
server.run(sockets=[sock])
"""


@pytest.fixture
def witnessed(ledger: Ledger, tmp_path: Path) -> Iterator[Setup]:
    """The ledger, closed, with one witness process as its quorum."""
    key, state, port = tmp_path / "w1.key", tmp_path / "w1.json", _free_port()
    pair = KeyPair.generate("witness.test/w1")
    pair.save(key)
    vkey = CosignatureSigner(pair.principal, pair.private_key).verifier().vkey()
    log_vkey = ledger.log_vkey()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(key), str(state), log_vkey, str(port)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    policy = f"log {log_vkey}\nwitness w1 {vkey} http://127.0.0.1:{port}\nquorum w1\n"
    (ledger.settings.home / POLICY_FILE).write_text(policy)
    ledger.close()
    trust = Trust(ledger.origin, Ed25519Verifier.from_vkey(log_vkey), parse_policy(policy))
    try:
        yield Setup(ledger.settings, state, trust)
    finally:
        process.terminate()
        process.wait(timeout=10)
        drop_replaced(ledger.settings)


@dataclass(frozen=True)
class Wrote:
    witnessed: Witnessed  # how the witness answered the last write
    receipt: str  # the last write's receipt


def _write(settings: Settings, registration: Registration, *names: str) -> Wrote:
    """Record one registration per name, each in its own write."""
    ledger = open_ledger(settings)
    try:
        receipt = [register(ledger, registration, name).receipt for name in names][-1]
        assert ledger.last_witnessed is not None and receipt is not None
        return Wrote(ledger.last_witnessed, receipt)
    finally:
        ledger.close()


def _receipt_check(settings: Settings, receipt: str, trust: Trust) -> ReceiptCheck:
    ledger = open_ledger(settings)
    try:
        return check_receipt(receipt.encode(), trust, LedgerSource(ledger))
    finally:
        ledger.close()


def test_restoring_an_older_backup_is_detected_three_ways(
    witnessed: Setup, registration: Registration, tmp_path: Path
) -> None:
    settings, trust = witnessed.settings, witnessed.trust
    state = tmp_path / "verifier-state.json"
    assert _write(settings, registration, "a", "b").witnessed.quorum_met
    make_backup(settings, tmp_path / "at-3")
    receipt = _write(settings, registration, "c", "d", "e").receipt
    assert verified(settings, tmp_path, state).verified  # the verifier saw size 6
    assert _receipt_check(settings, receipt, trust).verdict == "consistent"

    restore_backup(settings, tmp_path / "at-3", force=True)  # the rollback, to size 3

    # (2) the verifier's state file
    result = verified(settings, tmp_path, state)
    assert not result.verified and result.size == 3
    assert [f.check for f in result.findings] == ["rollback"]
    assert "older than the checkpoint of size 6 seen before" in result.findings[0].reason
    # (3) the client's receipt (entry 5, in the tree of size 6)
    check = _receipt_check(settings, receipt, trust)
    assert (check.verdict, check.receipt_size, check.ledger_size) == ("rollback", 6, 3)
    assert "restored from an older backup" in check.message
    # (1) the witness, at the next write: rolled back ...
    after = _write(settings, registration, "x").witnessed
    assert not after.quorum_met
    (refusal,) = after.refusals
    assert "cosigned a checkpoint of size 6, larger than this log's 4" in refusal
    assert "rolled back" in refusal
    # ... then, once the log is as long as what it cosigned, forked.
    same_size = _write(settings, registration, "y", "z").witnessed
    assert "another tree of size 6" in same_size.refusals[0]
    forked = _write(settings, registration, "fork").witnessed
    assert not forked.quorum_met
    assert "consistency proof refused" in forked.refusals[0]
    assert "forked" in forked.refusals[0]
    # A submitter over HTTP is told in the 201's witnesses, not only the CLI.
    ledger = open_ledger(settings)
    try:
        key = KeyPair.generate("over-http")
        body = {
            **{"member": None, "name": "over-http", "principal": "over-http"},
            **{"public_key": key.public_key, "role": "peer_reviewer"},
        }
        signed = registration(ledger, body)
        with TestClient(create_app(settings, ledger=ledger)) as client:
            answer = client.post(
                "/statements",
                content=signed.to_bytes(),
                headers={"Content-Type": "application/json"},
            )
    finally:
        ledger.close()
    assert answer.status_code == 201, answer.text
    told = answer.json()["witnesses"]
    assert not told["quorum_met"] and told["cosigners"] == []
    assert "forked" in told["refusals"][0]
    # The witness's own memory never moved back.
    assert '"size": 6' in witnessed.state.read_text()

    # The log is now longer than what the verifier and the client saw: a fork.
    result = verified(settings, tmp_path, state)
    assert result.size == 8 and "rewrite" in [f.check for f in result.findings]
    check = _receipt_check(settings, receipt, trust)
    assert (check.verdict, check.ledger_size) == ("fork", 8)


def test_a_restore_of_the_latest_backup_is_no_rollback(
    witnessed: Setup, registration: Registration, tmp_path: Path
) -> None:
    """The control: restoring the newest backup loses nothing, and every
    party that remembers a checkpoint accepts the ledger's next ones."""
    settings, trust = witnessed.settings, witnessed.trust
    state = tmp_path / "verifier-state.json"
    receipt = _write(settings, registration, "a", "b").receipt
    assert verified(settings, tmp_path, state).verified
    make_backup(settings, tmp_path / "latest")
    restore_backup(settings, tmp_path / "latest", force=True)
    assert _write(settings, registration, "c").witnessed.quorum_met
    assert verified(settings, tmp_path, state).verified
    assert _receipt_check(settings, receipt, trust).verdict == "consistent"
