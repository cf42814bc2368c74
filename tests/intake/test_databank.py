"""``pmm import databank``: the World Bank Doing Business export, on SQLite and PostgreSQL.

The shared dataset (``../shared/data/worldbank-doing-business``) is read in
place; tests that need it skip when it is absent. On PostgreSQL only a few
Members are imported, to keep the run short.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.cli.framework import apply_framework
from intake.databank import DataBankImport
from intake.databank_file import read_databank
from intake.databank_report import ImportReport
from intake.errors import ImportFileError
from intake.framework_file import load_framework
from ledger.application import Ledger
from ledger.domain.assessment import Assessment
from ledger.keys import KeyPair
from ledger.persistence import Settings
from ledger.scores import replay_table
from verify.formats.entry import parse_entry

if TYPE_CHECKING:
    from tests.conftest import Registration

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORK = ROOT / "api" / "frameworks" / "doing-business.toml"
DATA = ROOT.parent / "shared" / "data" / "worldbank-doing-business"
CSV_FILE = DATA / "EASE_OF_DOING_BSNS.csv"
HEADER = "Country Name,Country Code,Series Name,Series Code," + ",".join(
    f"{year} [YR{year}]" for year in (2017, 2018, 2019)
)
START = "IC.REG.STRT.BUS.DFRN"  # Starting a business - Score
TRADE = "TRD.ACRS.BRDR.DB1619.DFRN"  # Trading across borders - Score (published)
needs_data = pytest.mark.skipif(
    not CSV_FILE.exists(),
    reason=f"the shared Doing Business export is absent ({CSV_FILE}); see its README",
)
runner = CliRunner()


def setup(ledger: Ledger, registration: Registration) -> tuple[KeyPair, KeyPair]:
    """A Secretariat principal and Kenya's NCP, and the Doing Business framework."""
    sec, ncp = KeyPair.generate("wco-sec"), KeyPair.generate("ncp-ken")
    for key, role, member in [(sec, "secretariat", None), (ncp, "ncp", "KEN")]:
        body = {
            "member": member,
            "name": key.principal,
            "principal": key.principal,
            "public_key": key.public_key,
            "role": role,
        }
        ledger.record(registration(ledger, body))
    apply_framework(ledger, sec, load_framework(FRAMEWORK))
    return sec, ncp


def run(
    ledger: Ledger, key: KeyPair, path: Path, members: str | None = None, cycle: str = "1"
) -> ImportReport:
    chosen = frozenset(members.split(",")) if members else None
    return DataBankImport(ledger, key, read_databank(path), cycle, 2019, chosen).run()


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def subset(tmp_path: Path, members: set[str], change: dict[str, str] | None = None) -> Path:
    """The shared file's rows of ``members`` (``change``: series → new 2019 value)."""
    rows = read_rows(CSV_FILE)
    kept = [r for r in rows[1:] if len(r) == 7 and r[1] in members]
    for row in kept:
        if change and row[3] in change and row[1] == "AFG":
            row[6] = change[row[3]]
    path = tmp_path / f"subset-{len(list(tmp_path.iterdir()))}.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([rows[0], *kept])
    return path


def expected(members: set[str] | None) -> tuple[int, int, int]:
    """(recordable, missing, rows) for 2018–2019 of ``members``, counted plainly."""
    rows = read_rows(CSV_FILE)[1:]
    rows = [r for r in rows if len(r) == 7 and r[1] and r[1] != "XKX"]
    rows = [r for r in rows if members is None or r[1] in members]
    cells = [c for r in rows for c in r[5:7]]
    return sum(c != ".." for c in cells), sum(c == ".." for c in cells), len(rows)


