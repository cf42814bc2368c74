"""The audit report as files: HTML and PDF, and their digests in the log (docs/report.md).

``issue`` renders ``projections.report.AuditReport`` to one standalone HTML
file (styles inline, no external resource) and to PDF with WeasyPrint from
that very HTML, then records ``report.issued`` — the SHA-256 of both files,
the Member, the year and the log size the report read at — signed by the
issuer's own key. ``check_copy`` is the other half: hash a file, find the
``report.issued`` entry that names that digest, and prove the entry is in the
signed log (an inclusion proof against the latest checkpoint), so a copy
handed to an audit committee can be checked against the log years later.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ledger.application import Ledger, Recorded
from ledger.domain.integrity import INTEGRITY_STREAM
from ledger.files import write_private
from ledger.home import current_policy
from ledger.keys import KeyPair
from projections.log_reader import LogReader
from projections.report import AuditReport
from verify.errors import VerifyError
from verify.formats.entry import parse_entry
from verify.formats.policy_text import TrustPolicy, parse_policy
from verify.formats.receipt import verify_receipt
from verify.formats.trust import load_trust
from verify.merkle.tree import leaf_hash

HERE = Path(__file__).parent / "report_templates"
CHARTS_CSS = Path(__file__).parent / "web" / "static" / "charts.css"
environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Issued:
    html: Path
    pdf: Path
    html_sha256: str
    pdf_sha256: str
    recorded: Recorded


@dataclass(frozen=True)
class CopyCheck:
    """What the log says of a copy: the entry that records its digest, if any."""

    file: str
    sha256: str
    found: bool
    log_index: int | None = None
    principal: str | None = None
    role: str | None = None  # the issuer's role: who vouches for the copy
    recorded_at: str | None = None
    body: dict[str, Any] | None = None
    proven_at_size: int | None = None  # the checkpoint the inclusion proof is against
    problem: str | None = None


def render_html(
    report: AuditReport, origin: str, charts: Sequence[tuple[str, str]] = ()
) -> str:
    """The report as one standalone HTML document."""
    style = Markup(  # our own files: the report's rules and the pages' charts
        (HERE / "report.css").read_text(encoding="utf-8")
        + (CHARTS_CSS).read_text(encoding="utf-8")
    )
    return environment.get_template("report.html").render(
        r=report,
        origin=origin,
        style=style,
        flags=report.flags,
        flags_note=report.thresholds,
        # (caption, SVG): the SVG is api/web/charts.py's own escaped markup.
        charts=[(caption, Markup(svg)) for caption, svg in charts],
    )


def render_pdf(html: str) -> bytes:
    """The same HTML, typeset by WeasyPrint; nothing is fetched from anywhere."""
    from weasyprint import HTML  # a heavy import, only where a PDF is made

    def no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise ValueError(f"the report loads no external resource ({url[:80]})")

    pdf: bytes = HTML(string=html, url_fetcher=no_fetch).write_pdf()
    return pdf


def file_stem(report: AuditReport) -> str:
    """``report-KEN-2022-size-123``: what and when, safe as a file name."""
    stem = f"report-{report.member}-{report.reference_year}-size-{report.cut}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem)


def issue(
    ledger: Ledger,
    key: KeyPair,
    report: AuditReport,
    out: Path,
    html: str,
) -> Issued:
    """Write ``html`` and its PDF into ``out`` and record their digests."""
    pdf = render_pdf(html)
    out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(report)
    html_path, pdf_path = out / f"{stem}.html", out / f"{stem}.pdf"
    data = html.encode("utf-8")
    html_sha, pdf_sha = hashlib.sha256(data).hexdigest(), hashlib.sha256(pdf).hexdigest()
    body = {
        "member": report.member,
        "reference_year": report.reference_year,
        "cut": report.cut,
        "sha256": pdf_sha,
        "html_sha256": html_sha,
        "title": report.title,
    }
    version = ledger.stream_version(INTEGRITY_STREAM)
    statement = key.statement(
        ledger.origin, INTEGRITY_STREAM, "report.issued", body, version
    )
    # Recorded first: a file on disk whose digest is not in the log is no report.
    recorded = ledger.record(key.sign(statement))
    write_private(html_path, data)
    write_private(pdf_path, pdf)
    return Issued(html_path, pdf_path, html_sha, pdf_sha, recorded)


def trust_policy(ledger: Ledger, trust: Path | None) -> TrustPolicy:
    """The pinned trust file's policy, or the home's witness policy (else the log
    key alone): what a receipt is checked against."""
    if trust is not None:
        return load_trust(trust).policy
    found = current_policy(ledger)  # over the log key that signs now (decision 33)
    return found or parse_policy(f"log {ledger.log_vkey()}\nquorum none\n")


def check_copy(ledger: Ledger, path: Path, trust: Path | None = None) -> CopyCheck:
    """Is ``path`` a report whose digest the log records? Proven, not trusted."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return find_report(ledger, digest, trust_policy(ledger, trust), str(path))


def find_report(
    ledger: Ledger, digest: str, policy: TrustPolicy, name: str = ""
) -> CopyCheck:
    """The ``report.issued`` entry naming ``digest`` (PDF or HTML), with its
    inclusion proven against the latest checkpoint under ``policy``."""
    log = LogReader.of(ledger)
    for index, raw in log.stream_entries([INTEGRITY_STREAM], ledger.log_size()):
        entry = parse_entry(raw)
        body = entry.signed.body
        if entry.entry_type != "report.issued":
            continue
        if digest not in (body["sha256"], body["html_sha256"]):
            continue
        problem = None
        proven = None
        try:
            verified = verify_receipt(
                ledger.receipt(index), leaf_hash(raw), policy, origin=ledger.origin
            )
            proven = verified.checkpoint.checkpoint.size
        except VerifyError as exc:
            problem = f"the entry's inclusion proof does not verify: {exc}"
        registry = ledger.registry()
        issuer = registry.get(entry.signed.principal) if registry is not None else None
        return CopyCheck(
            name,
            digest,
            True,
            index,
            entry.signed.principal,
            issuer.role if issuer is not None else None,
            entry.recorded_at,
            dict(body),
            proven,
            problem,
        )
    return CopyCheck(name, digest, False, problem="no report.issued entry names it")
