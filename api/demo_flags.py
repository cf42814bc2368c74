"""The demo's red-flag part (docs/flags.md): the integrity officer records the
packaged thresholds, and one irregularity is planted for ``pmm flags`` to find.

The planted case is the World Bank Doing Business 2018/2020 pattern: data
changed after internal review, just before publication, by a senior
principal. Chile's value of a number KPI is validated with the rest; then,
minutes before the cycle's publication, the validation officer sends it back
and the Secretariat's data team overwrites it from a "revised" source. The
flags show it as ``changed_after_validation`` and ``late_change``, both high.
"""

from __future__ import annotations

from decimal import Decimal

from api import demo_data
from api.demo_kit import CYCLE, OFFICER, SEC, VALIDATOR, YEAR, Demo, evidence, value_body
from api.flag_defaults import PACKAGED_FILE, load_thresholds, packaged
from ledger.domain.integrity import INTEGRITY_STREAM
from projections.flags import compute_flags
from verify.formats.schema import assessment_stream

PLANTED_MEMBER = "CHL"


def record_thresholds(demo: Demo) -> None:
    """The integrity officer records the packaged thresholds, as
    ``pmm flags thresholds apply`` does."""
    thresholds, reason = load_thresholds(PACKAGED_FILE)
    body = {
        "reason": reason or "The packaged thresholds.",
        "thresholds": thresholds.as_body(),
        "version": thresholds.version,
    }
    demo.one(OFFICER, INTEGRITY_STREAM, "integrity.thresholds_set", body)


def plant_late_change(demo: Demo, entries: dict[str, dict[str, int]]) -> None:
    """After validation and just before publication, the Secretariat changes a
    validated value of Chile's (no random draw: the demo's other values stay)."""
    member = next(m for m in demo_data.MEMBERS if m.code == PLANTED_MEMBER)
    stream = assessment_stream(member.code, CYCLE)
    kpi = next(
        k
        for k in demo_data.KPIS
        if k.value_kind == "number" and k.code in entries[member.code]
    )
    validated = entries[member.code][kpi.code]
    old = demo.ledger.aggregate(stream).values[validated]
    demo.one(
        VALIDATOR,
        stream,
        "value.returned",
        {"entry": validated, "message": "Returned at the Director's request."},
    )
    amount = (Decimal(old.value["amount"]) / 2).quantize(Decimal("0.1"))
    body = value_body(kpi, YEAR, {"amount": str(amount)}, member.code)
    body["source"] = {
        "name": "Revised figure received by e-mail",
        "sha256": evidence("late", member.code, kpi.code)[0],
    }
    corrected = demo.one(
        SEC,
        stream,
        "value.corrected",
        {**body, "kind": "correction", "reason": "Updated.", "supersedes": validated},
    )
    entries[member.code][kpi.code] = corrected.stream_version


def handle_flags(demo: Demo) -> None:
    """The integrity officer escalates the planted change and acknowledges the
    Secretariat's revision of a score it explained, each with a signed reason
    (``pmm flags escalate|acknowledge``)."""
    flags, _ = compute_flags(demo.ledger, packaged())
    planted = next(
        f for f in flags if f.rule == "changed_after_validation" and f.member == "CHL"
    )
    demo.one(
        OFFICER,
        INTEGRITY_STREAM,
        "integrity.flag_handled",
        {
            "action": "escalated",
            "flag": planted.id,
            "member": "CHL",
            "reason": "A validated value halved by the Secretariat minutes before "
            "publication, with no new evidence: referred to the audit committee.",
        },
    )
    revision = next((f for f in flags if f.rule == "score_revision"), None)
    if revision is not None:
        body = {
            "action": "acknowledged",
            "flag": revision.id,
            "reason": "The revision's justification cites the peer review's finding; "
            "no further action.",
        }
        if revision.member is not None:
            body["member"] = revision.member
        demo.one(OFFICER, INTEGRITY_STREAM, "integrity.flag_handled", body)
