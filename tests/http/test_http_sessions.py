"""Browser sign-in over HTTP (decision 30): the challenge, the session cookie in
``get_reader``, CSRF, sign-out, ends by rotation and revocation, and statements
signed through ``/ui/act`` — on both backends (the ``world`` fixture)."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from ledger.keys import KeyPair
from verify.formats.policy_text import parse_policy
from verify.formats.receipt import verify_receipt
from verify.merkle.tree import leaf_hash

if TYPE_CHECKING:
    from tests.conftest import World

WEB = "http://testserver"


def challenge(client: TestClient) -> dict[str, Any]:
    answer = client.post("/auth/challenge")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def signed_in(
    client: TestClient, key: KeyPair, *, as_principal: str | None = None
) -> httpx.Response:
    """Sign in the way signin.js does: sign the challenge's message with ``key``."""
    found = challenge(client)
    message = base64.b64decode(found["message"])
    return client.post(
        "/auth/session",
        json={
            "principal": as_principal or key.principal,
            "key_id": key.key_id,
            "challenge": found["challenge"],
            "signature": base64.b64encode(key.private_key.sign(message)).decode(),
        },
    )


def test_the_message_is_the_documented_bytes(client: TestClient, world: World) -> None:
    found = challenge(client)
    expected = f"pmm-sign-in/v1\n{world.ledger.origin}\n{WEB}\n{found['challenge']}"
    assert base64.b64decode(found["message"]) == expected.encode()
    assert found["web_origin"] == WEB and found["origin"] == world.ledger.origin
    assert len(found["challenge"]) >= 43  # 32 random bytes, base64url


