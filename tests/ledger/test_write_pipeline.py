"""The write pipeline's shortcuts stay exact (docs/decisions.md 35).

Signatures are checked before the writer lock against the key the signer had
at this process's last write; a key rotated or revoked in between is still
refused precisely under the lock. The writer keeps its own copies of the
aggregates and the tail's ``recorded_at`` between writes, and drops them when
another Ledger (another process) wrote, when an entry came in behind the lock's
back, and after every refusal. The receipt of a single write, computed from
the integration, is the receipt the proof queries give (the oracle).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from ledger import admission
from ledger.application import Ledger
from ledger.errors import (
    DomainRuleError,
    RevokedPrincipalError,
    SignatureError,
    StaleVersionError,
    UnknownKeyError,
)
from ledger.home import open_ledger
from ledger.keys import KeyPair
from ledger.pipeline import Pipeline
from ledger.work import Head, WriterCopies
from verify.errors import MalformedStatementError
from verify.formats.entry import parse_entry
from verify.formats.statement import SignedStatement

if TYPE_CHECKING:
    from tests.conftest import World


@pytest.fixture
def other(world: World) -> Iterator[Ledger]:
    """A second Ledger on the same database: another process, say."""
    second = open_ledger(world.ledger.settings)
    try:
        yield second
    finally:
        second.close()


def hours(world: World, key: KeyPair, amount: str, **options: Any) -> SignedStatement:
    body = world.value_body(world.KPI_HOURS, {"amount": amount}, "hours", **options)
    return world.sign(key, world.KEN, "value.submitted", body)


def kpi(world: World, n: int) -> SignedStatement:
    """A new KPI in the framework: as many writes as a test needs."""
    body = world.kpi_body(f"PIPE.{n}", "hours", "number")
    return world.sign(world.sec, "framework", "kpi.defined", body)


def warm(world: World) -> None:
    """A first write by Kenya's NCP: the writer now holds its key and stream."""
    world.ledger.record(hours(world, world.ncp_ken, "0", year=world.REFERENCE_YEAR - 1))


def rotation(world: World, key: KeyPair, new: KeyPair) -> SignedStatement:
    body = {"principal": key.principal, "public_key": new.public_key, "reason": "lost"}
    return world.sign(key, "registry", "principal.key_rotated", body)


def revocation(world: World, principal: str) -> SignedStatement:
    body = {"principal": principal, "reason": "left the administration"}
    return world.sign(world.admin, "registry", "principal.revoked", body)


def between_precheck_and_lock(
    monkeypatch: pytest.MonkeyPatch, ledger: Ledger, act: Any, target: SignedStatement
) -> list[int]:
    """Run ``act`` once after ``ledger``'s pre-check, before it takes the lock;
    count the verifications of ``target``'s signature from then on."""
    real_prepare = Pipeline._prepare
    verified: list[int] = []
    real_error = admission._signature_error

    def prepare(self: Pipeline, statements: list[Any]) -> Any:
        prepared = real_prepare(self, statements)
        if self.ledger is ledger and not verified:
            verified.append(0)
            act()
        return prepared

    def counting(signed: SignedStatement, key: bytes) -> str | None:
        if verified and signed.statement == target.statement:
            verified[0] += 1
        return real_error(signed, key)

    monkeypatch.setattr(Pipeline, "_prepare", prepare)
    monkeypatch.setattr(admission, "_signature_error", counting)
    return verified


def refused_after_rival(
    world: World, statement: SignedStatement, error: type[Exception], *phrases: str
) -> None:
    """Refused with exactly ``error``; the only new entry is the rival's."""
    size, version = world.ledger.log_size(), world.ledger.stream_version(world.KEN)
    with pytest.raises(error) as caught:
        world.ledger.record(statement)
    assert type(caught.value) is error
    for phrase in phrases:
        assert phrase in str(caught.value)
    assert world.ledger.log_size() == size + 1
    assert world.ledger.stream_version(world.KEN) == version


def test_a_prechecked_signature_is_not_verified_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm(world)
    statement = hours(world, world.ncp_ken, "2")
    verified = between_precheck_and_lock(monkeypatch, world.ledger, lambda: None, statement)
    world.ledger.record(statement)
    assert verified == [0]


