"""Signed but wrong statements against the ledger itself (fuzzing).

A mutated statement that is *re-signed* by the right key gets past the
signature and reaches admission and the domain's rules (ledger/admission.py,
verify/rules/): a field's value replaced by any JSON value, a field dropped,
one added, on every kind of statement the world's principals may sign. Each
is recorded, or refused with a ``LedgerError`` or ``VerifyError`` and nothing
written (the log size and every stream's version as before); never another
exception. On SQLite and PostgreSQL, as every ledger suite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError
from tests.fuzz.strategies import JSON, LONG
from verify.errors import VerifyError

if TYPE_CHECKING:
    from ledger.keys import KeyPair
    from tests.conftest import World

EXAMPLES = 300 if LONG else 25


def _statements(world: World) -> list[tuple[KeyPair, str, str, dict[str, Any]]]:
    """(key, stream, type, body) of statements the world's principals may sign."""
    w = world
    value = w.value_body(w.KPI_HOURS, {"amount": "12"}, "hours")
    return [
        (w.ncp_ken, w.KEN, "value.submitted", value),
        (
            w.ncp_ken,
            w.KEN,
            "value.corrected",
            {**value, "kind": "error", "reason": "typo", "supersedes": 14},
        ),
        (w.ncp_ken, w.KEN, "kpi.not_used", {"kpi": w.KPI_RATIO, "justification": "n/a"}),
        (w.ncp_ken, w.KEN, "disclosure.set", {"disclosure": "wco", "entry": 14}),
        (w.ncp_ken, w.KEN, "submission.completed", {}),
        (w.sec, w.KEN, "value.validated", {"entry": 14}),
        (w.sec, w.KEN, "value.queried", {"entry": 14, "message": "source?"}),
        (w.sec, w.KEN, "assessment.reopened", {"kpis": [w.KPI_HOURS], "reason": "r"}),
        (w.sec, w.KEN, "reviewer.assigned", {"principal": w.reviewer.principal}),
        (w.sec, "framework", "kpi.defined", w.kpi_body("TF.9.9", "hours", "number")),
        (w.officer, w.BRA, "integrity.flag_raised", {"message": "m", "subject": "s"}),
        (
            w.officer,
            "integrity",
            "integrity.flag_handled",
            {"action": "acknowledged", "flag": "late_change:3", "reason": "seen"},
        ),
    ]


@st.composite
def _changes(draw: st.DrawFn, count: int) -> tuple[int, str, str, Any]:
    """Which statement, and how its body is changed: (index, how, field, value)."""
    index = draw(st.integers(0, count - 1))
    how = draw(st.sampled_from(["replace", "drop", "add"]))
    name = draw(
        st.sampled_from(
            [
                "kpi",
                "value",
                "reference_year",
                "entry",
                "disclosure",
                "kpis",
                "principal",
                "supersedes",
                "unit",
                "status",
                "flag",
                "code",
                "scoring_method",
                "x",
            ]
        )
    )
    # Mostly values the schema lets through, so the domain's rules are asked.
    plausible = (
        st.integers(0, 40)
        | st.integers(1899, 2201)
        | st.sampled_from(
            [
                "TF.1.1",
                "TF.1.2",
                "TF.1.3",
                "TF.9.9",
                "EO.1",
                "TF",
                "KEN",
                "BRA",
                "public",
                "wco",
                "restricted",
                "value",
                "not_applicable",
                "hours",
                "percent",
                "error",
                {"amount": "5"},
                {"amount": "-1"},
                {"numerator": "1", "denominator": "0"},
                {"method": "ratio", "numerator": "TF.1.1", "denominator": "TF.1.1"},
                ["TF.1.1"],
            ]
        )
    )
    value = draw(plausible | JSON | st.sampled_from([-1, 2**53 - 1, "", [], {}, None]))
    return index, how, name, value


def test_resigned_mutations_are_recorded_or_refused_cleanly(world: World) -> None:
    world.hours(world.ncp_ken, world.KEN, "12")  # entry 14: something to name
    statements = _statements(world)
    outcomes: dict[str, int] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(change=_changes(len(statements)))
    def send(change: tuple[int, str, str, Any]) -> None:
        index, how, name, value = change
        key, stream, kind, body = statements[index]
        body = dict(body)
        if how == "drop":
            body.pop(name, None)
        else:
            body[name] = value
        before = world.state(stream)
        try:
            signed = world.sign_unchecked(key, stream, kind, body)
            world.ledger.record(signed)
        except (LedgerError, VerifyError) as exc:
            outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
            assert world.state(stream) == before, f"{kind} refused but written: {exc}"
            assert len(str(exc)) <= 2_000, f"{type(exc).__name__}: {str(exc)[:300]}"
        else:
            outcomes["recorded"] = outcomes.get("recorded", 0) + 1

    send()
    print(f"\nre-signed mutations: {outcomes}")
    assert sum(outcomes.values()) >= EXAMPLES // 2
