"""``pmm report``: the signed audit report, on SQLite and PostgreSQL (docs/report.md).

The report is written as HTML and PDF, both digests are recorded as a signed
``report.issued`` entry before the files exist, and ``pmm report verify``
proves a copy against the log — and refuses an altered one. Only full readers
write one; building it is a restricted read, in the access log; hostile text
in the log is escaped; a ledger whose rows were edited behind its back gives
a report that says VERIFICATION FAILED at that entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger.keys import KeyPair
from verify.formats.entry import parse_entry

if TYPE_CHECKING:
    from tests.conftest import World

runner = CliRunner()
HOSTILE = '<script>alert("x")</script> checked & found'


def pmm(world: World, *args: str) -> tuple[int, str]:
    settings = world.ledger.settings
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    result = runner.invoke(app, [*args, "--home", str(settings.home)], env=env)
    return result.exit_code, result.output


def key_file(tmp_path: Path, key: KeyPair) -> str:
    path = tmp_path / f"{key.principal}.key"
    key.save(path)
    return str(path)


def assessment(world: World) -> None:
    """Kenya: a value, validated, then corrected with a hostile reason."""
    first = world.hours(world.ncp_ken, world.KEN, "12")
    world.record(world.sec2, world.KEN, "value.validated", {"entry": first.stream_version})
    body = world.value_body(
        world.KPI_HOURS,
        {"amount": "9"},
        "hours",
        supersedes=first.stream_version,
        kind="correction",
        reason=HOSTILE,
    )
    world.record(world.ncp_ken, world.KEN, "value.corrected", body)


def write(world: World, tmp_path: Path, key: KeyPair, *extra: str) -> tuple[int, str]:
    return pmm(
        world,
        "report",
        "--member",
        "KEN",
        "--year",
        "2022",
        "--as",
        key_file(tmp_path, key),
        "--out",
        str(tmp_path / "out"),
        "--json",
        *extra,
    )


def test_a_report_is_written_recorded_and_provable(world: World, tmp_path: Path) -> None:
    assessment(world)
    code, output = write(world, tmp_path, world.officer)
    assert code == 0, output
    summary = json.loads(output)
    pdf, html = Path(summary["pdf"]), Path(summary["html"])
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == summary["pdf_sha256"]
    assert hashlib.sha256(html.read_bytes()).hexdigest() == summary["html_sha256"]
    assert oct(pdf.stat().st_mode & 0o777) == "0o600"
    # The digests are in the log, signed by the officer, naming the cut.
    entry = parse_entry(world.ledger.sequencer.store.entry(summary["log_index"]))
    assert (entry.entry_type, entry.signed.principal) == ("report.issued", "integrity")
    body = entry.signed.body
    assert (body["sha256"], body["html_sha256"]) == (
        summary["pdf_sha256"],
        summary["html_sha256"],
    )
    assert body["cut"] == summary["cut"] and body["member"] == "KEN"
    # Both copies verify; an altered copy does not.
    for copy in (pdf, html):
        code, output = pmm(world, "report", "verify", str(copy), "--json")
        assert code == 0, output
        found = json.loads(output)
        assert found["found"] and found["log_index"] == summary["log_index"]
        assert found["proven_at_size"] > summary["log_index"]
    altered = tmp_path / "altered.html"
    altered.write_text(html.read_text().replace("Verified.", "Verified!"))
    code, output = pmm(world, "report", "verify", str(altered))
    assert code == 1 and "NOT a recorded report" in output


def test_the_report_says_who_changed_what_and_escapes_it(
    world: World, tmp_path: Path
) -> None:
    assessment(world)
    code, output = write(world, tmp_path, world.sec)
    assert code == 0, output
    html = Path(json.loads(output)["html"]).read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "checked &amp; found" in html
    assert "value.corrected" in html and "ncp-ken (ncp)" in html
    # The score comes from the correction, which nobody validated since; the
    # validation of the value it superseded is in the trail.
    assert "<em>not validated</em>" in html
    assert "value.validated" in html and "sec2 (secretariat)" in html
    assert "Verified." in html and "VERIFICATION FAILED" not in html
    # The correction of a validated value is a red flag, with its thresholds,
    # and its KPI's history is drawn as the trail page draws it (T−1 and T).
    assert "changed_after_validation" in html and "thresholds: packaged v1" in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart') == 2
    assert f"{world.KPI_HOURS}, T (2022)" in html and 'class="mark validated"' in html
    # Writing the report was a restricted read of KEN: it is in the access log,
    # and the report that follows lists it.
    records = list(world.ledger.access_log.records())
    assert any(r["request"].startswith("pmm report --member KEN") for r in records)
    # The access log is for integrity officers: the Secretariat's report does
    # not list it; the officer's lists every restricted read, this one's too.
    assert "The access log is read by integrity officers only" in html
    assert "pmm report --member KEN" not in html
    code, output = write(world, tmp_path / "again", world.officer)
    assert code == 0, output
    again = Path(json.loads(output)["html"]).read_text()
    assert "audit report assessment/KEN/1 at log size" in again
    assert "sec (secretariat)" in again


@pytest.mark.parametrize("who", ["ncp_ken", "reviewer", "admin"])
def test_only_full_readers_write_reports(world: World, tmp_path: Path, who: str) -> None:
    assessment(world)
    before = world.ledger.log_size()
    code, output = write(world, tmp_path, getattr(world, who))
    assert code == 1, output
    assert "an audit report is for integrity_officer or secretariat" in output
    assert world.ledger.log_size() == before
    assert not (tmp_path / "out").exists()


def test_a_report_as_published_reads_at_the_publication_cut(
    world: World, tmp_path: Path
) -> None:
    assessment(world)
    world.record(world.ncp_ken, world.KEN, "submission.completed", {})
    cut = world.ledger.log_size()
    world.record(world.sec, world.KEN, "assessment.published", world.publication(world.KEN))
    world.hours(world.ncp_bra, world.BRA, "30")  # later entries elsewhere
    code, output = write(world, tmp_path, world.officer, "--published", "1")
    assert code == 0, output
    summary = json.loads(output)
    assert summary["cut"] == cut
    # The flagged KPI's chart ends at the publication's cut, and says so.
    html = Path(summary["html"]).read_text()
    assert f"s cut (log size {cut})</text>" in html, html[html.find("<svg") :][:3000]


def test_a_report_on_an_edited_ledger_says_verification_failed(
    world: World, tmp_path: Path
) -> None:
    assessment(world)
    store = world.ledger.sequencer.store
    version = 2
    raw = dict(store.stream_entries([world.KEN], store.size()))
    index = sorted(raw)[version - 1]
    edited = raw[index].replace(b'"amount":"12"', b'"amount":"13"')
    assert edited != raw[index]
    with store.transaction(commit=True) as cur:
        cur.execute(
            f"UPDATE {store.events_table} SET state = %s "
            "WHERE originator_id = %s AND originator_version = %s",
            (edited, world.KEN, version),
        )
    code, output = write(world, tmp_path, world.officer)
    assert code == 0, output
    summary = json.loads(output)
    assert summary["verified"] is False
    html = Path(summary["html"]).read_text()
    assert "VERIFICATION FAILED" in html and f"entry {index}:" in html


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_pdf_renders(world: World, tmp_path: Path) -> None:
    """pdftoppm (poppler) turns the first page into a PNG: the PDF is a PDF."""
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftoppm is missing under CI (.ci/run installs poppler-utils)")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    assessment(world)
    code, output = write(world, tmp_path, world.officer)
    assert code == 0, output
    pdf = json.loads(output)["pdf"]
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", pdf, str(tmp_path / "p")],
        check=True,
    )
    png = next(tmp_path.glob("p*.png")).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 2000
