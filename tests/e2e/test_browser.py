"""`kec-tui serve-web` in a real browser: headless Chromium driven by Selenium.

Sign in, open a batch from the batch list with its control count and total, key 20 stubs as one
burst, post, and check the database; screenshots at 1280x800 and at a phone's 390x844 (where the
app says it needs 80 columns, and works once the phone is turned sideways). Every request the page
makes must go to the loopback server: no font or script from outside the co-op's network.

Needs Debian's chromium and chromium-driver (scripts/test.sh installs them as root); elsewhere
the tests skip with the reason, and with CI=true they are required.
"""
from __future__ import annotations

import json
import os
import struct
import time
from decimal import Decimal
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.services import batches, operators, passwords
from tests import factories
from tests.e2e.web_server import serve_web

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "keyer-pass-1"
IN_CI = os.environ.get("CI", "").lower() == "true"

# Test-only: catch the page's xterm Terminal as textual.js stores it (`this.terminal = new Terminal()`),
# so the test reads the rows xterm draws; the terminal paints on a canvas, with no text in the DOM.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {configurable: true, set(value) {
  if (value && value.buffer && !window.kecTerminal) window.kecTerminal = value;
  Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
}});
"""
ROWS = """
const t = window.kecTerminal;
if (!t) return null;
const rows = [];
for (let i = 0; i < t.rows; i++) rows.push(t.buffer.active.getLine(i).translateToString(true));
return {cols: t.cols, rows};
"""


def missing_browser() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            return f"{path} is missing (apt-get install {package}; scripts/test.sh does it as root)"
    return None


@pytest.fixture
def browser():
    reason = missing_browser()
    if reason:
        if IN_CI:
            pytest.fail(f"the browser tests are required in CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800",
                "--no-first-run", "--disable-background-networking", "--disable-component-update"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # The driver is named, so Selenium Manager never tries to download one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_TERMINAL})
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """The served page in the browser: keys go to xterm's input, text comes from xterm's rows."""

    def __init__(self, driver, port: int):
        self.driver = driver
        self.port = port
        self.requests: list[str] = []

    def size(self, width: int, height: int) -> None:
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})

    def open(self) -> None:
        self.driver.get(f"http://127.0.0.1:{self.port}/")

    def leave(self) -> None:
        """Close the tab's session, as an operator closing the tab does."""
        self.driver.get("about:blank")

    def screen(self) -> tuple[int, list[str]]:
        shown = self.driver.execute_script(ROWS)
        return (shown["cols"], shown["rows"]) if shown else (0, [])

    def text(self) -> str:
        return "\n".join(self.screen()[1])

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        return self.wait_until(lambda cols, shown: text in shown, f"{text!r}", timeout)

    def wait_until(self, ready, what: str, timeout: float = 20.0) -> str:
        """The page's text once ready(columns, text) holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cols, rows = self.screen()
            if ready(cols, "\n".join(rows)):
                return "\n".join(rows)
            time.sleep(0.05)
        raise AssertionError(f"{what} did not appear within {timeout}s; the page shows:\n{self.text()}")

    def type(self, *keys: str) -> None:
        """One burst: chromedriver sends every key to xterm's input without waiting for the app."""
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(*keys)

    def request_hosts(self) -> list[tuple[str, str]]:
        """(url, host) of every request and websocket the page opened so far (Chrome's performance log)."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])
            elif message["method"] == "Network.webSocketCreated":
                self.requests.append(message["params"]["url"])
        return [(url, url.split("/")[2] if "://" in url else "") for url in self.requests]

    def assert_only_local_requests(self) -> None:
        seen = self.request_hosts()
        assert any(url.endswith("/static/js/textual.js") for url, _ in seen), seen
        assert any(url.endswith(".ttf") for url, _ in seen), seen   # the font came, from here
        outside = [url for url, host in seen if host != f"127.0.0.1:{self.port}"]
        assert outside == [], f"the page made requests outside the co-op's network: {outside}"

    def screenshot(self, path: Path, width: int, height: int) -> None:
        """A PNG of the page, checked to be the viewport's size, with the terminal filling the page."""
        self.driver.save_screenshot(str(path))
        png = path.read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (width, height)
        box = self.driver.execute_script(
            "const r = document.querySelector('.xterm-screen').getBoundingClientRect();"
            "return [r.left, r.top, r.width, r.height, window.innerWidth, window.innerHeight];")
        left, top, w, h, inner_w, inner_h = box
        assert (inner_w, inner_h) == (width, height)
        # fit() leaves less than one cell over (about 10x20 px at the 16 px font) on the right and below
        assert left <= 1 and top <= 1 and w >= width - 12 and h >= height - 24, box


