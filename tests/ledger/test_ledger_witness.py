"""Witnesses (C2SP tlog-witness): the witness's own rules on hostile requests,
and two witness processes cosigning a ledger's checkpoints to a quorum."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.application import Ledger, Recorded
from ledger.home import POLICY_FILE, open_ledger
from ledger.keys import KeyPair
from ledger.persistence import Settings
from ledger.witness import SIZE_TYPE, Witness
from verify.formats.checkpoint import Checkpoint, sign_checkpoint
from verify.formats.cosignature import CosignatureSigner
from verify.formats.note_keys import Ed25519Signer
from verify.formats.policy_text import parse_policy
from verify.formats.receipt import verify_receipt
from verify.merkle.tree import leaf_hash

if TYPE_CHECKING:
    from tests.conftest import Registration

ORIGIN = "witness.test/log"


def log_note(signer: Ed25519Signer, size: int, root: bytes) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root), signer)


def request(old: int, proof: list[bytes], note: str) -> bytes:
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return f"old {old}\n{lines}\n{note}".encode()


@pytest.fixture
def witness(tmp_path: Path) -> tuple[Witness, Ed25519Signer]:
    log = Ed25519Signer.generate(ORIGIN)
    signer = CosignatureSigner.generate("witness.test/w1")
    return Witness(signer, [log.verifier().vkey()], tmp_path / "state.json"), log


def test_witness_refuses_hostile_requests(witness: tuple[Witness, Ed25519Signer]) -> None:
    from verify.merkle.tree import consistency_proof, memory_perfect, root_of

    w, log = witness
    leaves = [leaf_hash(bytes([i])) for i in range(8)]
    perfect = memory_perfect(leaves)
    first = log_note(log, 4, root_of(leaves[:4]))
    assert w.add_checkpoint(request(0, [], first)).status == 200
    assert w.latest(ORIGIN)[0] == 4
    second = log_note(log, 8, root_of(leaves))
    stale = w.add_checkpoint(request(0, [], second))
    assert (stale.status, stale.body, stale.content_type) == (409, "4\n", SIZE_TYPE)
    assert w.add_checkpoint(request(4, [b"\x00" * 32], second)).status == 422
    assert w.add_checkpoint(request(9, [], second)).status == 400
    other = Ed25519Signer.generate("other.test/log")
    assert (
        w.add_checkpoint(
            request(
                0, [], sign_checkpoint(Checkpoint("other.test/log", 1, leaves[0]), other)
            )
        ).status
        == 404
    )
    forged = Ed25519Signer(ORIGIN, Ed25519Signer.generate("x").private_key)
    assert (
        w.add_checkpoint(request(4, [], log_note(forged, 8, root_of(leaves)))).status == 403
    )
    assert w.add_checkpoint(b"old 04\n\n" + second.encode()).status == 400
    assert w.add_checkpoint(b"garbage").status == 400
    fork = log_note(log, 4, root_of(leaves[1:5]))  # same size, another root
    assert w.add_checkpoint(request(4, [], fork)).status == 409
    assert w.latest(ORIGIN)[0] == 4  # nothing above changed its state
    proof = consistency_proof(4, 8, perfect)
    good = w.add_checkpoint(request(4, proof, second))
    assert good.status == 200 and good.body.startswith("— witness.test/w1 ")
    assert w.latest(ORIGIN) == (8, root_of(leaves))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def witnessed(
    ledger: Ledger, tmp_path: Path
) -> Iterator[tuple[Ledger, list[subprocess.Popen[bytes]]]]:
    """The ledger fixture, reopened with two witness processes as its quorum."""
    pmm = str(Path(sys.executable).parent / "pmm")
    processes, lines = [], [f"log {ledger.log_vkey()}\n"]
    for name in ("w1", "w2"):
        key = tmp_path / f"{name}.key"
        vkey = subprocess.run(
            [pmm, "witness", "keygen", f"witness.test/{name}", "--out", str(key)],
            capture_output=True,
            text=True,
            check=True,
        )
        port = _free_port()
        processes.append(
            subprocess.Popen(
                [
                    pmm,
                    "witness",
                    "serve",
                    "--key",
                    str(key),
                    "--state",
                    str(tmp_path / f"{name}.json"),
                    "--log",
                    ledger.log_vkey(),
                    "--listen",
                    f"127.0.0.1:{port}",
                ],
                stdout=subprocess.DEVNULL,
            )
        )
        lines.append(f"witness {name} {vkey.stdout.strip()} http://127.0.0.1:{port}\n")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
    settings: Settings = ledger.settings
    (settings.home / POLICY_FILE).write_text(
        "".join(lines) + "group both all w1 w2\nquorum both\n"
    )
    ledger.close()
    reopened = open_ledger(settings)
    try:
        yield reopened, processes
    finally:
        reopened.close()
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


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


def test_a_checkpoint_below_quorum_is_reported_not_hidden(
    witnessed: tuple[Ledger, list[subprocess.Popen[bytes]]],
    registration: Registration,
) -> None:
    ledger, processes = witnessed
    processes[1].terminate()
    processes[1].wait(timeout=10)
    recorded = register(ledger, registration, "late")
    assert ledger.last_witnessed is not None
    assert not ledger.last_witnessed.quorum_met
    assert ledger.last_witnessed.cosigners == {"w1"}
    assert [r.split(":")[0] for r in ledger.last_witnessed.refusals] == ["w2"]
    # The write is recorded and its receipt names the checkpoint as it is.
    assert recorded.receipt is not None and recorded.receipt.count("— witness.test/") == 1


def test_two_witness_processes_cosign_to_quorum(
    witnessed: tuple[Ledger, list[subprocess.Popen[bytes]]],
    registration: Registration,
) -> None:
    ledger, _ = witnessed
    policy = parse_policy((ledger.settings.home / POLICY_FILE).read_bytes())
    for n in range(3):
        key = KeyPair.generate(f"r{n}")
        body = {
            "member": None,
            "name": f"Reviewer {n}",
            "principal": f"r{n}",
            "public_key": key.public_key,
            "role": "peer_reviewer",
        }
        recorded = ledger.record(registration(ledger, body))
        assert ledger.last_witnessed is not None
        assert ledger.last_witnessed.quorum_met, ledger.last_witnessed.refusals
        assert recorded.receipt is not None
        entry = ledger.sequencer.store.entries(recorded.log_index, recorded.log_index + 1)
        verified = verify_receipt(recorded.receipt, leaf_hash(entry[0][1]), policy)
        assert verified.checkpoint.cosigners == {"w1", "w2"}
    note = ledger.sequencer.checkpoint()
    # The witnesses are asked at once; their cosignatures follow in the policy's order.
    signers = [line.split()[1] for line in note.split("\n\n", 1)[1].splitlines()]
    assert [w.name for w in policy.witnesses] == ["w1", "w2"]
    assert signers[1:] == ["witness.test/w1", "witness.test/w2"]
