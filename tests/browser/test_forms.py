"""The forms' protections, seen from a real browser: a browser that drops the cookie, and another
site that makes the member's browser post a form (with or without revealing its origin)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape

from aiohttp import web

from tests.browser.member import Member
from tests.integration.verification.harness import ALICE, Harness

MODERATOR_METHOD = "Ask a moderator to review your account"


def moderators_asked(site: Harness) -> int:
    return len([c for c in site.adapter.calls if c[0] in ("post", "notify_admins")])


async def test_browser_that_drops_cookies_gets_the_cookie_message(
    member: Member, site: Harness
) -> None:
    link = await site.link()
    await member.open(link, "link page")
    await member.context.clear_cookies()
    await member.press(MODERATOR_METHOD, "cookie refused")
    assert await member.heading() == "Cookies are off"
    text = await member.text()
    assert "Allow cookies for this site, then open the link from the chat again." in text
    assert "new link" not in text  # the link still works: no advice to get another
    assert moderators_asked(site) == 0
    # nothing was used up: with cookies back, the same link works
    await member.open(link, "link page again")
    await member.press(MODERATOR_METHOD, "request sent")
    assert await member.heading() == "Your request is with the moderators"
    assert moderators_asked(site) == 1


@asynccontextmanager
async def other_site(target: str, csrf: str) -> AsyncIterator[str]:
    """Another website (another origin on loopback) with two pages whose button posts the
    member's own form, token and all, to the bot: one reveals its origin, one hides it."""

    def page(referrer: str) -> str:
        return (
            f'<!doctype html><html lang="en"><head><meta name="referrer" content="{referrer}">'
            "<title>Win a prize</title></head><body><main><h1>Win a prize</h1>"
            f'<form method="post" action="{escape(target)}">'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            '<input type="hidden" name="method" value="moderator">'
            "<button>Claim</button></form></main></body></html>"
        )

    async def handler(request: web.Request) -> web.Response:
        referrer = "no-referrer" if request.path == "/hidden" else "origin"
        return web.Response(text=page(referrer), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{name}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    other = web.TCPSite(runner, "127.0.0.1", 0)
    await other.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_another_site_cannot_post_the_forms(member: Member, site: Harness) -> None:
    link = await site.link()
    await member.open(link, "link page")
    csrf = await member.page.locator('input[name="csrf"]').first.input_value()
    origins: list[str | None] = []
    member.page.on(
        "request",
        lambda r: origins.append(r.headers.get("origin")) if r.method == "POST" else None,
    )
    async with other_site(link, csrf) as elsewhere:
        for name in ("shown", "hidden"):
            await member.open(f"{elsewhere}/{name}", f"other site, origin {name}")
            await member.press("Claim", f"refused, origin {name}")
            assert await member.heading() == "Not sent from this page"
    assert origins == [elsewhere, "null"]
    assert moderators_asked(site) == 0
    assert await site.verification(ALICE) is None
    await member.open(link, "link still unused")
    assert await member.heading() == "Verify your account"