def stub_amount(i: int) -> int:
    return 1_000 + 137 * i  # cents: $10.00, $11.37, ... all below the amount due


@pytest.fixture
def coop(tmp_path) -> tuple[Path, list[int]]:
    """A small demo database: 20 accounts with a bill each and the operator msr1, who has a password."""
    path = tmp_path / "coop.db"
    db.connect(str(path))
    operators.create("msr1", "Pat Keyer", "msr")
    numbers = [factories.account(first=f"Web{i}", last=f"Member{i}", bills=(20_000,)).number for i in range(20)]
    passwords.set_password("msr1", PASSWORD)
    db.database.close()
    return path, numbers


def sign_in(page: Page) -> None:
    from selenium.webdriver.common.keys import Keys

    page.wait_for("Sign in to kec-tui", timeout=30)
    page.type("msr1", Keys.ENTER, PASSWORD, Keys.ENTER)


def test_a_batch_keyed_and_posted_in_chromium(browser, coop, tmp_path):
    from selenium.webdriver.common.keys import Keys

    dbfile, numbers = coop
    total = sum(stub_amount(i) for i in range(20))
    with serve_web(dbfile, tmp_path) as (port, _proc, log_path):
        page = Page(browser, port)
        page.size(1280, 800)
        page.open()
        sign_in(page)
        page.wait_for("Type an account number")
        cols, rows = page.screen()
        assert cols >= 120 and "Pat Keyer (msr1, msr)" in rows[0]
        page.type(Keys.F3)
        page.wait_for("Payment batches")
        page.type(Keys.F5)
        page.wait_for("Control total")
        # today, Check, the tape's count and total
        page.type(Keys.ENTER, Keys.ENTER, "20", Keys.ENTER, str(Decimal(total) / 100), Keys.ENTER)
        page.wait_for("Keyed 0 / 20")
        burst = []
        for i, number in enumerate(numbers):   # account, amount, check no. (blank)
            burst += [str(number), Keys.ENTER, str(Decimal(stub_amount(i)) / 100), Keys.ENTER, Keys.ENTER]
        page.type(*burst)
        page.wait_for("BALANCED", timeout=30)
        shown = page.wait_for("Keyed 20 / 20")
        assert "Wrong" not in shown and "Traceback" not in shown
        page.screenshot(tmp_path / "batch-1280x800.png", 1280, 800)
        cols, rows = page.screen()
        assert rows[0].strip() and rows[-1].strip(), rows   # header and footer: drawn whole, top to bottom
        assert "kec-tui" in rows[0] and "f10 Post" in rows[-1]
        page.type(Keys.F10)
        page.wait_for("Post batch")
        page.type(Keys.ENTER)
        page.wait_for("posted", timeout=30)
        page.assert_only_local_requests()
        page.leave()
    assert PASSWORD not in log_path.read_text(errors="replace")

    db.connect(str(dbfile))
    try:
        [posted] = batches.list_batches()
        assert posted.status == "posted" and (posted.count, posted.total_cents) == (20, total)
        keyed = [(ln.account_number, ln.amount_cents) for ln in batches.lines(posted.id)]
        assert keyed == [(n, stub_amount(i)) for i, n in enumerate(numbers)]
        L = db.LedgerEntry
        ledger = [(e.account.number, -e.amount_cents) for e in
                  L.select().where(L.kind == "payment", L.reference.startswith(f"B{posted.number}-")).order_by(L.id)]
        assert ledger == keyed   # posted once: one payment per line, to the cent
    finally:
        db.database.close()


def test_a_phone_is_told_to_turn_sideways_and_then_works(browser, coop, tmp_path):
    dbfile, _numbers = coop
    with serve_web(dbfile, tmp_path) as (port, _proc, _log):
        page = Page(browser, port)
        page.size(390, 844)
        page.open()
        page.wait_for("Window too narrow", timeout=30)
        cols, rows = page.screen()
        assert cols < 80
        toast = " ".join(row.split("\N{LEFT HALF BLOCK}", 1)[1].strip() for row in rows if "\N{LEFT HALF BLOCK}" in row)
        assert "kec-tui needs a window at least 80 columns wide" in " ".join(toast.split()), rows
        page.screenshot(tmp_path / "phone-390x844.png", 390, 844)
        sign_in(page)                              # keys still land where they were meant
        page.wait_for("Pat Keyer")
        page.size(844, 390)                        # turned sideways: wide enough
        page.wait_until(lambda cols, shown: cols >= 80 and "Window too narrow" not in shown
                        and "Type an account number, name, phone, email, address or meter number" in shown,
                        "the lookup screen at 80 columns or more without the message")
        page.screenshot(tmp_path / "phone-844x390.png", 844, 390)
        page.assert_only_local_requests()
        page.leave()
