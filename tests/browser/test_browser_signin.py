"""Sign-in and browser-signed statements in a real Chromium (decision 30):
the key file is picked with <input type=file>, imported and used by WebCrypto in
the page; the server sees only signatures. Every page visited is checked for
console errors and photographed (tests/browser/conftest.py)."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import httpx

from ledger.keys import KeyPair
from ledger.tokens import issue_token
from verify.formats.entry import parse_entry
from verify.formats.policy_text import parse_policy
from verify.formats.receipt import verify_receipt
from verify.merkle.tree import leaf_hash

if TYPE_CHECKING:
    from tests.browser.conftest import Browser, Site
    from tests.conftest import World


def access_records(site: Site, principal: str) -> list[dict[str, Any]]:
    """The access log as an integrity officer reads it over HTTP."""
    world = site.world
    token = issue_token(world.officer, world.ledger.origin)
    answer = httpx.get(
        f"{site.base}/access-log",
        params={"principal": principal},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()["records"]
    return records


def whoami(site: Site, cookie: str) -> Any:
    answer = httpx.get(f"{site.base}/whoami", cookies={"pmm_session": cookie})
    return answer.json()["principal"]


def signed_in_as(browser: Browser, principal: str) -> None:
    browser.wait_path("/ui/")
    browser.wait_for("header .session", f"Signed in as {principal}")
    browser.check_console()


def test_sign_in_read_restricted_values_and_sign_out(
    site: Site, browser: Browser, world: World
) -> None:
    world.one_of_each_disclosure()
    browser.open("/ui/")
    browser.shot("anonymous-home")
    browser.sent()
    key_file = site.key_file(world.ncp_ken)
    browser.sign_in(key_file)
    signed_in_as(browser, "ncp-ken")
    browser.shot("signed-in")
    # The key file was read in the page and never sent: no request carries its
    # seed (as stored, or base64url as the JWK holds it) or the file itself.
    seed = json.loads(key_file.read_text())["private_key"]
    sent = browser.sent()
    assert any("/auth/session" in r and '"signature"' in r for r in sent), sent
    for secret in (seed, seed.rstrip("=").replace("+", "-").replace("/", "_")):
        assert not any(secret in request for request in sent)
    cookie = browser.driver.get_cookie("pmm_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.script("return document.cookie;") == ""  # no script reads it

    # The Member's NCP reads its restricted ratio: shown, and logged as this session.
    year = world.REFERENCE_YEAR
    browser.open(f"/scores?member=KEN&year={year}")
    shown = json.loads(browser.find("body").text)
    assert shown["audience"] == "restricted" and shown["withheld"] == 0
    browser.shot("restricted-read")
    records = access_records(site, "ncp-ken")
    assert records and records[-1]["request"] == f"GET /scores?member=KEN&year={year}"
    session = records[-1]["token"]
    assert session.startswith("session:")
    # A page read as the session logs what it shows the same way.
    browser.open(f"/ui/scores?member=KEN&year={year}")
    browser.shot("restricted-page")
    page_reads = access_records(site, "ncp-ken")[len(records) :]
    assert [r["request"] for r in page_reads] == [f"GET /ui/scores?member=KEN&year={year}"]
    assert page_reads[0]["token"] == session

    # Sign out from the page's own button: the session ends on the server.
    browser.open("/ui/framework")
    browser.find("header .session button").click()
    browser.wait_path("/ui/sign-in")
    browser.wait_for("p.ok", "You are signed out")
    browser.shot("signed-out")
    assert browser.driver.get_cookie("pmm_session") is None
    assert whoami(site, cookie["value"]) is None


def test_an_integrity_officer_reads_another_member_and_the_read_is_logged(
    site: Site, browser: Browser, world: World
) -> None:
    world.one_of_each_disclosure()
    browser.sign_in(site.key_file(world.officer))
    signed_in_as(browser, "integrity")
    browser.open("/events?member=KEN")
    events = json.loads(browser.find("body").text)
    assert events["events"] and not any(e.get("withheld") for e in events["events"])
    browser.shot("officer-events")
    records = access_records(site, "integrity")
    assert [r["request"] for r in records] == ["GET /events?member=KEN"]
    assert records[0]["member"] == "KEN" and records[0]["token"].startswith("session:")
    # The officer sees that very read on the access-log page.
    browser.open("/ui/access-log?principal=integrity")
    browser.wait_for("table", "GET /events?member=KEN")
    browser.shot("officer-access-log")


def test_a_correction_signed_in_the_browser_is_recorded_with_a_verifiable_receipt(
    site: Site, browser: Browser, world: World
) -> None:
    old = world.hours(world.ncp_ken, world.KEN, "12")
    browser.sign_in(site.key_file(world.ncp_ken))
    signed_in_as(browser, "ncp-ken")
    browser.open("/ui/act")
    form: dict[str, str] = {
        "kpi": world.KPI_HOURS,
        "reference_year": str(world.REFERENCE_YEAR),
        "value": '{"amount": "14"}',
        "unit": "hours",
        "supersedes": str(old.stream_version),
        "reason": "the border post's log was counted twice",
    }
    browser.find("#type option[value='value.corrected']").click()
    for name, value in form.items():
        browser.find(f"#{name}").send_keys(value)
    browser.find("#key-file").send_keys(str(site.key_file(world.ncp_ken)))
    browser.shot("correction-form")
    before = world.ledger.log_size()
    browser.find("#sign-button").click()
    browser.wait_for("#receipt", "value.corrected recorded at log index")
    browser.shot("correction-receipt", at="#receipt")
    browser.check_console()

    receipt = browser.find("#receipt-text").text + "\n"
    entry = base64.b64decode(browser.find("#entry-bytes").text)
    trust = parse_policy(f"log {world.ledger.log_vkey()}\nquorum none\n")
    verified = verify_receipt(receipt, leaf_hash(entry), trust, origin=world.ledger.origin)
    assert verified.receipt.index == before
    recorded = parse_entry(world.ledger.sequencer.store.entry(before))
    assert recorded.entry_type == "value.corrected"
    assert recorded.signed.principal == "ncp-ken"
    assert recorded.signed.body["value"] == {"amount": "14"}
    assert recorded.signed.body["supersedes"] == old.stream_version
    link = browser.find("#receipt-link").get_attribute("href")
    assert link == f"{site.base}/receipts/{before}?size={before + 1}"


def test_a_refused_statement_shows_the_ledgers_message(
    site: Site, browser: Browser, world: World
) -> None:
    browser.sign_in(site.key_file(world.ncp_ken))
    signed_in_as(browser, "ncp-ken")
    browser.open("/ui/act")
    browser.allow(r"/ui/act/submit - Failed to load resource.*status of 404")
    for name, value in {
        "kpi": "NO.SUCH.KPI",
        "reference_year": str(world.REFERENCE_YEAR),
        "value": '{"amount": "1"}',
        "unit": "hours",
    }.items():
        browser.find(f"#{name}").send_keys(value)
    browser.find("#key-file").send_keys(str(site.key_file(world.ncp_ken)))
    before = world.ledger.log_size()
    browser.find("#sign-button").click()
    shown = browser.wait_for("#problem", "Refused: 404")
    assert "NO.SUCH.KPI" in shown.text
    browser.shot("refused-statement", at="#problem")
    assert world.ledger.log_size() == before


def test_a_wrong_key_is_refused(site: Site, browser: Browser, world: World) -> None:
    browser.allow(r"/auth/session - Failed to load resource.*status of 401")
    impostor = KeyPair.generate("ncp-ken")  # the right name, not the registered key
    browser.sign_in(site.key_file(impostor, "impostor"))
    shown = browser.wait_for("#problem", "Sign-in refused: 401")
    assert "is not 'ncp-ken''s current key" in shown.text
    browser.shot("wrong-key")
    assert browser.driver.get_cookie("pmm_session") is None


def test_a_revoked_principal_is_refused_and_its_session_ends(
    site: Site, browser: Browser, world: World
) -> None:
    browser.sign_in(site.key_file(world.reviewer))
    signed_in_as(browser, "reviewer")
    world.record(
        world.admin,
        "registry",
        "principal.revoked",
        {"principal": "reviewer", "reason": "left the review team"},
    )
    browser.open("/ui/framework")
    browser.wait_for("main .notice", "principal 'reviewer' is revoked")
    browser.wait_for("header .session", "Sign in")
    browser.shot("session-ended-by-revocation")
    assert browser.driver.get_cookie("pmm_session") is None
    browser.allow(r"/auth/session - Failed to load resource.*status of 401")
    browser.sign_in(site.key_file(world.reviewer))
    shown = browser.wait_for("#problem", "Sign-in refused: 401")
    assert "principal 'reviewer' is revoked" in shown.text
    browser.shot("revoked-sign-in")


# The sign-in flow of signin.js, run in the page with the key file's text, and
# then the same signed challenge posted a second time.
REPLAY = """
const [text] = args;
const kit = await import("/ui/static/pmmkey.js");
const key = await kit.readKeyFile(new File([text], "key.json"));
const found = await kit.postJson("/auth/challenge", {});
const signature = await kit.sign(key.key, kit.fromBase64(found.message));
const body = {principal: key.principal, key_id: key.keyId, challenge: found.challenge,
              signature};