@pytest.mark.parametrize("rival", ["same ledger", "other ledger"])
def test_a_key_rotated_between_precheck_and_lock_is_refused(
    world: World, other: Ledger, monkeypatch: pytest.MonkeyPatch, rival: str
) -> None:
    warm(world)
    new = KeyPair.generate("ncp-ken")
    rotate = rotation(world, world.ncp_ken, new)
    stale = hours(world, world.ncp_ken, "2")
    writer = world.ledger if rival == "same ledger" else other
    verified = between_precheck_and_lock(
        monkeypatch, world.ledger, lambda: writer.record(rotate), stale
    )
    refused_after_rival(world, stale, UnknownKeyError, "rotated out", "signs nothing")
    assert verified[0] == 0  # refused for its key, before any signature check
    # The new key is admitted, though the pre-check knew only the old one.
    assert world.ledger.record(hours(world, new, "2")).principal == "ncp-ken"


@pytest.mark.parametrize("rival", ["same ledger", "other ledger"])
def test_a_principal_revoked_between_precheck_and_lock_is_refused(
    world: World, other: Ledger, monkeypatch: pytest.MonkeyPatch, rival: str
) -> None:
    warm(world)
    revoke = revocation(world, "ncp-ken")
    late = hours(world, world.ncp_ken, "2")
    writer = world.ledger if rival == "same ledger" else other
    between_precheck_and_lock(
        monkeypatch, world.ledger, lambda: writer.record(revoke), late
    )
    refused_after_rival(world, late, RevokedPrincipalError, "'ncp-ken' was revoked")


