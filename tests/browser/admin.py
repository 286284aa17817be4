"""An admin at a real Chromium on the dashboard: gets the link from the `dashboard` command, signs
in, reads the figures as a sighted person and as a screen reader would, and uses the policy form.

The admin is a `Member` (member.py), so every page they land on is screenshotted and checked the
same way (axe-core, nothing wider than the window or a phone, title = heading). What only the
dashboard needs lives here: a browser without JavaScript or without cookies, the accessibility
tree Chromium itself gives a screen reader, and a page on another loopback port whose form
posts to the dashboard, as a hostile site would.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web
from markupsafe import escape
from playwright.async_api import Browser, Page, ViewportSize

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, WINDOW, finish
from tests.browser.member import Member, artifacts_for
from tests.integration.dashboard.harness import Site

SIGN_IN_BUTTON: Final = "Open the dashboard"
SET_BUTTON: Final = "Set the policy"
PLACE_FIELD: Final = "Which room (leave empty for the whole community)"
# Chromium's own switch for "Block all cookies" (chrome://settings/cookies), read at start
NO_COOKIES: Final = {"profile": {"default_content_setting_values": {"cookies": 2}}}


class ScriptlessAdmin(Member):
    """An admin whose browser runs no JavaScript. axe-core cannot check these pages (it waits
    on the page's timers, which such a browser never runs); the same pages are checked by axe
    in a browser with JavaScript. Every other check of `Member.seen` still runs."""

    async def seen(self, what: str) -> None:
        await self.page.wait_for_load_state("load")
        self.shots += 1
        slug = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")
        path = self.artifacts / f"{self.shots:02d}-{slug}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        self.checked.add(len(self.navigations))
        if self.on_site():
            await self.assert_fits(what)
            title = await self.page.title()
            assert title == f"{await self.heading()} · verifybot", f"{what}: title {title!r}"


async def open_admin(
    chromium: Browser,
    site: Site,
    test_name: str,
    *,
    width: int = WINDOW["width"],
    javascript: bool = True,
) -> Member:
    """A browser window for the admin on the running dashboard."""
    context = await chromium.new_context(
        viewport={"width": width, "height": WINDOW["height"]}, java_script_enabled=javascript
    )
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    kind = Member if javascript else ScriptlessAdmin
    return kind(context, page, site.base_url, artifacts_for(test_name))


@asynccontextmanager
async def cookieless_admin(
    chromium: Browser, site: Site, test_name: str, profile: Path
) -> AsyncIterator[Member]:
    """A Chromium whose settings block every cookie (its own profile, so its own process)."""
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps(NO_COOKIES), encoding="utf-8")
    context = await chromium.browser_type.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        viewport=ViewportSize(width=WINDOW["width"], height=WINDOW["height"]),
    )
    context.set_default_timeout(WAIT_MS)
    page = context.pages[0] if context.pages else await context.new_page()
    admin = Member(context, page, site.base_url, artifacts_for(test_name))
    try:
        yield admin
    finally:
        await finish(admin)


async def sign_in(admin: Member, site: Site, link: str | None = None) -> str:
    """Ask the bot for a link, open it, press the button; returns the link (now used up)."""
    link = link or await site.link()
    await admin.open(link, "sign-in page")
    assert await admin.heading() == "Open the dashboard"
    await admin.press(SIGN_IN_BUTTON, "dashboard")
    assert admin.page.url == f"{site.base_url}/dashboard"
    return link


async def set_policy(admin: Member, place: str, level: str, what: str) -> None:
    """Type where, choose the level by its visible words (e.g. "read only"), press the button."""
    page = admin.page
    await page.get_by_label(PLACE_FIELD).fill(place)
    await page.get_by_label(re.compile(rf"^{re.escape(level)}:")).check()
    await admin.press(SET_BUTTON, what)


async def tab_to(admin: Member, *, element_id: str = "", button: str = "", limit: int = 20) -> None:
    """Press Tab until the element `element_id` (or the button named `button`) has the focus;
    every stop on the way must show a focus ring."""
    for _ in range(limit):
        await admin.page.keyboard.press("Tab")
        focused = await admin.focused()
        assert focused["outline"] != "none", f"no visible focus on {focused}"
        if (element_id and focused["id"] == element_id) or (
            button and focused["tag"] == "button" and focused["text"] == button
        ):
            return
    raise AssertionError(f"Tab never reached {element_id or button}")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- what a screen reader gets ------------------------------------------------------------


async def accessibility_tree(page: Page) -> list[dict[str, Any]]:
    """Chromium's own accessibility tree (what it hands a screen reader), ignored nodes left
    out: each node's role, name and description."""
    session = await page.context.new_cdp_session(page)
    try:
        tree = await session.send("Accessibility.getFullAXTree")
    finally:
        await session.detach()
    nodes = []
    for node in tree["nodes"]:
        if node.get("ignored"):
            continue
        nodes.append(
            {
                "role": node.get("role", {}).get("value", ""),
                "name": node.get("name", {}).get("value", ""),
                "description": node.get("description", {}).get("value", ""),
            }
        )
    return nodes


async def images(page: Page) -> dict[str, str]:
    """Each image's accessible name and description, by name (the charts are role="img")."""
    return {
        node["name"]: node["description"]
        for node in await accessibility_tree(page)
        if node["role"] == "image"
    }


async def table_rows(page: Page, caption: str) -> dict[str, int]:
    """The rows of the table named `caption` (visually hidden, read by screen readers)."""
    table = page.get_by_role("table", name=caption, exact=True)
    rows: list[list[str]] = await table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    return {label: int(value) for label, value in rows}


# --- a page elsewhere whose form posts to the dashboard -----------------------------------


@asynccontextmanager
async def elsewhere(action: str, fields: dict[str, str]) -> AsyncIterator[str]:
    """Another site on another loopback port: one page with a form for `action` (the fields
    copied from a real dashboard page, its CSRF token included); yields the page's address."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Win a prize</title></head><body><h1>Win a prize</h1>"
        f'<form method="post" action="{escape(action)}">{hidden}'
        "<button type=submit>Claim it</button></form></body></html>"
    )

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()