def test_sign_in_sets_a_strict_httponly_cookie_and_reads_as_the_principal(
    client: TestClient, world: World
) -> None:
    answer = signed_in(client, world.ncp_ken)
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("pmm_session=")
    for attribute in ("HttpOnly", "Path=/", "SameSite=strict", "Max-Age=28800"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain HTTP here; Secure over HTTPS (below)
    body = answer.json()
    assert (body["principal"], body["role"], body["member"]) == ("ncp-ken", "ncp", "KEN")
    assert body["session"].startswith("session:") and body["csrf"]
    assert client.get("/whoami").json()["principal"] == "ncp-ken"


def test_secure_over_https(world: World) -> None:
    from api.http import create_app

    app = create_app(world.ledger.settings, ledger=world.ledger)
    with TestClient(app, base_url="https://testserver") as client:
        answer = signed_in(client, world.ncp_ken)
        assert answer.status_code == 200, answer.text
        assert "Secure" in answer.headers["set-cookie"]


def test_a_restricted_read_through_a_session_is_logged_with_the_session_id(
    client: TestClient, world: World
) -> None:
    world.one_of_each_disclosure()
    session = signed_in(client, world.ncp_ken).json()["session"]
    rows = client.get("/scores", params={"member": "KEN", "year": world.REFERENCE_YEAR})
    assert rows.status_code == 200 and rows.json()["audience"] == "restricted"
    records = world.ledger.access_log.query(principal="ncp-ken").records
    assert records and {r["token"] for r in records} == {session}
    assert records[-1]["request"].startswith("GET /scores")
    # Another Member's NCP signed in sees no restricted value there: nothing logged.
    client.cookies.clear()
    signed_in(client, world.ncp_bra)
    other = client.get("/scores", params={"member": "KEN", "year": world.REFERENCE_YEAR})
    assert other.json()["audience"] == "wco"
    assert world.ledger.access_log.query(principal="ncp-bra").records == []


def test_a_challenge_signs_in_once(client: TestClient, world: World) -> None:
    found = challenge(client)
    message = base64.b64decode(found["message"])
    body = {
        "principal": "ncp-ken",
        "key_id": world.ncp_ken.key_id,
        "challenge": found["challenge"],
        "signature": base64.b64encode(world.ncp_ken.private_key.sign(message)).decode(),
    }
    assert client.post("/auth/session", json=body).status_code == 200
    again = client.post("/auth/session", json=body)
    assert again.status_code == 401
    assert "unknown or already used" in again.json()["detail"]


@pytest.mark.parametrize("case", ["other_key", "other_principal_file", "unknown"])
def test_a_wrong_key_is_refused(client: TestClient, world: World, case: str) -> None:
    if case == "other_key":  # a key of the right name the registry does not hold
        answer = signed_in(client, KeyPair.generate("ncp-ken"))
        phrase = "is not 'ncp-ken''s current key"
    elif case == "other_principal_file":  # Brazil's key, claiming to be Kenya's NCP
        found = challenge(client)
        message = base64.b64decode(found["message"])
        signature = world.ncp_bra.private_key.sign(message)
        answer = client.post(
            "/auth/session",
            json={
                "principal": "ncp-ken",
                "key_id": world.ncp_ken.key_id,
                "challenge": found["challenge"],
                "signature": base64.b64encode(signature).decode(),
            },
        )
        phrase = "does not verify under 'ncp-ken''s current key"
    else:
        answer = signed_in(client, KeyPair.generate("nobody"))
        phrase = "'nobody' is not a registered principal"
    assert answer.status_code == 401, answer.text
    assert phrase in answer.json()["detail"]
    assert "set-cookie" not in answer.headers
    assert client.get("/whoami").json()["principal"] is None


def test_a_sign_in_from_another_origin_is_refused(client: TestClient, world: World) -> None:
    found = challenge(client)
    message = base64.b64decode(found["message"])
    answer = client.post(
        "/auth/session",
        headers={"Origin": "https://phish.example"},
        json={
            "principal": "ncp-ken",
            "key_id": world.ncp_ken.key_id,
            "challenge": found["challenge"],
            "signature": base64.b64encode(world.ncp_ken.private_key.sign(message)).decode(),
        },
    )
    assert answer.status_code == 401
    assert "cannot come from a page of 'https://phish.example'" in answer.json()["detail"]


def test_revocation_ends_the_session_at_the_next_request(
    client: TestClient, world: World
) -> None:
    assert signed_in(client, world.reviewer).status_code == 200
    assert client.get("/whoami").json()["principal"] == "reviewer"
    world.record(
        world.admin,
        "registry",
        "principal.revoked",
        {"principal": "reviewer", "reason": "left the review team"},
    )
    token = client.cookies["pmm_session"]
    answer = client.get("/whoami")
    assert answer.status_code == 200 and answer.json()["principal"] is None
    assert 'pmm_session=""; Max-Age=0' in answer.headers["set-cookie"]
    assert "pmm_session" not in client.cookies  # the client dropped it
    client.cookies.set("pmm_session", token)  # a page with it still says why
    page = client.get("/ui/")
    assert "Your session ended: principal &#39;reviewer&#39; is revoked" in page.text
    refused = signed_in(client, world.reviewer)
    assert refused.status_code == 401
    assert "principal 'reviewer' is revoked" in refused.json()["detail"]


def test_rotation_ends_the_session(client: TestClient, world: World) -> None:
    assert signed_in(client, world.ncp_ken).status_code == 200
    new = KeyPair.generate("ncp-ken")
    world.record(
        world.ncp_ken,
        "registry",
        "principal.key_rotated",
        {"principal": "ncp-ken", "public_key": new.public_key, "reason": "laptop lost"},
    )
    page = client.get("/ui/")
    assert "key was rotated since you signed in" in page.text
    assert "Sign in</a>" in page.text
    assert 'pmm_session=""' in page.headers["set-cookie"]
    assert signed_in(client, new).status_code == 200  # the new key signs in


def test_a_bearer_token_wins_over_a_cookie(client: TestClient, world: World) -> None:
    signed_in(client, world.ncp_ken)
    answer = client.get("/whoami", headers=world.bearer(world.officer))
    assert answer.json()["principal"] == "integrity"


def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    client: TestClient, world: World
) -> None:
    csrf = signed_in(client, world.ncp_ken).json()["csrf"]
    missing = client.post("/auth/sign-out")
    assert missing.status_code == 403 and "CSRF token" in missing.json()["detail"]
    wrong = client.post("/auth/sign-out", headers={"X-CSRF-Token": csrf[:-1] + "x"})
    assert wrong.status_code == 403
    # A form post without its hidden field is refused as well.
    form = client.post("/auth/sign-out", data={"other": "1"})
    assert form.status_code == 403
    assert client.get("/whoami").json()["principal"] == "ncp-ken"
    token = client.cookies["pmm_session"]
    done = client.post("/auth/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/ui/sign-in")
    assert 'pmm_session=""; Max-Age=0' in done.headers["set-cookie"]
    # The session is gone server-side: the old cookie opens nothing.
    client.cookies.clear()
    client.cookies.set("pmm_session", token)
    assert client.get("/whoami").json()["principal"] is None
    assert client.post("/auth/sign-out", headers={"X-CSRF-Token": csrf}).status_code == 401