const first = await fetch("/auth/session", {method: "POST", body: JSON.stringify(body),
                          headers: {"Content-Type": "application/json"}});
const again = await fetch("/auth/session", {method: "POST", body: JSON.stringify(body),
                          headers: {"Content-Type": "application/json"}});
return {first: first.status, again: again.status, detail: (await again.json()).detail};
"""


def test_a_replayed_challenge_is_refused(
    site: Site, browser: Browser, world: World
) -> None:
    browser.allow(r"/auth/session - Failed to load resource.*status of 401")
    browser.open("/ui/sign-in")
    text = site.key_file(world.sec).read_text()
    outcome = browser.script(REPLAY, text)
    assert outcome["first"] == 200 and outcome["again"] == 401, outcome
    assert "unknown or already used" in outcome["detail"]


CSRF_LESS = """
const out = await fetch("/auth/sign-out", {method: "POST"});
const prepare = await fetch("/ui/act/prepare", {method: "POST",
  headers: {"Content-Type": "application/json"},
  body: JSON.stringify({type: "value.validated", stream: "assessment/KEN/1",
                        body: {entry: 1}})});
return {out: out.status, detail: (await out.json()).detail, prepare: prepare.status};
"""


def test_writes_without_the_csrf_token_are_refused(
    site: Site, browser: Browser, world: World
) -> None:
    browser.sign_in(site.key_file(world.sec))
    signed_in_as(browser, "sec")
    browser.allow(r"Failed to load resource.*status of 403")
    browser.open("/ui/act")  # a page whose policy lets script connect back
    outcome = browser.script(CSRF_LESS)
    assert outcome["out"] == 403 and outcome["prepare"] == 403, outcome
    assert "CSRF token" in outcome["detail"]
    browser.open("/ui/")
    browser.wait_for("header .session", "Signed in as sec")  # still signed in
    browser.shot("csrf-refused-still-signed-in")


def test_the_secretariat_queries_a_value_signed_in_the_browser(
    site: Site, browser: Browser, world: World
) -> None:
    value = world.hours(world.ncp_ken, world.KEN, "12")
    browser.sign_in(site.key_file(world.sec))
    signed_in_as(browser, "sec")
    browser.open("/ui/act")
    browser.find("#type option[value='value.queried']").click()
    browser.find("#member").clear()
    browser.find("#member").send_keys("KEN")
    browser.find("#entry").send_keys(str(value.stream_version))
    browser.find("#message").send_keys("Which border posts does this cover?")
    browser.find("#key-file").send_keys(str(site.key_file(world.sec)))
    browser.find("#sign-button").click()
    browser.wait_for("#receipt", "value.queried recorded at log index")
    browser.shot("query-receipt", at="#receipt")
    last = parse_entry(world.ledger.sequencer.store.entry(world.ledger.log_size() - 1))
    assert last.entry_type == "value.queried" and last.signed.principal == "sec"
    assert last.signed.body == {
        "entry": value.stream_version,
        "message": "Which border posts does this cover?",
    }


def test_an_officer_escalates_a_flag_signed_in_the_browser(
    site: Site, browser: Browser, world: World
) -> None:
    """A value changed after validation is a red flag on /ui/flags; the officer
    follows its link, signs the escalation in the browser, and the flag's
    handling is the signed entry (docs/flags.md)."""
    first = world.hours(world.ncp_ken, world.KEN, "12")
    world.record(world.sec2, world.KEN, "value.validated", {"entry": first.stream_version})
    body = world.value_body(
        world.KPI_HOURS, {"amount": "9"}, "hours", supersedes=first.stream_version,
        kind="correction", reason="late figures",
    )  # fmt: skip
    world.record(world.ncp_ken, world.KEN, "value.corrected", body)
    browser.sign_in(site.key_file(world.officer))
    signed_in_as(browser, "integrity")
    browser.open("/ui/flags?rule=changed_after_validation")
    browser.shot("flags-open")
    browser.find("a.act").click()
    browser.wait_path("/ui/act")
    flag = browser.find("#flag").get_attribute("value")
    assert flag.startswith("changed_after_validation:")
    browser.find("#action option[value='escalated']").click()
    browser.find("#flag_reason").send_keys("a validated value changed: to the committee")
    browser.find("#key-file").send_keys(str(site.key_file(world.officer)))
    before = world.ledger.log_size()
    browser.find("#sign-button").click()
    browser.wait_for("#receipt", "integrity.flag_handled recorded at log index")
    browser.shot("flag-escalated", at="#receipt")
    browser.check_console()
    recorded = parse_entry(world.ledger.sequencer.store.entry(before))
    assert (recorded.stream, recorded.signed.principal) == ("integrity", "integrity")
    assert recorded.signed.body == {
        "flag": flag,
        "action": "escalated",
        "reason": "a validated value changed: to the committee",
        "member": "KEN",
    }
    browser.open("/ui/flags?rule=changed_after_validation")
    browser.wait_for("table", "escalated")
    browser.shot("flags-escalated")
