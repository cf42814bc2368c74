"""The access log's seals in the integrity log (docs/decisions.md, decision 16).

Stream ``access-log``: each ``access_log.sealed`` entry, signed by the ledger's
own principal, names the access log's size and head hash (the SHA-256 of its
last record, ``verify/formats/access_chain.py``) at the moment it was sealed. The
access log only grows, so a seal never names a smaller size than the last, and
two seals of one size name one head. Once a checkpoint covering a seal is
witnessed, truncating or rewriting the access log before that seal contradicts
the signed log. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from verify.rules import Refusal, rule

EMPTY_HEAD = "0" * 64  # the head of an empty access log (its chain's genesis)


@dataclass(frozen=True)
class Seal:
    size: int
    head: str
    position: int  # the caller's: a stream version, or a log index


@dataclass
class SealState:
    """Every seal so far, oldest first."""

    seals: list[Seal] = field(default_factory=list)

    @property
    def last(self) -> Seal:
        return self.seals[-1] if self.seals else Seal(0, EMPTY_HEAD, -1)

    def refusal(self, body: Mapping[str, Any]) -> Refusal | None:
        last = self.last
        if body["size"] < last.size:
            return rule(
                f"a seal of access-log size {body['size']} after one of size "
                f"{last.size}: the access log only grows"
            )
        if body["size"] == last.size and body["head"] != last.head:
            return rule(
                f"a second seal of access-log size {body['size']} names another head "
                f"({body['head'][:16]}…, not {last.head[:16]}…): the access log was "
                "rewritten"
            )
        if body["size"] == 0 and body["head"] != EMPTY_HEAD:
            return rule("an empty access log's head is 64 zeros")
        return None
