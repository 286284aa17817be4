"""Each way to verify, from the link in the chat to the badge, by clicking and typing in Chromium.

These are also the proof that the forms work in a real browser at all: a browser sends an Origin
header with every form POST, and under the old `Referrer-Policy: no-referrer` that Origin was
`null`, which the bot refuses — every submit here failed with "Not sent from this page".
"""

from __future__ import annotations

from bot.model import Role
from tests.browser.journeys import ask_for_code, enter_code, sign_in_at_provider
from tests.browser.member import Member
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.fixtures.smtp import SmtpCapture
from tests.integration.verification.harness import ALICE, MOD, SPACE, Harness


async def test_openid_sign_in(
    member: Member, site: Harness, oidc_provider: OidcTestProvider
) -> None:
    assert await member.open(await site.link(), "link page") == 200
    assert await member.heading() == "Verify your account"
    await member.press("Sign in with Test ID", "provider login")
    assert member.page.url.startswith(oidc_provider.issuer + "/")
    await sign_in_at_provider(member)
    assert await member.heading() == "You are verified"
    text = await member.text()
    assert "Verified badge" in text and "The Garden" in text
    record = await site.verification(ALICE)
    assert (record.method, record.level) == ("oidc", "account")
    assert (ALICE, SPACE) in site.adapter.badges


async def test_cancelled_sign_in_says_so(member: Member, site: Harness) -> None:
    await member.open(await site.link(), "link page")
    await member.press("Sign in with Test ID", "provider login")
    async with member.page.expect_navigation():
        await member.page.get_by_role("link", name="[ Cancel ]").click()
    await member.seen("back at the bot")
    assert await member.heading() == "Sign-in cancelled"
    assert "nothing was stored" in await member.text()
    assert await site.verification(ALICE) is None


async def test_email_code(member: Member, site: Harness, smtp_server: SmtpCapture) -> None:
    await ask_for_code(member, await site.link(), "ann@example.org")
    assert await member.heading() == "Enter your code"
    assert "on its way to ann@example.org" in await member.text()
    assert (await member.focused())["id"] == "code"  # ready to type
    await enter_code(member, smtp_server.last_code("ann@example.org"), "verified")
    assert await member.heading() == "You are verified"
    record = await site.verification(ALICE)
    assert (record.method, record.level) == ("email_code", "email")


async def test_moderator_review(member: Member, site: Harness) -> None:
    await member.open(await site.link(), "link page")
    await member.press("Ask a moderator to review your account", "request sent")
    assert await member.heading() == "Your request is with the moderators"
    text = await member.text()
    assert "private message with their decision" in text
    assert text.count("You can close this page") == 1
    asked = [args for name, args in site.adapter.calls if name in ("post", "notify_moderators")]
    assert asked and "approve" in str(asked[-1])
    await site.command("approve", ALICE.id, member=MOD, role=Role.MODERATOR)
    record = await site.verification(ALICE)
    assert (record.method, record.level) == ("moderator", "reviewed")
    assert (ALICE, SPACE) in site.adapter.badges
    assert "You are verified" in site.directs_to(ALICE)[-1]
