"""Witnessing outside the writer lock (docs/decisions.md 31),
with a real witness process behind a proxy that makes it slow or hung: another
writer's write completes while one waits on the hung witness; writes succeed
and name the refusal when the witness hangs past its timeout; and the witness
is sent sizes that never decrease, while several writers write at once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.application import Ledger, Recorded
from ledger.errors import StaleVersionError
from ledger.home import POLICY_FILE, open_ledger
from tests.faults.load_kit import registration
from tests.faults.witness_proxy import Proxy, witness_behind_proxy
from verify.formats.policy_text import TrustPolicy, parse_policy
from verify.formats.receipt import verify_receipt
from verify.merkle.tree import leaf_hash

COSIGNED = "— witness.test/w1 "


@pytest.fixture
def witnessed(ledger: Ledger, tmp_path: Path) -> Iterator[tuple[Ledger, Ledger, Proxy]]:
    """Two instances of the ledger (as two processes would have), with one real
    witness behind a proxy as their quorum."""
    settings = ledger.settings
    with witness_behind_proxy(ledger.log_vkey(), tmp_path, "w1") as (vkey, proxy):
        (settings.home / POLICY_FILE).write_text(
            f"log {ledger.log_vkey()}\nwitness w1 {vkey} {proxy.url}\nquorum w1\n"
        )
        ledger.close()
        first, second = open_ledger(settings), open_ledger(settings)
        try:
            yield first, second, proxy
        finally:
            proxy.gate.set()
            first.close()
            second.close()


def policy_of(ledger: Ledger) -> TrustPolicy:
    return parse_policy((ledger.settings.home / POLICY_FILE).read_bytes())


def register(ledger: Ledger, name: str) -> Recorded:
    """Register a principal, signing again while another writer took the version."""
    while True:
        version = ledger.stream_version("registry")
        try:
            return ledger.record(
                registration(ledger.settings, ledger.origin, name, version)
            )
        except StaleVersionError:
            continue


def verifies(ledger: Ledger, index: int, receipt: str) -> bool:
    """Whether the receipt proves entry ``index`` with the witness quorum met."""
    leaf = leaf_hash(ledger.sequencer.store.entry(index))
    return verify_receipt(receipt, leaf, policy_of(ledger)).checkpoint.cosigners == {"w1"}


def test_a_write_completes_while_another_waits_on_a_hung_witness(
    witnessed: tuple[Ledger, Ledger, Proxy],
) -> None:
    first, second, proxy = witnessed
    assert first.witnesses is not None
    first.witnesses.timeout = 120.0  # the first writer waits as long as the witness hangs
    proxy.gate.clear()
    found: dict[str, Recorded] = {}
    waiting = threading.Thread(target=lambda: found.update(a=register(first, "a")))
    waiting.start()
    assert proxy.arrived.wait(60), "the first writer never asked the witness"
    # The first write is committed and its writer is stuck on the witness: the
    # second writer records, and returns, without waiting for it.
    b = register(second, "b")
    assert waiting.is_alive(), "the first writer should still be waiting on the witness"
    assert b.witnessed is not None and not b.witnessed.quorum_met
    assert "another writer's witnessing round" in b.witnessed.refusals[-1]
    assert b.receipt is not None and COSIGNED not in b.receipt
    proxy.gate.set()
    waiting.join(timeout=120)
    a = found["a"]
    assert a.witnessed is not None and a.witnessed.quorum_met, a.witnessed
    assert a.receipt is not None and verifies(first, a.log_index, a.receipt)
    assert a.log_index < b.log_index
    # The next round sends the newest checkpoint, which covers b's entry.
    c = register(second, "c")
    assert c.witnessed is not None and c.witnessed.quorum_met, c.witnessed
    assert c.receipt is not None and verifies(second, c.log_index, c.receipt)
    assert verifies(second, b.log_index, second.receipt(b.log_index, c.tree_size))
    assert proxy.sizes == sorted(proxy.sizes) and proxy.sizes[-1] == c.tree_size


def test_writes_succeed_and_name_the_refusal_past_the_witness_timeout(
    witnessed: tuple[Ledger, Ledger, Proxy],
) -> None:
    first, _, proxy = witnessed
    assert first.witnesses is not None
    first.witnesses.timeout = 0.5
    proxy.gate.clear()
    late = register(first, "late")
    assert late.witnessed is not None and not late.witnessed.quorum_met
    assert late.witnessed.cosigners == frozenset()
    [refusal] = late.witnessed.refusals
    assert refusal.startswith("w1: ") and "timed out" in refusal, refusal
    assert first.last_witnessed == late.witnessed
    assert late.receipt is not None and COSIGNED not in late.receipt
    assert late.log_index == first.log_size() - 1  # recorded all the same
    # The witness comes back (and cosigns the request it held, too late): the
    # next write is cosigned, from the size the witness says it last saw.
    proxy.gate.set()
    back = register(first, "back")
    assert back.witnessed is not None and back.witnessed.quorum_met, back.witnessed
    assert back.receipt is not None and verifies(first, back.log_index, back.receipt)
    assert verifies(first, late.log_index, first.receipt(late.log_index, back.tree_size))


def test_the_witness_is_sent_sizes_in_order_by_concurrent_writers(
    witnessed: tuple[Ledger, Ledger, Proxy], tmp_path: Path
) -> None:
    first, second, proxy = witnessed
    proxy.delay = 0.05  # a slow witness: rounds overlap with other writes
    for instance in (first, second):
        assert instance.witnessing is not None
        instance.witnessing.wait = 120.0  # every writer waits for its round here
    recorded: list[Recorded] = []
    errors: list[BaseException] = []

    def write(ledger: Ledger, who: str) -> None:
        try:
            recorded.extend(register(ledger, f"{who}-{n}") for n in range(3))
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(ledger, f"t{i}"))
        for i, ledger in enumerate((first, first, second, second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert len(recorded) == 12
    assert proxy.sizes == sorted(proxy.sizes), proxy.sizes
    for one in recorded:
        assert one.witnessed is not None and one.witnessed.quorum_met, one.witnessed
        assert one.tree_size >= one.log_index + 1
        assert one.receipt is not None and verifies(first, one.log_index, one.receipt)
    size = first.log_size()
    state = json.loads((tmp_path / "w1.json").read_text())
    assert state[first.origin]["size"] == size == max(proxy.sizes)
    assert COSIGNED in first.sequencer.checkpoint()
    # Rounds that found the newest checkpoint already cosigned asked no one.
    print(f"writes={len(recorded)} witness requests={len(proxy.sizes)} log size={size}")
