"""Who may read what: the reader, its audience per Member, the access log.

docs/design.md §1: each value carries a disclosure level — ``public``; ``wco``
(all NCPs and peer reviewers); ``restricted`` (the Member, the Secretariat and
integrity officers) — and every read path honours it. A reader's *audience*
for a Member is the widest level it may see there (decision 13):

| reader | its own Member | another Member |
|---|---|---|
| anonymous, ``admin`` | public | public |
| ``peer_reviewer`` | — | wco |
| ``ncp`` | restricted | wco |
| ``secretariat``, ``integrity_officer`` | restricted | restricted |

``admin`` registers keys and runs the log; its role grants no data. Every read
that shows a restricted value is appended to the access log
(``ledger/access_log.py``) *before* the answer leaves, so a read that could
not be logged is not served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ledger.access_log import AccessLog
from projections.disclosure import visible
from projections.errors import ReadNotPermittedError, SignInRequiredError

FULL_READERS = frozenset({"secretariat", "integrity_officer"})
WCO_READERS = frozenset({"ncp", "peer_reviewer"})


@dataclass(frozen=True)
class Reader:
    """The principal behind a request, or nobody (``principal`` None)."""

    principal: str | None = None
    role: str | None = None
    member: str | None = None
    token_id: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.principal is None

    def audience(self, member: str | None) -> str:
        """The widest disclosure level this reader may see for ``member``."""
        if self.role in FULL_READERS:
            return "restricted"
        if self.role == "ncp" and member is not None and member == self.member:
            return "restricted"
        if self.role in WCO_READERS:
            return "wco"
        return "public"

    def sees(self, member: str | None, level: str) -> bool:
        """Whether this reader may see what is disclosed at ``level`` for
        ``member``: the one question every read path asks (decision 26)."""
        return visible(level, self.audience(member))

    def require(self, roles: Iterable[str], what: str) -> None:
        """Refuse unless the reader holds one of ``roles``."""
        allowed = sorted(roles)
        if self.anonymous:
            raise SignInRequiredError(
                f"{what} needs a principal: send 'Authorization: Bearer <token>' "
                f"(pmm token --as KEY) of a principal whose role is {' or '.join(allowed)}"
            )
        if self.role not in allowed:
            raise ReadNotPermittedError(
                f"{what} is for {' or '.join(allowed)} principals; "
                f"{self.principal!r} is {self.role}"
            )


ANONYMOUS = Reader()


def log_restricted_reads(
    log: AccessLog, reader: Reader, request: str, shown: Mapping[str | None, list[str]]
) -> None:
    """Append one access record per Member whose restricted values were shown
    (a read across Members, such as ``/events`` or an entry bundle)."""
    for member, names in sorted(shown.items(), key=lambda item: item[0] or ""):
        log_restricted_read(log, reader, request, member, names)


def log_restricted_read(
    log: AccessLog,
    reader: Reader,
    request: str,
    member: str | None,
    shown: list[str],
) -> None:
    """Append the read to the access log when it shows anything restricted."""
    if not shown:
        return
    if reader.principal is None or reader.role is None:  # pragma: no cover - policy
        raise ReadNotPermittedError("an anonymous reader can never see restricted values")
    log.append(
        principal=reader.principal,
        role=reader.role,
        member=member,
        request=request,
        shown=shown,
        token=reader.token_id or "",
    )
