"""``pmm demo``: a realistic first PMM cycle, recorded through signed statements.

Everything goes through the same use cases a real deployment uses: every
principal signs with its own key, and every refusal shown is a real one. The
scenario (issue 2): the 4 dimensions, 23 expected outcomes and 51 KPIs of
``api.demo_data``; the Secretariat, 20 Members' NCPs, a peer reviewer and an
integrity officer; values for reference years T-1 and T, KPIs declared not
used, corrections with reasons, validations, a query answered by a
correction, a value recorded from an external source and validated by another
principal, a revised score, a publication, then a reopening and a revision.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from api import demo_data
from ledger.application import Ledger, Recorded
from ledger.errors import LedgerError
from ledger.home import init_ledger, key_path, resolve_key
from ledger.keys import KeyPair
from ledger.persistence import Settings
from verify.schema import assessment_stream
from verify.statement import SignedStatement

ORIGIN = "pmm.wcoomd.example/ledger"
CYCLE = "1"
YEAR = 2022
SEC, VALIDATOR, REVIEWER, OFFICER = "wco-sec", "wco-validator", "peer-1", "integrity-1"
# The value the Secretariat records from an external source: Member, KPI, year.
_EXTERNAL = (
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
    counts: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)

    def sign(
        self, who: str, stream: str, kind: str, body: dict[str, Any]
    ) -> SignedStatement:
        """Sign the next statement of ``stream`` (versions tracked locally)."""
        if stream not in self.versions:
            self.versions[stream] = self.ledger.stream_version(stream)
        key = self.keys[who]
        statement = key.statement(
            self.ledger.origin, stream, kind, body, self.versions[stream]
        )
        self.versions[stream] += 1
        return key.sign(statement)

    def record(self, statements: Iterable[SignedStatement]) -> list[Recorded]:
        recorded = self.ledger.record_batch(list(statements))
        self.counts.update(r.entry_type for r in recorded)
        return recorded

    def one(self, who: str, stream: str, kind: str, body: dict[str, Any]) -> Recorded:
        return self.record([self.sign(who, stream, kind, body)])[0]

    def attempt(self, who: str, stream: str, kind: str, body: dict[str, Any]) -> None:
        """Try a statement the ledger must refuse, and note the refusal."""
        try:
            self.one(who, stream, kind, body)
        except LedgerError as exc:
            self.versions.pop(stream, None)
            self.refused.append(f"{type(exc).__name__}: {exc}")
        else:  # pragma: no cover - would mean an integrity rule is broken
            raise AssertionError(f"the ledger accepted {kind} by {who}")


def _evidence(*parts: object) -> list[str]:
    return [hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()]


def _value(kpi: demo_data.Kpi, rng: random.Random) -> dict[str, Any]:
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


def _value_body(
    kpi: demo_data.Kpi, year: int, value: dict[str, Any], member: str
) -> dict[str, Any]:
    return {
        "disclosure": kpi.disclosure,
        "evidence": _evidence(member, year, kpi.code),
        "kpi": kpi.code,
        "reference_year": year,
        "status": "value",
        "unit": kpi.unit,
        "value": value,
    }


def _principals(demo: Demo, settings: Settings) -> None:
    people = [
        (SEC, "WCO Secretariat, PMM data team", "secretariat", None),
        (VALIDATOR, "WCO Secretariat, validation officer", "secretariat", None),
        (REVIEWER, "Peer reviewer (regional expert)", "peer_reviewer", None),
        (OFFICER, "Integrity officer", "integrity_officer", None),
    ] + [
        (f"ncp-{m.code.lower()}", f"National Contact Point, {m.name}", "ncp", m.code)
        for m in demo_data.MEMBERS
    ]
    statements = []
    for principal, name, role, member in people:
        key = KeyPair.generate(principal)
        key.save(key_path(settings, principal))
        demo.keys[principal] = key
        statements.append(
            demo.sign(
                "admin",
                "registry",
                "principal.registered",
                {
                    "member": member,
                    "name": name,
                    "principal": principal,
                    "public_key": key.public_key,
                    "role": role,
                },
            )
        )
    demo.record(statements)


def _framework(demo: Demo) -> None:
    def sign(kind: str, body: dict[str, Any]) -> SignedStatement:
        return demo.sign(SEC, "framework", kind, body)

    statements = [sign("framework.created", {"title": "PMM framework, version 1"})]
    statements += [
        sign("dimension.defined", {"code": d.code, "name": d.name})
        for d in demo_data.DIMENSIONS
    ]
    statements += [
        sign(
            "outcome.defined",
            {
                "code": o.code,
                "dimension": o.dimension,
                "illustrative": o.illustrative,
                "name": o.name,
            },
        )
        for o in demo_data.OUTCOMES
    ]
    statements += [
        sign(
            "kpi.defined",
            {
                "applies_from": YEAR - 1,
                "code": k.code,
                "direction": k.direction,
                "disclosure": k.disclosure,
                "illustrative": k.illustrative,
                "name": k.name,
                "outcome": k.outcome,
                "scoring_method": k.scoring_method,
                "unit": k.unit,
                "value_kind": k.value_kind,
            },
        )
        for k in demo_data.KPIS
    ]
    demo.record(statements)


def _submissions(demo: Demo, rng: random.Random) -> dict[str, dict[str, int]]:
    """Each NCP submits T-1 and T; returns the entry of each (member, kpi) for T.

    The second Member leaves its first KPI for T-1 empty: the Secretariat
    records that one from an external source (``_external_value``)."""
    entries: dict[str, dict[str, int]] = {}
    for member in demo_data.MEMBERS:
        stream, ncp = assessment_stream(member.code, CYCLE), f"ncp-{member.code.lower()}"
        demo.one(
            SEC,
            stream,
            "assessment.opened",
            {"cycle": CYCLE, "member": member.code, "reference_year": YEAR},
        )
        not_used = set(rng.sample([k.code for k in demo_data.KPIS], rng.randint(1, 3)))
        statements = [
            demo.sign(
                ncp,
                stream,
                "kpi.not_used",
                {
                    "justification": "Not measured nationally: no data source in the "
                    "Customs information system yet.",
                    "kpi": code,
                },
            )
            for code in sorted(not_used)
        ]
        for year in (YEAR - 1, YEAR):
            statements += [
                demo.sign(
                    ncp,
                    stream,
                    "value.submitted",
                    _value_body(k, year, _value(k, rng), member.code),
                )
                for k in demo_data.KPIS
                if k.code not in not_used and (member, k, year) != _EXTERNAL
            ]
        recorded = demo.record(statements)
        used = [k.code for k in demo_data.KPIS if k.code not in not_used]
        this_year = [r for r in recorded if r.entry_type == "value.submitted"][-len(used) :]
        entries[member.code] = {
            code: r.stream_version for code, r in zip(used, this_year, strict=True)
        }
    return entries


def _corrections_and_review(
    demo: Demo, entries: dict[str, dict[str, int]], rng: random.Random
) -> None:
    kpis = {k.code: k for k in demo_data.KPIS}
    for member in demo_data.MEMBERS[:6]:
        stream, ncp = assessment_stream(member.code, CYCLE), f"ncp-{member.code.lower()}"
        code = sorted(entries[member.code])[rng.randrange(len(entries[member.code]))]
        body = _value_body(kpis[code], YEAR, _value(kpis[code], rng), member.code)
        entry = demo.one(
            ncp,
            stream,
            "value.corrected",
            {
                **body,
                "kind": "correction",
                "reason": "Transcription error in the "
                "national return; corrected from the source register.",
                "supersedes": entries[member.code][code],
            },
        )
        entries[member.code][code] = entry.stream_version
    for member in demo_data.MEMBERS:
        stream, ncp = assessment_stream(member.code, CYCLE), f"ncp-{member.code.lower()}"
        demo.one(
            ncp,
            stream,
            "submission.completed",
            {"note": "Submission complete for reference year 2022."},
        )
    # A query answered by a correction (KEN's first KPI).
    first = demo_data.MEMBERS[0]
    stream, ncp = assessment_stream(first.code, CYCLE), f"ncp-{first.code.lower()}"
    code = sorted(entries[first.code])[0]
    demo.one(
        VALIDATOR,
        stream,
        "value.queried",
        {
            "entry": entries[first.code][code],
            "message": "This value is ten times last year's; please check the unit.",
        },
    )
    corrected = demo.one(
        ncp,
        stream,
        "value.corrected",
        {
            **_value_body(kpis[code], YEAR, _value(kpis[code], rng), first.code),
            "kind": "correction",
            "reason": "Answer to the Secretariat's query: the "
            "value had been entered in minutes instead of hours.",
            "supersedes": entries[first.code][code],
        },
    )
    entries[first.code][code] = corrected.stream_version
    for member in demo_data.MEMBERS:
        stream = assessment_stream(member.code, CYCLE)
        demo.record(
            demo.sign(VALIDATOR, stream, "value.validated", {"entry": entry})
            for entry in sorted(entries[member.code].values())
        )


def _external_value(demo: Demo, rng: random.Random) -> int:
    """The Secretariat records a value from a named source, with the file's digest."""
    member, kpi, year = _EXTERNAL
    body = _value_body(kpi, year, _value(kpi, rng), member.code)
    body["source"] = {
        "name": "National statistics office, 2021 annual report (PDF)",
        "sha256": _evidence("external", member.code, kpi.code)[0],
    }
    return demo.one(
        SEC, assessment_stream(member.code, CYCLE), "value.submitted", body
    ).stream_version


