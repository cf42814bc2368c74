"""The steps of ``pmm demo`` (see ``api.demo``), each a part of a PMM cycle
recorded through signed statements."""

from __future__ import annotations

import random
from typing import Any

from api import demo_data
from api.cli.framework import apply_framework
from api.demo_kit import (
    CYCLE,
    EXTERNAL,
    OFFICER,
    REVIEWER,
    SEC,
    VALIDATOR,
    YEAR,
    Demo,
    drift_value,
    evidence,
    sample_value,
    value_body,
)
from intake.framework_file import load_framework
from ledger.home import key_path
from ledger.keys import KeyPair
from ledger.persistence import Settings
from projections.log_reader import LogReader
from verify.formats.schema import assessment_stream


def principals(demo: Demo, settings: Settings) -> None:
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
                approvers=("admin-2",),
            )
        )
    demo.record(statements)
    # Nobody signs for another (decision 15): one admin alone registers nobody,
    # and no admin moves an NCP to a key it holds.
    spare = KeyPair.generate("shadow-reader")
    reader = {
        "member": None,
        "name": "Reader the admin holds the key of",
        "principal": spare.principal,
        "public_key": spare.public_key,
        "role": "secretariat",
    }
    demo.attempt("admin", "registry", "principal.registered", reader)
    takeover = {
        "principal": people[4][0],
        "public_key": spare.public_key,
        "reason": "Key replaced at the NCP's request.",
    }
    demo.attempt("admin", "registry", "principal.key_rotated", takeover)


def framework(demo: Demo) -> None:
    """The Secretariat applies the demo framework file, as `pmm framework apply` does."""
    apply_framework(demo.ledger, demo.keys[SEC], load_framework(demo_data.FRAMEWORK_FILE))


def published(demo: Demo, stream: str, title: str) -> dict[str, Any]:
    """A publication body: cut at the current log size, with the scores it gives."""
    cut_at = demo.ledger.log_size()
    table = LogReader.of(demo.ledger).table(stream, cut_at)
    return {"cut_at": cut_at, "scores": table.published(), "title": title}


def submissions(demo: Demo, rng: random.Random) -> dict[str, dict[str, int]]:
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
        before: dict[str, dict[str, Any]] = {}  # KPI -> its year T-1 value
        for year in (YEAR - 1, YEAR):
            for k in demo_data.KPIS:
                if k.code in not_used or (member, k, year) == EXTERNAL:
                    continue
                last = before.get(k.code)
                value = sample_value(k, rng) if last is None else drift_value(k, last, rng)
                before[k.code] = value
                body = value_body(k, year, value, member.code)
                statements.append(demo.sign(ncp, stream, "value.submitted", body))
        recorded = demo.record(statements)
        used = [k.code for k in demo_data.KPIS if k.code not in not_used]
        this_year = [r for r in recorded if r.entry_type == "value.submitted"][-len(used) :]
        entries[member.code] = {
            code: r.stream_version for code, r in zip(used, this_year, strict=True)
        }
    return entries


def corrections_and_review(
    demo: Demo, entries: dict[str, dict[str, int]], rng: random.Random
) -> None:
    kpis = {k.code: k for k in demo_data.KPIS}
    for member in demo_data.MEMBERS[:6]:
        stream, ncp = assessment_stream(member.code, CYCLE), f"ncp-{member.code.lower()}"
        code = sorted(entries[member.code])[rng.randrange(len(entries[member.code]))]
        body = value_body(kpis[code], YEAR, sample_value(kpis[code], rng), member.code)
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
            **value_body(kpis[code], YEAR, sample_value(kpis[code], rng), first.code),
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


def external_value(demo: Demo, rng: random.Random) -> int:
    """The Secretariat records a value from a named source, with the file's digest."""
    member, kpi, year = EXTERNAL
    body = value_body(kpi, year, sample_value(kpi, rng), member.code)
    body["source"] = {
        "name": "National statistics office, 2021 annual report (PDF)",
        "sha256": evidence("external", member.code, kpi.code)[0],
    }
    return demo.one(
        SEC, assessment_stream(member.code, CYCLE), "value.submitted", body
    ).stream_version


def integrity(demo: Demo, external: int, entries: dict[str, dict[str, int]]) -> None:
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
        value_body(kpi, YEAR, {"amount": "1"}, second.code),
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


def publish_and_revise(
    demo: Demo, entries: dict[str, dict[str, int]], rng: random.Random
) -> None:
    title = "PMM cycle 1 report (2022 data)"
    demo.record(
        demo.sign(
            SEC,
            assessment_stream(m.code, CYCLE),
            "assessment.published",
            published(demo, assessment_stream(m.code, CYCLE), title),
        )
        for m in demo_data.MEMBERS
    )
    member = demo_data.MEMBERS[3]
    stream, ncp = assessment_stream(member.code, CYCLE), f"ncp-{member.code.lower()}"
    code = sorted(entries[member.code])[1]
    kpi = next(k for k in demo_data.KPIS if k.code == code)
    # A variation KPI whose year T-1 value is corrected: its year T score is restated.
    variation = next(
        k
        for k in demo_data.KPIS
        if k.scoring_method["method"] == "variation" and k.code in entries[member.code]
    )
    demo.one(
        SEC,
        stream,
        "assessment.reopened",
        {
            "kpis": [code, variation.code],
            "reason": "Member reported a planned revision of its 2022 data and an "
            "error in its 2021 data.",
        },
    )
    revised = demo.one(
        ncp,
        stream,
        "value.corrected",
        {
            **value_body(kpi, YEAR, sample_value(kpi, rng), member.code),
            "kind": "revision",
            "reason": "Planned revision: final figures from the 2022 audited accounts.",
            "supersedes": entries[member.code][code],
        },
    )
    prior = demo.ledger.aggregate(stream).current[(variation.code, YEAR - 1)]
    demo.one(
        ncp,
        stream,
        "value.corrected",
        {
            **value_body(variation, YEAR - 1, sample_value(variation, rng), member.code),
            "kind": "correction",
            "reason": "The 2021 figure counted one region twice.",
            "supersedes": prior,
        },
    )
    demo.one(ncp, stream, "submission.completed", {"note": "Revision submitted."})
    demo.one(VALIDATOR, stream, "value.validated", {"entry": revised.stream_version})
    demo.one(
        SEC,
        stream,
        "assessment.published",
        published(demo, stream, "PMM cycle 1 report, revised"),
    )
