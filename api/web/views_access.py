"""The access log page: who read which restricted values, when, through what.

For integrity officers only (docs/design.md §1), like ``GET /access-log``: anyone
else gets the refusal as a page (401 "sign in" for an anonymous reader, 403
for another role). Filters are the JSON route's — principal, Member, a date
range — and pages follow the record sequence, so a page read again holds the
same records. Reading the access log is not itself logged: it holds no values.
"""

from __future__ import annotations

from api.http.routes_audit import moment_filter
from api.web.params import size_number, text, url
from api.web.render import View
from api.web.views_common import Context
from ledger.access_log import AccessLog
from projections.access import Reader

PAGE = 50


def access_log(
    access: AccessLog,
    reader: Reader,
    principal: str | None,
    member: str | None,
    since: str | None,
    until: str | None,
    cursor: str | None,
) -> View:
    reader.require(("integrity_officer",), "the access log")
    who, code = text(principal, "principal"), text(member, "member")
    code = code.upper() if code else None
    start, end = text(since, "since"), text(until, "until")
    at = size_number(cursor, "cursor") or 0
    page = access.query(
        principal=who,
        member=code,
        since=moment_filter(start, start_of_day=True),
        until=moment_filter(end, start_of_day=False),
        cursor=at,
        limit=PAGE,
    )
    filters = {"principal": who, "member": code, "since": start, "until": end}
    context: Context = {
        "records": page.records,
        "filters": filters,
        "cursor": at,
        "next": url("/ui/access-log", **filters, cursor=page.next_cursor)
        if page.next_cursor is not None
        else None,
        "first": url("/ui/access-log", **filters) if at else None,
        "json": url("/access-log", **filters, cursor=at or None),
    }
    return View(context)
