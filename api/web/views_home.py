"""The overview page: is the log verified, who witnessed it, how it grows.

What it shows is public, as the log itself is (``/checkpoint``, hash tiles):
the last ``pmm verify`` verdict kept in the home (``ledger/verify_status.py``),
the latest checkpoint with each witness's last cosignature that verifies under
the key the witness policy pins, entries per day (counted by bisection on
record time, ``projections/log_reader.py``'s ``size_at``, never by reading
every entry), and the assessments opened. No value is shown, so nothing is logged —
except the open red flags, shown to integrity officers and the Secretariat only
(docs/flags.md), whose restricted entries are logged like ``/ui/flags``.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from api.flag_defaults import packaged
from api.web import charts
from api.web.params import url
from api.web.render import View
from api.web.views_common import Context, member_name
from ledger.application import Ledger
from ledger.errors import ConfigurationError
from ledger.home import read_policy
from ledger.verify_status import read_status
from projections.access import FULL_READERS, Reader
from projections.flags import FlagFilter, read_flags
from projections.log_reader import LogReader
from verify.errors import VerifyError
from verify.formats.checkpoint import note_checkpoint
from verify.formats.cosignature import CosignatureVerifier, cosignature_timestamp
from verify.formats.entry import parse_entry
from verify.formats.note import parse_note
from verify.formats.statement import format_timestamp, parse_timestamp

DAYS = 30  # the chart's span: the last DAYS days that hold entries
CHECKPOINTS_SEARCHED = 64  # how far back a witness's last cosignature is looked for


OPEN_FLAGS_SHOWN = 10  # the rest are one click away, on /ui/flags


def overview(ledger: Ledger, reader: Reader) -> View:
    note = ledger.sequencer.checkpoint()
    checkpoint = note_checkpoint(note)
    context: Context = {
        "log_size": ledger.log_size(),
        "checkpoint": {
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode("ascii"),
        },
        "witnesses": witnesses(ledger),
        "per_day": per_day(ledger),
        **verification(ledger),
        **assessments(ledger),
    }
    if reader.role not in FULL_READERS:  # flags are restricted: not even a count
        return View(context)
    found = read_flags(ledger, reader, packaged(), FlagFilter(status="open"))
    shown = found.flags[:OPEN_FLAGS_SHOWN]
    context["flags"] = [
        {
            "href": url("/ui/flags", member=flag.member, rule=flag.rule),
            "label": f"{flag.severity}: {flag.summary}",
            "note": flag.id,
        }
        for flag in shown
    ]
    context["flags_open"] = len(found.flags)
    # Only what the page lists is logged as shown.
    names = {f"flag {flag.id}" for flag in shown}
    restricted = {
        member: [name for name in listed if name in names]
        for member, listed in found.restricted_shown.items()
    }
    return View(context, {member: n for member, n in restricted.items() if n})


def verification(ledger: Ledger) -> Context:
    try:
        status = read_status(ledger.settings.home)
    except ConfigurationError as exc:
        return {"verify": None, "verify_problem": str(exc)}
    return {"verify": status, "verify_problem": None}


def witnesses(ledger: Ledger) -> list[dict[str, object]] | None:
    """Each witness of the policy with its last cosignature (time, tree size)
    among the latest stored checkpoints; None if the ledger has no policy."""
    try:
        policy = read_policy(ledger.settings)
    except ConfigurationError:
        return None
    if policy is None:
        return None
    notes = LogReader.of(ledger).recent_checkpoints(CHECKPOINTS_SEARCHED)
    found: list[dict[str, object]] = []
    for witness in policy.witnesses:
        last: dict[str, object] = {"name": witness.name, "size": None, "time": None}
        for size, text in notes:
            when = _cosigned(witness.verifier, text)
            if when is not None:
                last.update(size=size, time=when)
                break
        found.append(last)
    return found


def _cosigned(verifier: CosignatureVerifier, text: str) -> str | None:
    """When ``verifier``'s witness cosigned the note ``text``, if it did."""
    note = parse_note(text)
    for signature in note.signatures:
        if signature.key_id != verifier.key_id or signature.name != verifier.name:
            continue
        try:
            if verifier.verify(note.text.encode(), signature.signature):
                moment = datetime.fromtimestamp(cosignature_timestamp(signature), UTC)
                return format_timestamp(moment)
        except VerifyError:
            continue
    return None


def per_day(ledger: Ledger) -> dict[str, object]:
    """Entries recorded on each of the last ``DAYS`` days that the log spans."""
    log = LogReader.of(ledger)
    size = log.size()
    if size == 0:
        bars: list[charts.Bar] = []
    else:
        first = parse_timestamp(parse_entry(log.entry(0)).recorded_at).date()
        last = parse_timestamp(parse_entry(log.entry(size - 1)).recorded_at).date()
        day = max(first, last - timedelta(days=DAYS - 1))
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        before = log.size_at(start - timedelta(microseconds=1))
        bars = []
        while day <= last:
            end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
            upto = log.size_at(end - timedelta(microseconds=1))
            bars.append(charts.Bar(day.isoformat(), upto - before))
            before, day = upto, day + timedelta(days=1)
    title = "Entries recorded per day"
    return {"bars": bars, "chart": charts.bar_chart("per-day", title, bars)}


def assessments(ledger: Ledger) -> Context:
    found = []
    for stream, raw in LogReader.of(ledger).opened("assessment/"):
        body = parse_entry(raw).signed.body
        member, year = str(body["member"]), int(body["reference_year"])
        found.append(
            {
                "stream": stream,
                "member": member,
                "name": member_name(member),
                "cycle": body["cycle"],
                "year": year,
                "assessment": url("/ui/assessment", member=member, year=year),
                "scores": url("/ui/scores", member=member, year=year),
                "history": url("/ui/history", member=member, year=year),
            }
        )
    years = sorted({a["year"] for a in found}, reverse=True)
    return {
        "assessments": found,
        "members": sorted({a["member"] for a in found}),
        "year": years[0] if years else None,
    }
