"""The Verified badge on a member's own Discord profile (Linked Roles), with real discord.py and
the loopback Discord's OAuth2: the member follows the link from their verification page, says
yes on Discord's page, and their role connection says verified; it is taken off (with a rotated
refresh token) when they unverify; a member who is not verified, or who says no, leaves nothing
behind; a state this browser did not start is refused."""

from __future__ import annotations

import re

import aiohttp
import pytest

from bot.model import MemberRef
from bot.storage.repo import Store
from bot.verification.views import Result
from bot.web.app import create_app
from bot.web.keys import PAGES_KEY
from cogs.verification import Verification
from tests.fixtures.discord_profile import ProfileSite, connection

pytestmark = pytest.mark.discord_fake


async def consent(site: ProfileSite, *, answer: str = "authorize") -> tuple[int, str]:
    """The member's browser: our link, Discord's page, their answer, back to us."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(f"{site.base}/verify/profile") as page:
            assert page.status == 200 and "verifybot wants to access your account" in (
                await page.text()
            )
            fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', await page.text()))
            fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
            discord_page = str(page.url)
        async with browser.post(discord_page, data={**fields, "answer": answer}) as back:
            return back.status, await back.text()


async def test_the_badge_shows_on_the_profile_and_goes_when_the_member_unverifies(
    profile_site: ProfileSite, store: Store
) -> None:
    w = profile_site.bot.w
    await profile_site.bot.verify(w.alice)
    w.fake.oauth.signed_in = w.alice

    status, page = await consent(profile_site)
    assert status == 200 and "Your Discord profile now shows that you are verified" in page
    assert connection(w, w.alice) == {"platform_name": "verifybot", "metadata": {"verified": "1"}}
    sealed = await store.sealed_token(MemberRef("discord", str(w.alice.id)))
    assert sealed is not None and not any(t in sealed for t in w.fake.oauth.refresh)

    await profile_site.bot.run(w.alice, "unverify")
    await w.fake.wait_until(
        lambda: (connection(w, w.alice) or {}).get("metadata") == {"verified": "0"},
        what="the badge taken off",
    )
    assert w.fake.oauth.refreshed == 1  # the kept token was used (and Discord rotated it)
    assert await store.sealed_token(MemberRef("discord", str(w.alice.id))) is None


async def test_a_member_who_is_not_verified_gets_nothing_and_nothing_is_kept(
    profile_site: ProfileSite, store: Store
) -> None:
    w = profile_site.bot.w
    w.fake.oauth.signed_in = w.bob
    status, page = await consent(profile_site)
    assert status == 200 and "You are not verified, so there is nothing to show yet" in page
    assert connection(w, w.bob) == {"platform_name": "verifybot", "metadata": {"verified": "0"}}
    assert await store.sealed_token(MemberRef("discord", str(w.bob.id))) is None


async def test_saying_no_on_discord_changes_nothing(profile_site: ProfileSite) -> None:
    w = profile_site.bot.w
    await profile_site.bot.verify(w.alice)
    w.fake.oauth.signed_in = w.alice
    status, page = await consent(profile_site, answer="cancel")
    assert status == 200 and "You did not allow it on Discord" in page
    assert connection(w, w.alice) is None


async def test_a_callback_this_browser_did_not_start_is_refused(profile_site: ProfileSite) -> None:
    w = profile_site.bot.w
    await profile_site.bot.verify(w.alice)
    w.fake.oauth.signed_in = w.alice
    async with aiohttp.ClientSession() as attacker:
        url = f"{profile_site.base}/verify/profile/done?code=stolen&state=abc.9999999999.00"
        async with attacker.get(url) as page:
            assert page.status == 403 and "This link has expired" in await page.text()
    assert connection(w, w.alice) is None


async def test_the_verification_page_offers_it_to_discord_members_only(
    profile_site: ProfileSite,
) -> None:

    pages = create_app(profile_site.bot.core, profile_site.bot.core.cog(Verification).service)[
        PAGES_KEY
    ]
    alice = MemberRef("discord", str(profile_site.bot.w.alice.id))
    offered = pages.result(Result(True, "You are verified", "Done.", alice)).text or ""
    assert '<a href="/verify/profile">Show it on my Discord profile</a>' in offered
    elsewhere = MemberRef("matrix", "@alice:hs")
    plain = pages.result(Result(True, "You are verified", "Done.", elsewhere)).text or ""
    assert "/verify/profile" not in plain


async def test_forgetting_takes_the_profile_badge_off_before_the_token_is_erased(
    profile_site: ProfileSite, store: Store
) -> None:
    w = profile_site.bot.w
    await profile_site.bot.verify(w.alice)
    w.fake.oauth.signed_in = w.alice
    assert (await consent(profile_site))[0] == 200

    await profile_site.bot.run(w.alice, "forget")
    await profile_site.bot.run(w.alice, "forget", confirm="confirm")
    await w.fake.wait_until(
        lambda: (connection(w, w.alice) or {}).get("metadata") == {"verified": "0"},
        what="the badge taken off",
    )
    assert await store.sealed_token(MemberRef("discord", str(w.alice.id))) is None