def _integrity(demo: Demo, external: int, entries: dict[str, dict[str, int]]) -> None:
    """What the ledger refuses, and the review, flag and score-revision trail."""
    first, second, third = demo_data.MEMBERS[:3]
    ken, bra = assessment_stream(first.code, CYCLE), assessment_stream(second.code, CYCLE)
    demo.attempt(SEC, bra, "value.validated", {"entry": external})
    demo.one(VALIDATOR, bra, "value.validated", {"entry": external})
    kpi = demo_data.KPIS[0]
    demo.attempt(
        f"ncp-{first.code.lower()}",
        bra,
        "value.submitted",
        _value_body(kpi, YEAR, {"amount": "1"}, second.code),
    )
    demo.one(SEC, ken, "reviewer.assigned", {"principal": REVIEWER})
    demo.one(
        REVIEWER,
        ken,
        "review.finding_recorded",
        {
            "finding": "Release-time data are sampled from one border post only.",
            "kpi": kpi.code,
        },
    )
    code = sorted(entries[first.code])[0]
    demo.one(
        OFFICER,
        ken,
        "integrity.flag_raised",
        {
            "entry": entries[first.code][code],
            "message": "Corrected after a query by a "
            "factor of ten; check the supporting evidence.",
            "subject": f"{code} for {YEAR}",
        },
    )
    demo.one(
        VALIDATOR,
        assessment_stream(third.code, CYCLE),
        "score.revised",
        {
            "justification": "Peer review found the release-time sample unrepresentative; "
            "score capped per the methodology note.",
            "kpi": kpi.code,
            "reference_year": YEAR,
            "score": "55",
        },
    )


