"""The staff console in headless chromium: `caseledger up --demo` runs in a process of its own (embedded
broker, the configured or embedded PostgreSQL), and Playwright drives Debian's chromium against it.

Every request the browser makes is routed through ``offline_only``: a request to any host other than
127.0.0.1 or localhost is refused and fails the test, so the pages prove they load nothing from outside.
Screenshots go to ``bench-results/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Route,
    ViewportSize,
    sync_playwright,
)

from infra.store.eventstore import drop_schemas
from tests.demo_process import demo_process

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "bench-results" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}


@dataclass
class DemoSystem:
    """The running demo: where its API listens, a token per role, and the cases it left open."""

    base_url: str
    tokens: dict[str, str]
    open_cases: dict[str, str]
    """What each open case stands at (the demo's words) → its id."""
    closed_complaint: str


@dataclass
class Staff:
    """One member of staff's browser: their page, and every outside request it tried."""

    page: Page
    outside: list[str] = field(default_factory=list)


@pytest.fixture(scope="package")
def demo(database_url: str) -> Iterator[DemoSystem]:
    schema = f"t_{uuid4().hex[:12]}"
    try:
        with demo_process(
            database_url, schema, REPO, wait_s=120, CASELEDGER_AUDIT_KEY="browser-test-audit-key"
        ) as demo:
            text = demo.output
            tokens = demo.tokens()
            open_cases = {
                stands.strip(): case_id
                for case_id, stands in re.findall(r"^  open \w+\s+(\S+)\s+(.+)$", text, flags=re.MULTILINE)
            }
            closed = re.search(r"^== Complaint (\S+)", text, flags=re.MULTILINE)
            assert tokens, text
            assert open_cases, text
            assert closed is not None, text
            yield DemoSystem(demo.base_url, tokens, open_cases, closed.group(1))
    finally:
        drop_schemas(database_url, schema)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("the browser tests need Debian's chromium: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = _launch(playwright, executable)
        yield launched
        launched.close()


def _launch(playwright: Playwright, executable: str) -> Browser:
    return playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])


@pytest.fixture
def staff(browser: Browser) -> Iterator[Staff]:
    """A fresh browser context (no cookies) whose every request must stay on this machine."""
    context: BrowserContext = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    seen = Staff(page=context.new_page())

    def offline_only(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:", "about:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            seen.outside.append(route.request.url)
            route.abort()

    context.route("**/*", offline_only)
    yield seen
    context.close()
    assert seen.outside == [], f"requests left the machine: {seen.outside}"


def sign_in(staff: Staff, demo: DemoSystem, role: str) -> Page:
    """Sign in with the keyboard as a person would: paste the demo's token, Tab to the button, Enter."""
    page = staff.page
    page.goto(f"{demo.base_url}/console/worklist")
    page.wait_for_url("**/console/sign-in**")
    screenshot(page, "sign-in", full_page=False)
    page.get_by_label("令牌或 API 密钥 Token or API key").fill(demo.tokens[role])
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/worklist")
    return page


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def timed_goto(page: Page, url: str) -> float:
    """Open ``url`` and return how long the page took to load (seconds)."""
    started = time.monotonic()
    page.goto(url)
    return time.monotonic() - started
