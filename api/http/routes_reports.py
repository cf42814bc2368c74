"""``GET /reports/{sha256}``: is this the digest of an issued audit report? (docs/report.md)

Whoever holds a copy of a report (HTML or PDF) hashes it and asks: the answer
is the ``report.issued`` entry that records the digest — who issued it, when,
for which Member and year, read at which log size — and that entry's receipt
(``c2sp.org/tlog-proof@v1``), so the answer can be checked offline instead of
trusted. It shows only what the copy in hand already says, and needs no token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.http.deps import LedgerDep
from api.http.errors import PROBLEM
from api.report import find_report, trust_policy
from ledger.errors import NotFoundError

router = APIRouter(tags=["audit"])
Digest = Annotated[
    str,
    Path(pattern="^[0-9a-f]{64}$", description="SHA-256 of the report file, lowercase hex"),
]


@router.get(
    "/reports/{sha256}",
    summary="The issued audit report with this SHA-256, and its receipt",
    responses={404: {"description": "No issued report has this digest", **PROBLEM}},
)
def report_of(sha256: Digest, ledger: LedgerDep) -> dict[str, Any]:
    """The ``report.issued`` entry naming ``sha256``, with its receipt."""
    found = find_report(ledger, sha256, trust_policy(ledger, None))
    if not found.found or found.log_index is None or found.body is None:
        raise NotFoundError(f"no issued report has SHA-256 {sha256}")
    return {
        "sha256": sha256,
        "log_index": found.log_index,
        "principal": found.principal,
        "recorded_at": found.recorded_at,
        "member": found.body["member"],
        "reference_year": found.body["reference_year"],
        "cut": found.body["cut"],
        "title": found.body["title"],
        "receipt": ledger.receipt(found.log_index),
    }