@needs_data
def test_import_the_doing_business_file(
    ledger: Ledger, registration: Registration, backend: str
) -> None:
    sec, _ = setup(ledger, registration)
    members = None if backend == "sqlite" else "AFG,KEN,ZAF"
    chosen = set(members.split(",")) if members else None
    report = run(ledger, sec, CSV_FILE, members)
    recordable, missing, rows = expected(chosen)
    assert report.exit_code == 0
    assert report.counts["submitted"] == recordable > 0
    assert report.counts["missing"] == missing
    assert report.counts["corrected"] == report.counts["unchanged"] == 0
    assert report.skipped == {"2017 [YR2017]": rows + (60 if chosen is None else 0)}
    reasons = {r.reason for r in report.refused}
    assert reasons == ({"country"} if chosen is None else set())  # XKX: Kosovo
    assert report.counts["refused"] == (120 if chosen is None else 0)
    assert report.source == "World Bank DataBank: Doing Business (EASE_OF_DOING_BSNS.csv)"
    assert len(report.opened) == (190 if chosen is None else 3)
    # A known value, with the file's digest as source and evidence.
    digest = hashlib.sha256(CSV_FILE.read_bytes()).hexdigest()
    afg: Assessment = ledger.aggregate("assessment/AFG/1")
    assert afg.reference_year == 2019
    entry = afg.current[(START, 2019)]
    assert afg.values[entry].value == {"amount": "91.99116"}
    assert afg.values[afg.current[(START, 2018)]].value == {"amount": "92.0413"}
    stored = dict(ledger.sequencer.store.stream_entries(["assessment/AFG/1"], 10**9))
    body = next(
        parse_entry(raw).signed.body
        for raw in stored.values()
        if parse_entry(raw).stream_version == entry
    )
    assert body["source"] == {"name": report.source, "sha256": digest}
    assert body["evidence"] == [digest] and body["unit"] == "score"
    assert "line 2, Afghanistan" in body["comment"]
    # Scored with the framework file.
    table = replay_table(ledger.sequencer.store, "assessment/AFG/1", ledger.log_size())
    scores = {(r.level, r.code): r for r in table.rows}
    assert scores[("kpi", START)].score == "91.99"
    assert scores[("overall", "overall")].score is not None
    # The four trading-across-borders hours, scored between the Doing Business
    # frontier values, give back the published area score (the outcome's mean).
    published = Decimal(scores[("kpi", TRADE)].score or "")
    outcome = Decimal(scores[("outcome", "DB.TRADE")].score or "")
    assert abs(outcome - published) <= Decimal("0.02")
    # Importing the same file again records nothing and says so.
    size = ledger.log_size()
    again = run(ledger, sec, CSV_FILE, members)
    assert again.counts["unchanged"] == recordable and again.counts["submitted"] == 0
    assert ledger.log_size() == size and not again.opened


@needs_data
def test_a_changed_value_becomes_a_correction_until_locked(
    ledger: Ledger, registration: Registration, tmp_path: Path
) -> None:
    sec, ncp = setup(ledger, registration)
    first = run(ledger, sec, subset(tmp_path, {"AFG", "KEN"}))
    assert first.counts["submitted"] > 200 and first.exit_code == 0
    afg: Assessment = ledger.aggregate("assessment/AFG/1")
    old_entry = afg.current[(START, 2019)]
    changed = subset(tmp_path, {"AFG", "KEN"}, {START: "12.5"})
    report = run(ledger, sec, changed)
    assert (report.counts["corrected"], report.counts["submitted"]) == (1, 0)
    assert report.counts["unchanged"] == first.counts["submitted"] - 1
    afg = ledger.aggregate("assessment/AFG/1")
    new = afg.values[afg.current[(START, 2019)]]
    assert new.value == {"amount": "12.5"} and new.supersedes == old_entry
    digest = hashlib.sha256(changed.read_bytes()).hexdigest()
    raw = dict(ledger.sequencer.store.stream_entries(["assessment/AFG/1"], 10**9))
    body = parse_entry(raw[max(raw)]).signed.body
    assert body["kind"] == "correction" and digest in body["reason"]
    assert body["supersedes"] == old_entry
    # Once the NCP completes the submission, the ledger refuses the change; the
    # rest of the batch (ZAF, new) is still recorded, and the exit code says 1.
    version = ledger.stream_version("assessment/KEN/1")
    ledger.record(
        ncp.sign(
            ncp.statement(
                ledger.origin, "assessment/KEN/1", "submission.completed", {}, version
            )
        )
    )
    rows = read_rows(changed)
    for row in rows[1:]:
        if row[1] == "KEN" and row[3] == START:
            row[6] = "50"
    zaf = read_rows(subset(tmp_path, {"ZAF"}))
    locked = tmp_path / "locked.csv"
    with locked.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([*rows, *zaf[1:]])
    report = run(ledger, sec, locked)
    assert report.exit_code == 1
    [refused] = report.refused
    assert (refused.member, refused.series, refused.year) == ("KEN", START, 2019)
    assert refused.reason == "ledger" and "ConflictError" in refused.message
    assert "is complete" in refused.message
    assert report.counts["submitted"] == sum(
        r[1] == "ZAF" and c != ".." for r in zaf[1:] for c in r[5:7]
    )


