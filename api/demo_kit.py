"""The demo's recorder and sample values: signs each principal's statements
with the right stream version and records them through the ledger's use cases."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from api import demo_data
from ledger.application import Ledger, Recorded
from ledger.errors import LedgerError
from ledger.keys import KeyPair, with_approvals
from verify.formats.statement import SignedStatement
from verify.rules.registry import THRESHOLD_TYPES

ORIGIN = "pmm.wcoomd.example/ledger"
CYCLE = "1"
YEAR = 2022
SEC, VALIDATOR, REVIEWER, OFFICER = "wco-sec", "wco-validator", "peer-1", "integrity-1"
# The genesis admins: 2 of the 3 must agree to change the registry (decision 15).
ADMINS = ("admin", "admin-2", "admin-3")
# The value the Secretariat records from an external source: Member, KPI, year.
EXTERNAL = (
    demo_data.MEMBERS[1],
    next(k for k in demo_data.KPIS if k.value_kind == "number"),
    YEAR - 1,
)


@dataclass
class Demo:
    """The ledger being filled, its keys, and what was recorded."""

    ledger: Ledger
    keys: dict[str, KeyPair] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def sign(
        self,
        who: str,
        stream: str,
        kind: str,
        body: dict[str, Any],
        approvers: tuple[str, ...] = (),
    ) -> SignedStatement:
        """Sign the next statement of ``stream`` (versions tracked locally), with
        the approvals of ``approvers`` (other admins) where it needs them."""
        if stream not in self.versions:
            self.versions[stream] = self.ledger.stream_version(stream)
        key = self.keys[who]
        statement = key.statement(
            self.ledger.origin, stream, kind, body, self.versions[stream]
        )
        if kind in THRESHOLD_TYPES:
            statement = with_approvals(statement, [self.keys[a] for a in approvers])
        self.versions[stream] += 1
        return key.sign(statement)

    def record(self, statements: Iterable[SignedStatement]) -> list[Recorded]:
        return self.ledger.record_batch(list(statements))

    def one(
        self,
        who: str,
        stream: str,
        kind: str,
        body: dict[str, Any],
        approvers: tuple[str, ...] = (),
    ) -> Recorded:
        return self.record([self.sign(who, stream, kind, body, approvers)])[0]

    def attempt(
        self,
        who: str,
        stream: str,
        kind: str,
        body: dict[str, Any],
        approvers: tuple[str, ...] = (),
    ) -> None:
        """Try a statement the ledger must refuse, and note the refusal."""
        try:
            self.one(who, stream, kind, body, approvers)
        except LedgerError as exc:
            self.versions.pop(stream, None)
            self.refused.append(f"{type(exc).__name__}: {exc}")
        else:  # pragma: no cover - would mean an integrity rule is broken
            raise AssertionError(f"the ledger accepted {kind} by {who}")


def evidence(*parts: object) -> list[str]:
    return [hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()]


def sample_value(kpi: demo_data.Kpi, rng: random.Random) -> dict[str, Any]:
    if kpi.value_kind == "ratio":
        denominator = rng.randint(50, 500)
        return {
            "denominator": str(denominator),
            "numerator": str(rng.randint(denominator // 2, denominator)),
        }
    if kpi.value_kind == "yes_no":
        return {"answer": rng.random() < 0.7}
    if kpi.value_kind == "grade":
        return {"grade": rng.choice("ABCDE")}
    if kpi.value_kind == "text":
        return {"text": "Narrative report on file with the National Contact Point."}
    if kpi.value_kind == "percentage":
        return {"amount": str(Decimal(rng.randint(100, 1000)) / 10)}
    high = {"hours": 240, "days": 60, "count": 5000, "USD": 900000}[kpi.unit]
    return {"amount": str(Decimal(rng.randint(10, high * 10)) / 10)}


def drift_value(
    kpi: demo_data.Kpi, before: dict[str, Any], rng: random.Random
) -> dict[str, Any]:
    """Year T's value, near year T-1's: administrations change by tens of per
    cent from one year to the next, not by orders of magnitude (so the demo's
    red flags are the planted ones and a few real outliers, docs/flags.md)."""
    factor = Decimal(rng.randint(75, 125)) / 100
    if kpi.value_kind == "ratio":
        denominator = int(before["denominator"])
        numerator = min(denominator, int(Decimal(before["numerator"]) * factor))
        return {"denominator": str(denominator), "numerator": str(max(numerator, 1))}
    if kpi.value_kind in ("number", "percentage") and "amount" in before:
        amount = (Decimal(before["amount"]) * factor).quantize(Decimal("0.1"))
        if kpi.value_kind == "percentage":
            amount = min(amount, Decimal(100))
        return {"amount": str(max(amount, Decimal("0.1")))}
    return sample_value(kpi, rng)


def value_body(
    kpi: demo_data.Kpi, year: int, value: dict[str, Any], member: str
) -> dict[str, Any]:
    return {
        "disclosure": kpi.disclosure,
        "evidence": evidence(member, year, kpi.code),
        "kpi": kpi.code,
        "reference_year": year,
        "status": "value",
        "unit": kpi.unit,
        "value": value,
    }
