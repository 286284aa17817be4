"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and the bot's web
service (the verification harness) on loopback.

Chromium is launched once per test: pytest-asyncio gives every test its own event loop, and the
bot's web server runs on that loop, so the browser's driver has to live on it too. Launching takes
about half a second. `playwright install` cannot download browsers here, so the system Chromium
is used; without it these tests fail (CI's .ci/run installs it), they are never skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import Browser, async_playwright

from bot.storage.repo import Store
from tests.browser.member import Member, artifacts_for
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.fixtures.smtp import SmtpCapture
from tests.integration.verification.harness import Harness, running

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WINDOW: Final = {"width": 1024, "height": 800}
WAIT_MS: Final = 5_000  # every page here answers in well under a second; fail fast otherwise


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing; the browser tests need Debian's Chromium:"
            " apt-get install chromium (CI's .ci/run installs it)"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def site(
    store: Store, oidc_provider: OidcTestProvider, smtp_server: SmtpCapture
) -> AsyncIterator[Harness]:
    """The bot with all three methods, its web service on a free loopback port."""
    async with running(store, oidc_provider, smtp_server) as harness:
        yield harness
    await oidc_provider.clear_replacement()


async def open_member(
    chromium: Browser, site: Harness | str, test_name: str, width: int = WINDOW["width"]
) -> Member:
    """A member's browser window on the bot (the harness, or the origin of another bot)."""
    context = await chromium.new_context(viewport={"width": width, "height": WINDOW["height"]})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    base = site if isinstance(site, str) else site.base_url
    return Member(context, page, base, artifacts_for(test_name))


async def finish(member: Member) -> None:
    """The checks that hold for every journey, then the browser window closes."""
    try:
        member.assert_all_checked()
        member.assert_only_loopback()
    finally:
        await member.context.close()


@pytest.fixture
async def member(
    chromium: Browser, site: Harness, request: pytest.FixtureRequest
) -> AsyncIterator[Member]:
    """A member's browser window (1024 px wide) on the running bot."""
    person = await open_member(chromium, site, request.node.name)
    yield person
    await finish(person)