def test_a_signature_checked_against_another_key_is_verified_under_the_lock(
    world: World, other: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-check's key is stale (another process rotated it): the signature
    is verified again against the key the registry now holds."""
    warm(world)
    new = KeyPair.generate("ncp-ken")
    other.record(rotation(world, world.ncp_ken, new))
    forged = hours(world, new, "2")
    forged = SignedStatement(forged.statement, hours(world, new, "3").signature)
    verified = between_precheck_and_lock(monkeypatch, world.ledger, lambda: None, forged)
    world.refused(forged, SignatureError, "does not verify")
    assert verified[0] == 1


def test_two_ledgers_write_in_turn_and_see_each_other(world: World, other: Ledger) -> None:
    """Each instance keeps its aggregates and tail between writes; the other's
    writes move the log's head, so each re-reads what it changed."""
    mine = world.ledger
    version = mine.stream_version("framework")
    for n in range(0, 6, 2):
        mine.record(kpi(world, n))
        other.record(kpi(world, n + 1))
    assert mine.stream_version("framework") == other.stream_version("framework")
    assert mine.stream_version("framework") == version + 6
    other.record(revocation(world, "ncp-bra"))
    late = world.sign(
        world.ncp_bra,
        world.BRA,
        "value.submitted",
        world.value_body(world.KPI_HOURS, {"amount": "1"}, "hours"),
    )
    world.refused(late, RevokedPrincipalError, "was revoked")


def test_two_ledgers_with_clocks_apart_never_decrease_recorded_at(
    world: World, other: Ledger
) -> None:
    start = datetime.now(UTC)
    world.ledger.clock = lambda: start + timedelta(minutes=3)
    other.clock = lambda: start  # three minutes behind the first
    for n in range(0, 6, 2):
        world.ledger.record(kpi(world, n))
        other.record(kpi(world, n + 1))
    world.ledger.clock = lambda: start - timedelta(hours=1)  # turned back
    world.ledger.record(kpi(world, 99))
    store = world.ledger.sequencer.store
    times = [parse_entry(raw).recorded_at for _, raw in store.entries(0, store.size())]
    assert times == sorted(times), "recorded_at decreased along the log"
    assert times[-1] == times[-2]  # the floor is the other ledger's last entry


def test_an_entry_committed_behind_the_lock_drops_the_writers_copies(
    world: World, other: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that ignores the writer lock commits a revocation while this one
    saves: the integration takes in two writers' entries, so the copies (the
    registry without the revocation) are not kept."""
    warm(world)
    real_save = world.ledger.save
    monkeypatch.setattr(other.writer, "hold", contextlib.nullcontext)

    def save_with_rival(*aggregates: Any, **kwargs: Any) -> Any:
        saved = real_save(*aggregates, **kwargs)
        other.record(revocation(world, "ncp-bra"))
        return saved

    monkeypatch.setattr(world.ledger, "save", save_with_rival)
    world.ledger.record(hours(world, world.ncp_ken, "2"))
    monkeypatch.undo()
    late = world.sign(
        world.ncp_bra,
        world.BRA,
        "value.submitted",
        world.value_body(world.KPI_HOURS, {"amount": "1"}, "hours"),
    )
    world.refused(late, RevokedPrincipalError, "was revoked")


@pytest.mark.parametrize(
    "spoil, error",
    [
        ("rule", DomainRuleError),
        ("signature", SignatureError),
        ("bytes", MalformedStatementError),
        ("version", StaleVersionError),
    ],
)
def test_a_refused_batch_leaves_the_writers_copies_untouched(
    world: World, spoil: str, error: type[Exception]
) -> None:
    """The batch's first statement changes the writer's copy of the stream, its
    second is refused; the first, alone, is then recorded at the version it
    expects (a copy that kept the refused batch would be a version ahead)."""
    ncp = world.ncp_ken
    warm(world)
    first = hours(world, ncp, "1")
    version = first.expected_version
    body = world.value_body(world.KPI_PERCENT, {"amount": "5"}, "percent")
    if spoil == "rule":
        body["reference_year"] = 1990
    later = version + (5 if spoil == "version" else 1)
    statement = world.statement(
        ncp, world.KEN, "value.submitted", body, expected_version=later
    )
    second: bytes | SignedStatement = ncp.sign(statement)
    if spoil == "signature":
        second = SignedStatement(statement, first.signature)
    elif spoil == "bytes":
        second = b'{"signature":"x"}'
    world.refused([first, second], error)
    assert world.ledger.record(first).stream_version == version + 1


def test_a_storage_fault_while_saving_drops_every_copy(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm(world)
    assert world.ledger.pipeline.copies.head is not None

    def broken(*_: Any, **__: Any) -> Any:
        raise OSError("disk I/O error")

    monkeypatch.setattr(world.ledger, "save", broken)
    with pytest.raises(OSError):
        world.ledger.record(hours(world, world.ncp_ken, "2"))
    monkeypatch.undo()
    assert world.ledger.pipeline.copies.head is None
    assert not world.ledger.pipeline.copies.aggregates
    assert world.ledger.record(hours(world, world.ncp_ken, "2")).stream_version == 3


def test_single_write_receipts_are_the_receipts_the_proofs_give(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receipt from the integration's frontier against the query path (the
    oracle), over sizes with every shape of frontier; no proof query is made."""
    sequencer = world.ledger.sequencer
    queries: list[int] = []
    inclusion = sequencer.inclusion

    def counted(index: int, size: int | None = None) -> Any:
        queries.append(index)
        return inclusion(index, size)

    monkeypatch.setattr(sequencer, "inclusion", counted)
    for n in range(17):
        recorded = world.ledger.record(kpi(world, n))
        assert queries == []
        assert recorded.log_index == recorded.tree_size - 1
        oracle = world.ledger.receipt(recorded.log_index, recorded.tree_size)
        assert recorded.receipt == oracle
        queries.clear()


def test_admission_trusts_a_precheck_only_for_the_key_it_would_check(world: World) -> None:
    """A pre-check against any other key than the registry's is no pre-check;
    a failed one is the refusal itself."""
    genuine = hours(world, world.ncp_ken, "1")
    forged = SignedStatement(genuine.statement, hours(world, world.ncp_ken, "2").signature)
    registry, origin = world.ledger.registry(), world.ledger.origin
    now = datetime.now(UTC)
    wrong_key = admission.Prechecked(bytes(32), None)
    with pytest.raises(SignatureError, match="does not verify"):
        admission.admit(forged, registry, origin, now, wrong_key)
    checked = admission.precheck(forged, registry)
    assert checked is not None and checked.error is not None
    with pytest.raises(SignatureError) as caught:
        admission.admit(forged, registry, origin, now, checked)
    assert str(caught.value) == checked.error
    assert admission.admit(
        genuine, registry, origin, now, admission.precheck(genuine, registry)
    )


def test_the_copies_are_kept_only_for_the_very_newest_event() -> None:
    """Not the same id with other bytes (a database restored, then written to
    as far again), nor another id."""
    copies = WriterCopies()
    head = Head(5, b"entry five", datetime.now(UTC), 5)
    for newest in [(5, b"entry five"), (5, b"another five"), (6, b"entry five"), None]:
        copies.head = head
        copies.aggregates["registry"] = None
        kept = copies.valid_at(newest)
        assert (kept is head) is (newest == (5, b"entry five"))
        assert bool(copies.aggregates) is (kept is head)
