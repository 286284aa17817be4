"""A member at the keyboard of a real Chromium: opens pages, clicks, types, and checks each page.

Every page the member lands on goes through `seen()`: a full-page screenshot for a reviewer
(tests/artifacts/browser/<test>/NN-<what>.png) and, on the bot's own pages, the checks a member
would notice — nothing wider than the window or than a 320 or 400 px phone, no accessibility
violation (axe-core), no Content-Security-Policy breakage, and the window title naming the same
thing as the heading. (The identity provider's pages stand in for a third party's: they are
screenshotted, but their layout and accessibility are not ours to check.) The member
records every request the browser makes, so a test's end can assert none left 127.0.0.1, and
every navigation, so it can assert no page went unchecked.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, ConsoleMessage, Frame, Locator, Page, Request

from tests.browser import axe

ARTIFACTS: Final = Path(__file__).resolve().parent.parent / "artifacts" / "browser"
LOOPBACK: Final = "127.0.0.1"
PHONE_WIDTHS: Final = (320, 400)  # every page of ours must fit these, whatever the window


def artifacts_for(test_name: str) -> Path:
    """A fresh screenshot folder for one test (old screenshots of that test are removed)."""
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Member:
    context: BrowserContext
    page: Page
    site: str  # the bot's origin, e.g. http://127.0.0.1:41234
    artifacts: Path
    requests: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)
    checked: set[int] = field(default_factory=set)
    csp_errors: list[str] = field(default_factory=list)
    shots: int = 0

    def __post_init__(self) -> None:
        self.context.on("request", self._on_request)
        self.page.on("framenavigated", self._on_navigation)
        self.page.on("console", self._on_console)

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _on_navigation(self, frame: Frame) -> None:
        if frame == self.page.main_frame:
            self.navigations.append(frame.url)

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_errors.append(message.text)

    # --- moving around ----------------------------------------------------------------------

    async def open(self, url: str, what: str) -> int:
        """Go to `url` as if pasted from the chat; returns the HTTP status of the page."""
        response = await self.page.goto(url)
        assert response is not None
        await self.seen(what)
        return response.status

    async def press(
        self, button: str | Locator, what: str, *, within: Locator | None = None
    ) -> None:
        """Click a button (by its visible name) and wait for the page it leads to."""
        target = button if isinstance(button, Locator) else self.button(button, within=within)
        async with self.page.expect_navigation():
            await target.click()
        await self.seen(what)

    async def key(self, key: str, what: str) -> None:
        """Press a key that submits a form (Enter on a field or button) and wait for the page."""
        async with self.page.expect_navigation():
            await self.page.keyboard.press(key)
        await self.seen(what)

    def button(self, name: str, *, within: Locator | None = None) -> Locator:
        return (within or self.page).get_by_role("button", name=name, exact=True)

    def card(self, heading: str) -> Locator:
        """The method card (section) whose heading is `heading`."""
        return self.page.locator("section.method").filter(
            has=self.page.get_by_role("heading", name=heading, exact=True)
        )

    # --- what the member sees ---------------------------------------------------------------

    async def heading(self) -> str:
        return (await self.page.locator("h1").inner_text()).strip()

    async def text(self) -> str:
        return await self.page.locator("body").inner_text()

    async def focused(self) -> dict[str, Any]:
        """The focused element: id, aria attributes and the text of what describes it."""
        result: dict[str, Any] = await self.page.evaluate(
            """() => {
                const el = document.activeElement;
                const ids = (el.getAttribute('aria-describedby') || '').split(/\\s+/);
                const described = ids.filter(Boolean)
                    .map(id => document.getElementById(id)?.textContent.trim() || '');
                return {id: el.id, tag: el.tagName.toLowerCase(), text: el.textContent.trim(),
                        invalid: el.getAttribute('aria-invalid'),
                        described: described.join(' '),
                        outline: getComputedStyle(el).outlineStyle};
            }"""
        )
        return result

    async def seen(self, what: str) -> None:
        """Screenshot the page; on the bot's own pages, run every per-page check."""
        await self.page.wait_for_load_state("load")
        self.shots += 1
        slug = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")
        path = self.artifacts / f"{self.shots:02d}-{slug}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        self.checked.add(len(self.navigations))
        if not self.on_site():
            return
        await self.assert_fits(what)
        found = await axe.violations(self.page)
        assert not found, f"{what}: accessibility problems:\n{axe.describe(found)}"
        title = await self.page.title()
        assert title == f"{await self.heading()} · verifybot", f"{what}: title {title!r}"
        assert not self.csp_errors, f"{what}: {self.csp_errors}"

    async def assert_fits(self, what: str) -> None:
        """Nothing to scroll sideways, in this window and in phone-sized ones."""
        window = self.page.viewport_size
        assert window is not None
        for width in sorted({window["width"], *PHONE_WIDTHS}):
            await self.page.set_viewport_size({"width": width, "height": window["height"]})
            scroll = await self.page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{what}: the page is {scroll} px wide in a {width} px window"
        await self.page.set_viewport_size(window)

    def on_site(self) -> bool:
        return self.page.url.startswith(self.site + "/")

    # --- the end of a test ------------------------------------------------------------------

    def assert_all_checked(self) -> None:
        unchecked = [
            url
            for number, url in enumerate(self.navigations, start=1)
            if number not in self.checked and url.startswith(self.site + "/")
        ]
        assert not unchecked, f"pages visited but never checked: {unchecked}"

    def assert_only_loopback(self) -> None:
        assert self.requests, "the browser made no request at all"
        elsewhere = [u for u in self.requests if urlsplit(u).hostname != LOOPBACK]
        assert not elsewhere, f"the browser asked hosts other than {LOOPBACK}: {elsewhere}"
