"""The overview page (``/ui/``) on SQLite and PostgreSQL: the last ``pmm verify``
verdict (written by the command into the home, 0600), the latest checkpoint's
witnesses with their last cosignature that verifies, entries per day as an SVG
chart, and the red-flags slot only when a view supplies flags."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app
from ledger.home import POLICY_FILE
from ledger.verify_status import STATUS_FILE, VerifyStatus, read_status, write_status
from verify.formats.cosignature import CosignatureSigner
from verify.formats.note import Note, Signature, parse_note
from verify.formats.statement import format_timestamp

if TYPE_CHECKING:
    from tests.conftest import World


def overview(client: TestClient) -> str:
    response = client.get("/ui/")
    assert response.status_code == 200, response.text
    return str(response.text)


def test_never_verified_until_pmm_verify_records_its_verdict(
    world: World, client: TestClient
) -> None:
    assert "Never verified." in overview(client)
    settings = world.ledger.settings
    env = {"PMM_DATABASE_URL": settings.database_url or ""}
    result = CliRunner().invoke(app, ["verify", "--home", str(settings.home)], env=env)
    assert result.exit_code == 0, result.output
    path = settings.home / STATUS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    recorded = json.loads(path.read_text())
    assert recorded["verified"] is True and recorded["size"] == world.ledger.log_size()
    text = overview(client)
    assert "Never verified." not in text and "<strong>Verified</strong>" in text
    assert f"{world.ledger.log_size()} entries" in text and recorded["root"] in text
    assert recorded["verified_at"] in text
    world.hours(world.ncp_ken, world.KEN, "12")  # the log grows past the verdict
    grown = overview(client)
    assert f"has grown to {world.ledger.log_size()} entries since" in grown


def test_a_failed_verification_names_its_first_failure(
    world: World, client: TestClient
) -> None:
    reason = "entry 7 (registry, principal.registered): signature: <b>bad</b>"
    failed = VerifyStatus(
        False, "2026-12-01T10:00:00.000000Z", 9, "cm9vdA==", (), "none", 9, reason
    )
    write_status(world.ledger.settings.home, failed)
    write_status(world.ledger.settings.home, failed)  # a later run replaces the file
    assert read_status(world.ledger.settings.home) == failed
    text = overview(client)
    assert "Verification FAILED" in text and "&lt;b&gt;bad&lt;/b&gt;" in text
    (world.ledger.settings.home / STATUS_FILE).write_text("{not json")
    assert "is unreadable" in overview(client)  # said, not a 500


def test_witnesses_show_their_last_cosignature_that_verifies(
    world: World, client: TestClient
) -> None:
    assert "no witness policy" in overview(client)
    first, second = (
        CosignatureSigner.generate("w1.example"),
        CosignatureSigner.generate("w2.example"),
    )
    forger = CosignatureSigner("w2.example", CosignatureSigner.generate("x").private_key)
    policy = (
        f"log {world.ledger.log_vkey()}\n"
        f"witness one {first.verifier().vkey()}\n"
        f"witness two {second.verifier().vkey()}\n"
        "quorum none\n"
    )
    (world.ledger.settings.home / POLICY_FILE).write_text(policy)
    store = world.ledger.sequencer.store
    older = store.checkpoint()
    assert older is not None
    size, note = older
    when = 1_764_000_000
    text = parse_note(note).text.encode()
    cosigned = Note(
        parse_note(note).text,
        (
            *parse_note(note).signatures,
            Signature(first.name, first.key_id, first.sign_at(text, when)),
            # w2's name and key id, someone else's key: it does not verify
            Signature(second.name, second.key_id, forger.sign_at(text, when)),
        ),
    ).format()
    store.replace_checkpoint(size, cosigned)
    world.hours(world.ncp_ken, world.KEN, "12")  # a newer checkpoint, not cosigned
    page = overview(client)
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(\w+)</th>(.*?)</tr>", page, re.S)
    found = {name: cells for name, cells in rows if name in ("one", "two")}
    stamp = format_timestamp(datetime.fromtimestamp(when, UTC))
    assert stamp in found["one"] and f"{size}" in found["one"]
    assert "behind the latest" in found["one"]
    assert "none among the latest checkpoints" in found["two"]


def test_entries_per_day_is_an_svg_bar_chart(world: World, client: TestClient) -> None:
    page = overview(client)
    [svg] = re.findall(r"<svg .*?</svg>", page, re.S)
    assert 'role="img"' in svg and '<title id="per-day-title">' in svg
    assert f"{world.ledger.log_size()} entries in all" in svg
    assert svg.count("<rect") == 1  # every entry was recorded today


def test_open_red_flags_only_for_officers_and_the_secretariat(
    world: World, client: TestClient
) -> None:
    # A restricted value: a flag naming it is a restricted read (docs/flags.md).
    first = world.hours(world.ncp_ken, world.KEN, "12", disclosure="restricted")
    world.record(world.sec2, world.KEN, "value.validated", {"entry": first.stream_version})
    body = world.value_body(
        world.KPI_HOURS, {"amount": "9"}, "hours", supersedes=first.stream_version,
        kind="correction", reason="<i>late</i> correction", disclosure="restricted",
    )  # fmt: skip
    world.record(world.ncp_ken, world.KEN, "value.corrected", body)
    for key in (world.ncp_ken, world.reviewer, world.admin, None):
        headers = world.bearer(key) if key is not None else {}
        page = client.get("/ui/", headers=headers).text
        assert "Open red flags" not in page and "changed_after_validation" not in page
    before = len(list(world.ledger.access_log.records()))
    for key in (world.officer, world.sec):
        page = client.get("/ui/", headers=world.bearer(key)).text
        assert "Open red flags (" in page and "changed_after_validation:" in page
        assert "<i>" not in page
    # Each listing of a restricted flag is a restricted read, logged.
    records = list(world.ledger.access_log.records())[before:]
    assert [r["principal"] for r in records] == ["integrity", "sec"]
    assert all(r["request"] == "GET /ui/" and r["member"] == "KEN" for r in records)