def test_pages_show_who_is_signed_in_with_a_sign_out_form(
    client: TestClient, world: World
) -> None:
    assert "Sign in</a>" in client.get("/ui/").text
    csrf = signed_in(client, world.sec).json()["csrf"]
    page = client.get("/ui/framework").text
    assert "Signed in as <strong>sec</strong> (secretariat)" in page
    assert f'name="csrf" value="{csrf}"' in page
    sign_in = client.get("/ui/sign-in")
    policy = sign_in.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "script-src" not in client.get("/ui/").headers["content-security-policy"]
    script = client.get("/ui/static/signin.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert client.get("/ui/static/nothing.js").status_code == 404


def _act(client: TestClient, csrf: str | None, intent: dict[str, Any]) -> httpx.Response:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.post("/ui/act/prepare", json=intent, headers=headers)


def test_a_value_signed_through_the_act_pages_is_recorded_with_a_receipt(
    client: TestClient, world: World
) -> None:
    csrf = signed_in(client, world.ncp_ken).json()["csrf"]
    body = world.value_body(world.KPI_HOURS, {"amount": "31"}, "hours")
    intent = {"type": "value.submitted", "stream": world.KEN, "body": body}
    assert _act(client, None, intent).status_code == 403
    prepared = _act(client, csrf, intent)
    assert prepared.status_code == 200, prepared.text
    raw = base64.b64decode(prepared.json()["signing_input"])
    assert raw.startswith(b"pmm-statement/v1\n")
    statement = json.loads(raw[len(b"pmm-statement/v1\n") :])
    assert statement["body"] == body and statement["principal"] == "ncp-ken"
    assert statement["key_id"] == world.ncp_ken.key_id
    signed = {
        "statement": base64.b64encode(raw[len(b"pmm-statement/v1\n") :]).decode(),
        "signature": base64.b64encode(world.ncp_ken.private_key.sign(raw)).decode(),
    }
    assert client.post("/ui/act/submit", json=signed).status_code == 403  # no CSRF
    before = world.ledger.log_size()
    answer = client.post("/ui/act/submit", json=signed, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 201, answer.text
    recorded = answer.json()
    assert recorded["log_index"] == before and recorded["entry_type"] == "value.submitted"
    trust = parse_policy(f"log {world.ledger.log_vkey()}\nquorum none\n")
    entry = base64.b64decode(recorded["entry"])
    verified = verify_receipt(recorded["receipt"], leaf_hash(entry), trust)
    assert verified.receipt.index == before
    assert client.get(recorded["receipt_url"]).status_code == 200
    # The same signed statement again is the ledger's refusal, with its message.
    again = client.post("/ui/act/submit", json=signed, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409, again.text


def test_the_act_pages_refuse_what_the_session_may_not_sign(
    client: TestClient, world: World
) -> None:
    csrf = signed_in(client, world.ncp_ken).json()["csrf"]
    validate = {"type": "value.validated", "stream": world.KEN, "body": {"entry": 1}}
    refused = _act(client, csrf, validate)
    assert refused.status_code == 403 and "secretariat" in refused.json()["detail"]
    other = {"type": "principal.registered", "stream": "registry", "body": {}}
    assert _act(client, csrf, other).status_code == 400
    # A statement signed by someone else is not this session's to submit.
    foreign = world.ncp_bra.statement(
        world.ledger.origin, world.BRA, "value.submitted", {}, 1
    )
    forged = {
        "statement": base64.b64encode(json.dumps(foreign).encode()).decode(),
        "signature": base64.b64encode(b"\0" * 64).decode(),
    }
    answer = client.post("/ui/act/submit", json=forged, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 401
    assert "signs only as 'ncp-ken'" in answer.json()["detail"]
    assert "Sign in first" in TestClient(client.app).get("/ui/act").text


def test_an_unknown_cookie_reads_as_anonymous_and_is_cleared(
    client: TestClient, world: World
) -> None:
    client.cookies.set("pmm_session", "not-a-session")
    answer = client.get("/ui/framework")
    assert answer.status_code == 200
    assert "You were signed out: the session is unknown or ended" in answer.text
    assert 'pmm_session=""; Max-Age=0' in answer.headers["set-cookie"]
    assert client.get("/whoami").json()["principal"] is None
    client.cookies.clear()
    assert "set-cookie" not in client.get("/whoami").headers  # no cookie, nothing to clear


def test_the_act_page_offers_what_the_role_may_sign(
    client: TestClient, world: World
) -> None:
    signed_in(client, world.sec)
    page = client.get("/ui/act").text
    for name in ("value.submitted", "value.corrected", "value.validated", "value.queried"):
        assert f'<option value="{name}">' in page
    assert 'src="/ui/static/act.js"' in page
    client.cookies.clear()
    signed_in(client, world.ncp_ken)
    page = client.get("/ui/act").text
    assert '<option value="value.corrected">' in page
    assert '<option value="value.validated">' not in page
    client.cookies.clear()
    signed_in(client, world.officer)
    page = client.get("/ui/act?type=integrity.flag_handled&flag=burst:1,2&member=KEN").text
    assert '<option value="integrity.flag_handled" selected>' in page
    assert '<option value="value.corrected">' not in page
    assert 'value="burst:1,2"' in page and 'value="KEN"' in page
    assert 'src="/ui/static/act.js"' in page
    hostile = client.get('/ui/act?flag="><script>x</script>').text
    assert "<script>x" not in hostile and "&#34;&gt;&lt;script&gt;" in hostile
    client.cookies.clear()
    signed_in(client, world.reviewer)
    page = client.get("/ui/act").text
    assert "flag handling for integrity officers" in " ".join(page.split())
    assert "act.js" not in page


class Markup(HTMLParser):
    """Headings, fields (and whether each is labelled), and scripts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.headings: list[int] = []
        self.unlabelled: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.headings.append(int(tag[1]))
        field = tag in ("input", "select", "textarea") and found.get("type") != "hidden"
        if field and "label" not in self.open:
            self.unlabelled.append(found)
        if tag == "script":
            self.scripts.append(found)
        if tag not in ("input", "meta", "link", "br"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag)]

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "script" and data.strip():
            self.inline_script = True


@pytest.mark.parametrize("path", ["/ui/sign-in", "/ui/act"])
def test_the_signing_pages_markup(client: TestClient, world: World, path: str) -> None:
    """The checks every page passes (tests/http/test_web_markup.py), except that
    these two run one first-party module script each, never inline."""
    signed_in(client, world.sec)
    text = client.get(path).text
    page = Markup()
    page.feed(text)
    assert '<a class="skip" href="#main">' in text and 'id="main"' in text
    assert page.headings.count(1) == 1
    steps = zip(page.headings, page.headings[1:], strict=False)
    assert all(b <= a + 1 for a, b in steps), page.headings
    assert page.unlabelled == []
    assert [s.get("src") for s in page.scripts] == [
        "/ui/static/signin.js" if path == "/ui/sign-in" else "/ui/static/act.js"
    ]
    assert all(s.get("type") == "module" for s in page.scripts)
    assert not page.inline_script


def test_a_page_read_through_a_session_logs_its_restricted_values(
    client: TestClient, world: World
) -> None:
    world.one_of_each_disclosure()
    session = signed_in(client, world.ncp_ken).json()["session"]
    page = client.get("/ui/scores", params={"member": "KEN", "year": world.REFERENCE_YEAR})
    assert page.status_code == 200
    records = world.ledger.access_log.query(principal="ncp-ken").records
    assert [r["request"].split("?")[0] for r in records] == ["GET /ui/scores"]
    assert records[0]["token"] == session and records[0]["member"] == "KEN"
