"""The page checks themselves, and problems that belong to one method's card.

The axe check must be able to fail: on a real page of ours (under its Content-Security-Policy,
which forbids every script) it must find a field whose label was taken away. Otherwise a broken
injection would pass every page silently.
"""

from __future__ import annotations

import dataclasses

import pytest
from playwright.async_api import Browser

from bot.storage.repo import Store
from tests.browser import axe
from tests.browser.conftest import finish, open_member
from tests.browser.journeys import ask_for_code
from tests.browser.member import Member
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.fixtures.smtp import SmtpCapture
from tests.integration.verification.harness import Harness, running

OIDC_METHOD = "Sign in with Test ID"


async def test_dark_mode_passes_axe_too(member: Member, site: Harness) -> None:
    """The pages follow the system's dark mode (`color-scheme: light dark`); its colours must
    keep their contrast, problems and invalid fields included."""
    await member.page.emulate_media(color_scheme="dark")
    await ask_for_code(member, await site.link(), "ann@elsewhere.net", what="wrong domain, dark")
    assert await member.page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    assert (await member.focused())["invalid"] == "true"


async def test_axe_runs_under_the_pages_policy_and_finds_problems(
    member: Member, site: Harness
) -> None:
    await member.open(await site.link(), "link page")
    response = await member.page.request.get(member.page.url)
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert await axe.violations(member.page) == []
    await member.page.evaluate("document.querySelector('label[for=address]').remove()")
    found = {rule["id"] for rule in await axe.violations(member.page)}
    assert "label" in found


async def test_unreachable_provider_is_shown_in_its_own_card(
    chromium: Browser,
    store: Store,
    oidc_provider: OidcTestProvider,
    smtp_server: SmtpCapture,
    request: pytest.FixtureRequest,
) -> None:
    nobody = dataclasses.replace(oidc_provider, issuer="http://127.0.0.1:9")  # nothing listens
    async with running(store, nobody, smtp_server) as site:
        member = await open_member(chromium, site, request.node.name)
        try:
            link = await site.link()
            await member.open(link, "link page")
            await member.press(OIDC_METHOD, "provider unreachable")
            assert await member.heading() == "Sign-in service unreachable"
            card = member.card(OIDC_METHOD)
            assert "We could not reach Test ID just now" in await card.inner_text()
            assert await member.page.get_by_text("We could not reach Test ID").count() == 1
            focused = await member.focused()
            assert focused["tag"] == "button" and focused["text"] == OIDC_METHOD
            assert "We could not reach Test ID" in focused["described"]
            # the link was not used up: another method still works
            await member.press("Ask a moderator to review your account", "request sent")
            assert await member.heading() == "Your request is with the moderators"
        finally:
            await finish(member)