def test_wrong_header_refuses_the_file(tmp_path: Path) -> None:
    wrong = tmp_path / "wide.csv"
    wrong.write_text("Country,Code,Indicator,2019\nKenya,KEN,x,1\n")
    with pytest.raises(ImportFileError) as caught:
        read_databank(wrong)
    assert str(wrong) in str(caught.value)
    assert "column 1 is 'Country', not 'Country Name'" in str(caught.value)
    for text, phrase in [
        ("", "the file is empty"),
        (HEADER.replace("2018 [YR2018]", "2018 [YR2017]"), "not a year column"),
        (",".join(HEADER.split(",")[:4]), "no year column"),
    ]:
        wrong.write_text(text + "\n")
        with pytest.raises(ImportFileError, match=phrase):
            read_databank(wrong)


def test_rows_are_refused_one_by_one(
    ledger: Ledger, registration: Registration, tmp_path: Path
) -> None:
    sec, _ = setup(ledger, registration)
    path = tmp_path / "mixed.csv"
    lines = [
        HEADER,
        f"Kenya,KEN,Starting a business - Score,{START},91,92.5,93",
        "Kenya,KEN,Something else,XX.UNKNOWN.SERIES,1,2,3",
        f"World,WLD,Starting a business - Score,{START},50,51,52",
        f'Kenya,KEN,Trading across borders - Score,{TRADE},1,"1,5",..',
        f"Kenya,KEN,Starting a business - Score,{START},91,92.5,93",
        "Kenya,KEN,too short",
        ",,,,,,",
        "Data from database: Doing Business,,,,,,",
        "Last Updated: 08/18/2021,,,,,,",
    ]
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8")
    data = read_databank(path)
    assert data.database == "Doing Business" and data.years == (2017, 2018, 2019)
    report = run(ledger, sec, path)
    assert report.counts["submitted"] == 2 and report.counts["missing"] == 1
    assert report.skipped == {"2017 [YR2017]": 5}
    refused = {(r.line, r.reason, r.year) for r in report.refused}
    assert refused == {
        (3, "series", 2018),
        (3, "series", 2019),
        (4, "country", 2018),
        (4, "country", 2019),
        (5, "number", 2018),
        (6, "duplicate", 2018),
        (6, "duplicate", 2019),
        (7, "row", None),
    }
    assert report.exit_code == 0  # nothing the ledger refused
    ken: Assessment = ledger.aggregate("assessment/KEN/1")
    assert ken.values[ken.current[(START, 2018)]].value == {"amount": "92.5"}


def pmm(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    result = runner.invoke(app, [*args, "--home", str(settings.home)], env=env)
    return result.exit_code, result.output


@needs_data
def test_cli_import(settings: Settings, tmp_path: Path) -> None:
    assert pmm(settings, "init")[0] == 0
    key = tmp_path / "sec.key"
    assert runner.invoke(app, ["keygen", "wco-sec", "--out", str(key)]).exit_code == 0
    add = ("principal", "add", "wco-sec", "--role", "secretariat")
    approved = ("--as", "admin", "--approve", "admin-2")
    assert pmm(settings, *add, "--public-key", str(key), *approved)[0] == 0
    assert pmm(settings, "framework", "apply", str(FRAMEWORK), "--as", str(key))[0] == 0
    args = ("import", "databank", str(CSV_FILE), "--as", str(key), "--cycle", "DB2019")
    code, output = pmm(settings, *args, "--year", "2019", "--members", "KEN", "--json")
    assert code == 0, output
    result = json.loads(output)
    assert result["values"]["submitted"] == expected({"KEN"})[0]
    assert result["opened"] == ["assessment/KEN/DB2019"] and result["exit_code"] == 0
    code, output = pmm(settings, *args, "--year", "2019", "--members", "KEN")
    recordable, missing, _ = expected({"KEN"})
    summary = f"unchanged {recordable}, missing (..) {missing}, refused 0"
    assert code == 0 and summary in output, output
    code, output = pmm(settings, *args, "--year", "2025")
    assert code == 2 and "the file has neither" in " ".join(output.split())
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("Series,Country\n")
    code, output = pmm(settings, "import", "databank", str(wrong), "--as", str(key),
                       "--cycle", "1", "--year", "2019")  # fmt: skip
    assert code == 2 and "not a DataBank long-format export" in " ".join(output.split())
    assert str(wrong) in output.replace("\n", "")
