"""Browser tests: Playwright driving Debian's Chromium against a live server.

Tests save screenshots of the pages that matter (``page.shot(label)``), and of the page
each test ends on, under tests/e2e/screenshots/ (not committed), so a person can
look at what the tests saw.
"""

import contextlib
import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

# Playwright's sync API keeps an event loop running in this thread; the ORM calls the
# tests make between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    counter = {"n": 0}
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")

    def shot(label: str = "") -> None:
        SHOTS.mkdir(exist_ok=True)
        counter["n"] += 1
        suffix = f"-{label}" if label else ""
        page.screenshot(path=str(SHOTS / f"{name}-{counter['n']:02d}{suffix}.png"), full_page=True)

    page.shot = shot
    yield page
    # The page each test ends on. (Not a shot on every page load: a navigation started
    # while such a shot is being taken can stall it for seconds.)
    with contextlib.suppress(Exception):  # a screenshot is for people; never fail a test
        shot("end")
    context.close()


@pytest.fixture
def sign_in(page):
    def go(username: str) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(f"pw-{username}")
        page.get_by_role("button", name=re.compile("sign in", re.I)).click()
        page.wait_for_url(re.compile(r"/$"))

    return go