def _publish_and_revise(
    demo: Demo, entries: dict[str, dict[str, int]], rng: random.Random
) -> None:
    cut_at = demo.ledger.log_size()
    demo.record(
        demo.sign(
            SEC,
            assessment_stream(m.code, CYCLE),
            "assessment.published",
            {"cut_at": cut_at, "title": "PMM cycle 1 report (2022 data)"},
        )
        for m in demo_data.MEMBERS
    )
    member = demo_data.MEMBERS[3]
    stream, ncp = assessment_stream(member.code, CYCLE), f"ncp-{member.code.lower()}"
    code = sorted(entries[member.code])[1]
    kpi = next(k for k in demo_data.KPIS if k.code == code)
    demo.one(
        SEC,
        stream,
        "assessment.reopened",
        {"kpis": [code], "reason": "Member reported a planned revision of its 2022 data."},
    )
    revised = demo.one(
        ncp,
        stream,
        "value.corrected",
        {
            **_value_body(kpi, YEAR, _value(kpi, rng), member.code),
            "kind": "revision",
            "reason": "Planned revision: final figures from the 2022 audited accounts.",
            "supersedes": entries[member.code][code],
        },
    )
    demo.one(ncp, stream, "submission.completed", {"note": "Revision submitted."})
    demo.one(VALIDATOR, stream, "value.validated", {"entry": revised.stream_version})
    demo.one(
        SEC,
        stream,
        "assessment.published",
        {"cut_at": demo.ledger.log_size(), "title": "PMM cycle 1 report, revised"},
    )


STEPS = (
    "principals",
    "framework",
    "submissions",
    "external source",
    "review",
    "integrity",
    "publication",
)


def run_demo(
    settings: Settings, seed: int = 2022, step: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Build the demo ledger in ``settings.home``; return a summary.

    ``step`` is called before each of ``STEPS`` (a progress bar hooks in here).
    """
    rng = random.Random(seed)
    ledger = init_ledger(settings, ORIGIN)
    try:
        demo = Demo(ledger, keys={"admin": resolve_key(settings, "admin")})
        demo.counts["registry.genesis"] = 1
        step(STEPS[0])
        _principals(demo, settings)
        step(STEPS[1])
        _framework(demo)
        step(STEPS[2])
        entries = _submissions(demo, rng)
        step(STEPS[3])
        external = _external_value(demo, rng)
        step(STEPS[4])
        _corrections_and_review(demo, entries, rng)
        step(STEPS[5])
        _integrity(demo, external, entries)
        step(STEPS[6])
        _publish_and_revise(demo, entries, rng)
        return {
            "home": str(settings.home),
            "backend": settings.backend,
            "origin": ledger.origin,
            "log_size": ledger.log_size(),
            "principals": len(demo.keys),
            "members": len(demo_data.MEMBERS),
            "dimensions": len(demo_data.DIMENSIONS),
            "expected_outcomes": len(demo_data.OUTCOMES),
            "kpis": len(demo_data.KPIS),
            "entries": dict(sorted(demo.counts.items())),
            "refused": demo.refused,
        }
    finally:
        ledger.close()
