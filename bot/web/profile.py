"""The Verified badge on a member's own Discord profile: Discord asks them, then it shows.

`/verify/profile` sends the browser to Discord's consent page (`identify`,
`role_connections.write`) with a state bound to this browser's cookie, as the OpenID check
binds its own; `/verify/profile/done` takes Discord's answer. Who the member is comes from
Discord itself (the account that consented), and the badge is written as their verification
stands: a member who is not verified is told so and nothing is kept. This is also the page the
Developer Portal's "Linked Roles Verification URL" opens from Discord.
"""

from __future__ import annotations

import logging
import secrets
import time

from aiohttp import web

from bot.adapters.discord.linked_roles import ProfileBadges, ProfileRefused
from bot.policy import shows_profile_badge
from bot.verification.identity import same
from bot.web.keys import CORE_KEY, PAGES_KEY, SERVICE_KEY

log = logging.getLogger(__name__)

STATE_SECONDS = 10 * 60
TITLES = {
    "shown": "Verified on your Discord profile",
    "not_verified": "Not verified yet",
    "declined": "Nothing was changed",
    "problem": "Discord did not confirm it",
}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/verify/profile", start)
    app.router.add_get("/verify/profile/done", done)


def _badges(request: web.Request) -> ProfileBadges:
    adapter = request.app[CORE_KEY].adapters.get("discord")
    badges = getattr(adapter, "profile_badges", None)
    if not isinstance(badges, ProfileBadges) or request.app[SERVICE_KEY] is None:
        raise web.HTTPNotFound(text="This bot does not show badges on Discord profiles.")
    return badges


def _state_mac(request: web.Request, browser: str, nonce: str, expiry: str) -> str:
    service = request.app[SERVICE_KEY]
    assert service is not None
    return service.key.mac("profile-state", browser, nonce, expiry).hex()[:32]


async def start(request: web.Request) -> web.Response:
    """To Discord's consent page, with a state only this browser can bring back."""
    badges = _badges(request)
    pages = request.app[PAGES_KEY]
    browser, new = pages.ensure_browser(request)
    nonce, expiry = secrets.token_urlsafe(12), str(int(time.time()) + STATE_SECONDS)
    state = f"{nonce}.{expiry}.{_state_mac(request, browser, nonce, expiry)}"
    response = web.HTTPFound(badges.authorize_url(state))
    if new:
        pages.set_browser(response, browser)
    raise response


async def done(request: web.Request) -> web.Response:
    badges = _badges(request)
    pages = request.app[PAGES_KEY]
    query = request.query
    if query.get("error"):
        return _page(request, "declined", ok=True)
    browser = pages.browser(request)
    nonce, _, rest = query.get("state", "").partition(".")
    expiry, _, mac = rest.partition(".")
    if (
        browser is None
        or not expiry.isdigit()
        or int(expiry) < time.time()
        or not same(mac, _state_mac(request, browser, nonce, expiry))
    ):
        pages.core.metrics.form_refused("profile_state")
        return pages.failure(
            "This link has expired",
            "This page was not opened from your own request, or too long ago. To show the badge"
            " on your Discord profile, start again from the link on your verification page.",
            status=403,
        )
    code = query.get("code", "")
    try:
        connected = await badges.connect(code)
        live = await pages.core.cache.live_verification(connected.member)
        verified = live is not None and shows_profile_badge(live[1], pages.core.clock())
        await badges.publish(connected, verified=verified)
    except ProfileRefused as exc:
        log.info("a profile badge was not set: %s", exc)
        return _page(request, "problem", ok=False)
    return _page(request, "shown" if verified else "not_verified", ok=True)


def _page(request: web.Request, outcome: str, *, ok: bool) -> web.Response:
    messages = {
        "shown": "Your Discord profile now shows that you are verified. It stays while your"
        " verification lasts; when it ends, or when you unverify, the bot takes it off. Only"
        " what it takes to remove it later is kept, encrypted.",
        "not_verified": "You are not verified, so there is nothing to show yet. Run the verify"
        " command in a server first, then come back to this page. Nothing was kept.",
        "declined": "You did not allow it on Discord, so your profile shows no badge from this"
        " bot and nothing was kept.",
        "problem": "Discord did not confirm the request, so nothing was changed and nothing was"
        " kept. Please start again from the link on your verification page.",
    }
    pages = request.app[PAGES_KEY]
    return pages.render(
        "result.html",
        status=200 if ok else 502,
        title=TITLES[outcome],
        ok=ok,
        message=messages[outcome],
        profile_offer=False,
    )
