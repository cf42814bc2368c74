"""``record_batch``: several statements in one transaction, all or none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.domain.assessment import Assessment
from ledger.domain.framework import Framework
from ledger.errors import (
    ConflictError,
    DomainRuleError,
    DuplicateStatementError,
    MemberScopeError,
    RevokedPrincipalError,
    SignatureError,
    StaleVersionError,
    UnknownKeyError,
)
from ledger.export import export
from ledger.keys import KeyPair
from verify.check.verifier import verify_export
from verify.errors import MalformedStatementError
from verify.formats.entry import parse_entry
from verify.formats.statement import SignedStatement

if TYPE_CHECKING:
    from tests.conftest import World

SIZE = 50
BAD = 29  # the 30th statement


def kpi_code(index: int) -> str:
    return f"BATCH.{index:02d}"


def define_kpis(world: World) -> None:
    """Fifty KPIs in hours, defined in one batch of the framework stream."""
    start = world.ledger.stream_version("framework")
    batch = [
        world.sign(
            world.sec,
            "framework",
            "kpi.defined",
            world.kpi_body(kpi_code(i), "hours", "number"),
            expected_version=start + i,
        )
        for i in range(SIZE)
    ]
    recorded = world.ledger.record_batch(batch)
    assert [r.stream_version for r in recorded] == [start + 1 + i for i in range(SIZE)]


def value_batch(world: World, stream: str | None = None) -> list[SignedStatement]:
    """Fifty value.submitted statements for one stream, versions in sequence."""
    stream = stream or world.KEN
    key = world.ncp_bra if stream == world.BRA else world.ncp_ken
    start = world.ledger.stream_version(stream)
    return [
        world.sign(
            key,
            stream,
            "value.submitted",
            world.value_body(kpi_code(i), {"amount": f"{i}.5"}, "hours"),
            expected_version=start + i,
        )
        for i in range(SIZE)
    ]


class CountingInserts:
    """Wraps the recorder's ``insert_events``: one call is one transaction."""

    def __init__(self, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[int] = []
        recorder = world.ledger.recorder
        original = recorder.insert_events

        def insert_events(stored_events: Any, **kwargs: Any) -> Any:
            self.calls.append(len(stored_events))
            return original(stored_events, **kwargs)

        monkeypatch.setattr(recorder, "insert_events", insert_events)


def test_fifty_submissions_are_one_transaction(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    define_kpis(world)
    batch = value_batch(world)
    size_before = world.ledger.log_size()
    inserts = CountingInserts(world, monkeypatch)
    recorded = world.ledger.record_batch(batch)
    assert inserts.calls == [SIZE]
    assert len(recorded) == SIZE
    assert [r.stream_version for r in recorded] == list(range(2, SIZE + 2))
    assert [r.log_index for r in recorded] == list(range(size_before, size_before + SIZE))
    assert {r.entry_type for r in recorded} == {"value.submitted"}
    assert world.ledger.log_size() == size_before + SIZE
    assessment = world.ledger.aggregate(world.KEN)
    assert isinstance(assessment, Assessment)
    assert len(assessment.values) == SIZE
    assert assessment.values[SIZE + 1].value == {"amount": f"{SIZE - 1}.5"}
    # recorded_at never decreases along the batch
    times = [r.recorded_at for r in recorded]
    assert times == sorted(times)


def _wrong_unit(world: World, batch: list[SignedStatement]) -> SignedStatement:
    signed = batch[BAD]
    body = {**signed.body, "unit": "days"}
    return world.sign(
        world.ncp_ken,
        world.KEN,
        "value.submitted",
        body,
        expected_version=signed.expected_version,
    )


def _altered(world: World, batch: list[SignedStatement]) -> SignedStatement:
    signed = batch[BAD]
    body = {**signed.body, "value": {"amount": "0"}}
    return SignedStatement({**signed.statement, "body": body}, signed.signature)


def _other_member(world: World, batch: list[SignedStatement]) -> SignedStatement:
    signed = batch[BAD]
    return world.sign(
        world.ncp_bra,
        world.KEN,
        "value.submitted",
        signed.body,
        expected_version=signed.expected_version,
    )


def _stale(world: World, batch: list[SignedStatement]) -> SignedStatement:
    signed = batch[BAD]
    return world.sign(
        world.ncp_ken,
        world.KEN,
        "value.submitted",
        signed.body,
        expected_version=signed.expected_version - 1,
    )


def _replay(world: World, batch: list[SignedStatement]) -> SignedStatement:
    return batch[0]


def _malformed(world: World, batch: list[SignedStatement]) -> SignedStatement:
    signed = batch[BAD]
    body = {k: v for k, v in signed.body.items() if k != "disclosure"}
    return world.sign_unchecked(
        world.ncp_ken,
        world.KEN,
        "value.submitted",
        body,
        expected_version=signed.expected_version,
    )


def _second_value(world: World, batch: list[SignedStatement]) -> SignedStatement:
    signed = batch[BAD]
    body = {**signed.body, "kpi": kpi_code(0)}
    return world.sign(
        world.ncp_ken,
        world.KEN,
        "value.submitted",
        body,
        expected_version=signed.expected_version,
    )


Spoiler = Callable[["World", list[SignedStatement]], SignedStatement]


@pytest.mark.parametrize(
    ("spoil", "error", "phrase"),
    [
        (_wrong_unit, DomainRuleError, "not 'days'"),
        (_altered, SignatureError, "altered after signing"),
        (_other_member, MemberScopeError, "'ncp-bra'"),
        (_stale, StaleVersionError, f"expects {BAD}"),
        (_replay, DuplicateStatementError, "already recorded"),
        (_malformed, MalformedStatementError, "body.disclosure"),
        (_second_value, ConflictError, "value.corrected naming entry 2"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_batch_with_an_invalid_30th_statement_records_nothing(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    spoil: Spoiler,
    error: type[Exception],
    phrase: str,
) -> None:
    define_kpis(world)
    batch = value_batch(world)
    batch[BAD] = spoil(world, batch)
    inserts = CountingInserts(world, monkeypatch)
    world.refused(batch, error, phrase)
    assert inserts.calls == []
    assessment = world.ledger.aggregate(world.KEN)
    assert isinstance(assessment, Assessment)
    assert assessment.values == {} and assessment.version == 1
    # Nothing lingers in memory either: the first 29 statements, alone, record
    # at the very versions the refused batch expected.
    recorded = world.ledger.record_batch(batch[:BAD])
    assert [r.stream_version for r in recorded] == list(range(2, BAD + 2))


def test_batch_across_streams_is_all_or_nothing(world: World) -> None:
    define_kpis(world)
    ken = value_batch(world, world.KEN)[:10]
    bra = value_batch(world, world.BRA)[:10]
    framework_before = world.ledger.stream_version("framework")
    revision = world.sign(
        world.sec,
        "framework",
        "kpi.revised",
        world.kpi_body(kpi_code(0), "days", "number", applies_from=2023, reason="r"),
    )
    wrong = world.sign(
        world.ncp_bra,
        world.BRA,
        "value.submitted",
        world.value_body(kpi_code(10), {"amount": "1"}, "minutes"),
        expected_version=11,
    )
    world.refused([*ken, revision, *bra, wrong], DomainRuleError, "not 'minutes'")
    framework = world.ledger.aggregate("framework")
    assert isinstance(framework, Framework)
    assert len(framework.kpis[kpi_code(0)]) == 1
    assert world.ledger.stream_version("framework") == framework_before
    recorded = world.ledger.record_batch([*ken, revision, *bra])
    assert [r.stream for r in recorded] == [world.KEN] * 10 + ["framework"] + [
        world.BRA
    ] * 10


def test_batch_may_create_a_stream_and_use_it(world: World) -> None:
    stream = "assessment/KEN/2"
    opened = world.sign(
        world.sec,
        stream,
        "assessment.opened",
        {"cycle": "2", "member": "KEN", "reference_year": 2024},
        expected_version=0,
    )
    submitted = world.sign(
        world.ncp_ken,
        stream,
        "value.submitted",
        world.value_body(world.KPI_HOURS, {"amount": "8"}, "hours", year=2024),
        expected_version=1,
    )
    bad: dict[str, Any] = world.value_body(
        world.KPI_HOURS, {"amount": "8"}, "hours", year=2021
    )
    refused = world.sign(world.ncp_ken, stream, "value.submitted", bad, expected_version=2)
    world.refused(
        [opened, submitted, refused], DomainRuleError, "not 2021", streams=(stream,)
    )
    assert world.ledger.stream_version(stream) == 0
    recorded = world.ledger.record_batch([opened, submitted])
    assert [(r.stream_version, r.entry_type) for r in recorded] == [
        (1, "assessment.opened"),
        (2, "value.submitted"),
    ]


def test_empty_batch_records_nothing(world: World) -> None:
    before = world.state()
    assert world.ledger.record_batch([]) == []
    assert world.state() == before


def test_registry_changes_apply_to_later_statements_of_the_same_batch(world: World) -> None:
    newcomer = KeyPair.generate("ncp-arg")
    register = world.sign(
        world.admin,
        "registry",
        "principal.registered",
        {
            "member": "ARG",
            "name": "NCP Argentina",
            "principal": "ncp-arg",
            "public_key": newcomer.public_key,
            "role": "ncp",
        },
    )
    stream = "assessment/ARG/1"
    opened = world.sign(
        world.sec,
        stream,
        "assessment.opened",
        {"cycle": "1", "member": "ARG", "reference_year": 2022},
        expected_version=0,
    )
    submitted = world.sign(
        newcomer,
        stream,
        "value.submitted",
        world.value_body(world.KPI_HOURS, {"amount": "20"}, "hours"),
        expected_version=1,
    )
    # Revoked earlier in the same batch: the newcomer's value is refused.
    revoked = world.sign(
        world.admin,
        "registry",
        "principal.revoked",
        {"principal": "ncp-arg", "reason": "appointed by mistake"},
        expected_version=world.ledger.stream_version("registry") + 1,
    )
    world.refused(
        [register, revoked, opened, submitted],
        RevokedPrincipalError,
        "'ncp-arg'",
        "appointed by mistake",
        streams=(stream,),
    )
    # Rotated earlier in the same batch: the old key is refused.
    rotated = world.sign(
        newcomer,
        "registry",
        "principal.key_rotated",
        {
            "principal": "ncp-arg",
            "public_key": KeyPair.generate("ncp-arg").public_key,
            "reason": "x",
        },
        expected_version=world.ledger.stream_version("registry") + 1,
    )
    world.refused(
        [register, rotated, opened, submitted],
        UnknownKeyError,
        f"key {newcomer.key_id!r}",
        streams=(stream,),
    )
    # Registered earlier in the same batch: the newcomer signs at once.
    recorded = world.ledger.record_batch([register, opened, submitted])
    assert [r.principal for r in recorded] == ["admin", "sec", "ncp-arg"]


def test_interleaved_batch_keeps_record_time_in_log_order(
    world: World, tmp_path: Path
) -> None:
    """A batch KEN, BRA, KEN, BRA... is stored grouped by stream; record time
    must still never decrease along the log (docs/design.md §2), and the log verify."""
    define_kpis(world)
    ken = value_batch(world, world.KEN)[:10]
    bra = value_batch(world, world.BRA)[:10]
    mixed = [s for pair in zip(ken, bra, strict=True) for s in pair]
    recorded = world.ledger.record_batch(mixed)
    assert len({r.recorded_at for r in recorded}) == 1  # one record time per batch
    size = world.ledger.log_size()
    times = [
        parse_entry(raw).recorded_at
        for _, raw in world.ledger.sequencer.store.entries(0, size)
    ]
    assert times == sorted(times)
    out = tmp_path / "export"
    export(world.ledger, out)
    result = verify_export(out, out / "trust.json")
    assert result.verified, result.findings
