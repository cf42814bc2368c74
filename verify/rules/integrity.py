"""The integrity officers' own records: stream ``integrity`` (docs/flags.md).

Three statement types share the stream, which starts with whichever comes
first:

* ``integrity.thresholds_set`` — the red-flag thresholds as data; a new
  version must be greater than the last, so "the thresholds that raised this
  flag" always names one recorded set;
* ``integrity.flag_handled`` — an officer acknowledges or escalates a red flag,
  with a reason. The flag id names the log indexes of the entries that raised
  it, and every one must already be in the log: nobody can pre-acknowledge a
  flag that entries yet to come would raise. Its ``member`` is the Member of
  the assessments those entries belong to — named when there is exactly one,
  absent otherwise — because it decides who may read the handling's reason
  (decision 27): a handling labelled with another Member would show one
  Member's restricted matter to another's NCP. Recording the same action
  twice in a row for one flag is a conflict (someone else already did it);
* ``report.issued`` — the SHA-256 of an audit report (its PDF and its HTML)
  and the log size it was read at, so a copy can be checked against the log;
  the cut lies within the log, and one report digest is recorded once.

The ledger's aggregate and the offline verifier both ask ``IntegrityState``
(decision 14). Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from verify.rules import Refusal, conflict, not_found, rule

MemberOf = Callable[[int], "str | None"]


def flag_entries(flag: str) -> list[int]:
    """The log indexes a flag id names (``rule:1,5,9``)."""
    return [int(index) for index in flag.split(":", 1)[1].split(",")]


@dataclass(frozen=True)
class Handling:
    """The latest handling of one flag."""

    action: str
    principal: str
    reason: str
    position: int  # the caller's: a stream version, or a log index


@dataclass
class IntegrityState:
    """The thresholds version, each flag's latest handling, the report digests."""

    thresholds_version: int = 0
    handled: dict[str, Handling] = field(default_factory=dict)
    reports: dict[str, int] = field(default_factory=dict)  # PDF or HTML sha256 ->
    # position

    def refusal(
        self,
        kind: str,
        body: Mapping[str, Any],
        log_size: int,
        member_of: MemberOf = lambda index: None,
    ) -> Refusal | None:
        """Why ``kind`` with ``body`` may not be recorded when the log holds
        ``log_size`` entries, or None; ``member_of`` names the Member whose
        assessment a log entry belongs to (None for other streams)."""
        if kind == "integrity.thresholds_set":
            if body["version"] <= self.thresholds_version:
                return conflict(
                    f"thresholds version {body['version']} is not after the recorded "
                    f"version {self.thresholds_version}: number the new set "
                    f"{self.thresholds_version + 1} or more"
                )
        elif kind == "integrity.flag_handled":
            return self._handling_refusal(body, log_size, member_of)
        elif kind == "report.issued":
            if body["cut"] > log_size:
                return not_found(
                    f"the report was read at log size {body['cut']}, but the log holds "
                    f"{log_size} entries"
                )
            for digest in (body["sha256"], body["html_sha256"]):
                if digest in self.reports:
                    return conflict(f"report {digest[:16]}… is already recorded")
        return None

    def _handling_refusal(
        self, body: Mapping[str, Any], log_size: int, member_of: MemberOf
    ) -> Refusal | None:
        entries = flag_entries(body["flag"])
        if entries != sorted(set(entries)):
            return rule(f"flag {body['flag']}: its log indexes must ascend, once each")
        if entries[-1] >= log_size:
            return not_found(
                f"flag {body['flag']} names log entry {entries[-1]}, but the log holds "
                f"{log_size} entries: a flag is handled after the entries that raise it"
            )
        members = sorted({m for m in map(member_of, entries) if m is not None})
        expected = members[0] if len(members) == 1 else None
        if body.get("member") != expected:
            named = "no Member" if expected is None else f"member {expected!r}"
            about = ", ".join(members) or "no assessment"
            return rule(
                f"flag {body['flag']} is about {about}: its handling carries {named}, "
                f"not {body.get('member')!r} (the Member decides who reads the reason)"
            )
        last = self.handled.get(body["flag"])
        if last is not None and last.action == body["action"]:
            return conflict(
                f"flag {body['flag']} is already {last.action} (by {last.principal})"
            )
        return None
