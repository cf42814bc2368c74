"""Real-browser fixtures: Debian's headless Chromium, driven by Selenium through
Debian's matching chromedriver, against the app under uvicorn on a free
localhost port over the ``world`` ledger (SQLite and PostgreSQL).

Where Chromium or chromedriver is missing the tests skip with the reason,
except under CI (``CI`` set), where they fail: ``.ci/run`` installs both.
Screenshots go to ``$PMM_TEST_ARTIFACTS`` or ``tests/browser/artifacts/``
(gitignored), one per step, named by test and step.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from api.http import create_app
from ledger.keys import KeyPair

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

    from tests.conftest import World

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
ARTIFACTS = Path(
    os.environ.get("PMM_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts"
)


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[dev]')")
    if missing:
        message = f"real-browser tests need {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set: .ci/run installs chromium)")
        pytest.skip(f"{message}: apt-get install -y chromium chromium-driver")


@dataclass
class Site:
    """The app served on ``base``, and key files of the world's principals."""

    world: World
    base: str
    keys: Path

    def key_file(self, key: KeyPair, name: str | None = None) -> Path:
        path = self.keys / f"{name or key.principal}.json"
        if not path.exists():
            key.save(path)
        return path


@pytest.fixture
def site(world: World, tmp_path: Path) -> Iterator[Site]:
    _require_browser()
    app = create_app(world.ledger.settings, ledger=world.ledger)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield Site(world, f"http://127.0.0.1:{port}", tmp_path / "keys")
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


@dataclass
class Browser:
    """One Chromium with a fresh profile; every page visited is checked for
    console errors, and each step leaves a screenshot."""

    driver: WebDriver
    base: str
    name: str
    steps: int = 0
    allowed: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)
        self.check_console()

    def shot(self, step: str, at: str | None = None) -> Path:
        """A screenshot of the window, scrolled to the element ``at`` if given."""
        if at is not None:
            self.driver.execute_script("arguments[0].scrollIntoView()", self.find(at))
        self.steps += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{self.steps:02d}-{step}.png"
        self.driver.save_screenshot(str(path))
        return path

    def allow(self, pattern: str) -> None:
        """A console error this test expects (a refused request's status line)."""
        self.allowed.append(pattern)

    def check_console(self) -> None:
        # Selenium leaves get_log unannotated; chromedriver answers a list of dicts.
        logged: list[dict[str, Any]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        errors = [
            entry["message"]
            for entry in logged
            if entry["level"] == "SEVERE"
            and not any(re.search(p, entry["message"]) for p in self.allowed)
        ]
        assert errors == [], f"console errors: {errors}"

    def sent(self) -> list[str]:
        """The URL and body of every request the page sent since the last call."""
        logged: list[dict[str, Any]] = self.driver.get_log("performance")  # type: ignore[no-untyped-call]
        found = []
        for entry in logged:
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                request = message["params"]["request"]
                found.append(f"{request['url']} {request.get('postData', '')}")
        return found

    def find(self, css: str) -> Any:
        return self.driver.find_element("css selector", css)

    def wait_for(self, css: str, text: str | None = None, timeout: float = 15) -> Any:
        """The element at ``css`` once it is shown (and holds ``text``, spaces and
        line breaks alike)."""
        from selenium.common.exceptions import StaleElementReferenceException

        deadline = time.monotonic() + timeout
        while True:
            found = self.driver.find_elements("css selector", css)
            try:  # the page may be replaced between finding and reading
                words = " ".join(found[0].text.split()) if found else ""
                if found and found[0].is_displayed() and (text is None or text in words):
                    return found[0]
            except StaleElementReferenceException:
                found = []
            if time.monotonic() > deadline:
                shown = found[0].text if found else "nothing"
                raise AssertionError(f"{css} never showed {text!r}; it shows {shown!r}")
            time.sleep(0.1)

    def wait_path(self, path: str, timeout: float = 15) -> None:
        """Wait until the page's path (without its query) is ``path``."""
        deadline = time.monotonic() + timeout
        while self.driver.current_url.split("?")[0] != self.base + path:
            if time.monotonic() > deadline:
                raise AssertionError(f"still at {self.driver.current_url}, not {path}")
            time.sleep(0.1)

    def sign_in(self, key_file: Path) -> None:
        self.open("/ui/sign-in")
        self.find("#key-file").send_keys(str(key_file))
        self.find("#sign-in-button").click()

    def script(self, source: str, *args: Any) -> Any:
        """Run ``source`` as an async function body in the page; its value."""
        wrapped = (
            "const done = arguments[arguments.length - 1];"
            f"(async (...args) => {{ {source} }})(...Array.from(arguments).slice(0, -1))"
            ".then(done, (e) => done({error: String(e)}));"
        )
        return self.driver.execute_async_script(wrapped, *args)


@pytest.fixture
def browser(
    site: Site, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Browser]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_argument("--window-size=1280,1600")
    # "performance" carries the DevTools network events: what the page sent.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(30)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    found = Browser(driver, site.base, name)
    try:
        yield found
        found.check_console()
    finally:
        driver.quit()
