"""The Discord profile badge in Debian's Chromium: from the link on a member's verification
page, through Discord's consent page (the loopback Discord's), back to the bot's page saying it
shows; and a member who says no lands on a page that says nothing changed. Each of the bot's
pages passes the per-page checks (axe, layout at phone widths, title)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.browser.conftest import finish, open_member
from tests.browser.member import Member
from tests.fixtures.discord_profile import ProfileSite, connection


async def at_discords_page(chromium: Browser, profile_site: ProfileSite, name: str) -> Member:
    """Alice, verified and signed in to Discord, follows the link to show her badge."""
    w = profile_site.bot.w
    await profile_site.bot.verify(w.alice)
    w.fake.oauth.signed_in = w.alice
    member = await open_member(chromium, profile_site.base, name)
    await member.open(f"{profile_site.base}/verify/profile", "discord asks")
    return member


async def test_the_badge_is_shown_on_the_profile_through_discords_page(
    chromium: Browser,
    profile_site: ProfileSite,
    request: pytest.FixtureRequest,
) -> None:
    w = profile_site.bot.w
    member = await at_discords_page(chromium, profile_site, request.node.name)
    try:
        assert "verifybot wants to access your account" in await member.text()
        await member.press("Authorize", "the badge shows")
        assert await member.heading() == "Verified on your Discord profile"
        assert "takes it off" in await member.text()
    finally:
        await finish(member)
    assert connection(w, w.alice) == {"platform_name": "verifybot", "metadata": {"verified": "1"}}


async def test_saying_no_on_discords_page_changes_nothing(
    chromium: Browser,
    profile_site: ProfileSite,
    request: pytest.FixtureRequest,
) -> None:
    w = profile_site.bot.w
    member = await at_discords_page(chromium, profile_site, request.node.name)
    try:
        await member.press("Cancel", "nothing changed")
        assert await member.heading() == "Nothing was changed"
    finally:
        await finish(member)
    assert connection(w, w.alice) is None
