"""Verifying with the keyboard alone — Tab, typing and Enter, no clicks — and seeing where the
focus is at every step."""

from __future__ import annotations

from tests.browser.member import Member
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.fixtures.smtp import SmtpCapture
from tests.integration.verification.harness import ALICE, Harness


async def tab_to(member: Member, element_id: str = "", button: str = "", limit: int = 12) -> None:
    """Press Tab until the field `element_id` (or the button named `button`) has the focus;
    every stop on the way must show a focus ring."""
    for _ in range(limit):
        await member.page.keyboard.press("Tab")
        focused = await member.focused()
        assert focused["outline"] != "none", f"no visible focus on {focused}"
        if (element_id and focused["id"] == element_id) or (
            button and focused["tag"] == "button" and focused["text"] == button
        ):
            return
    raise AssertionError(f"Tab never reached {element_id or button}")


async def test_email_code_by_keyboard(
    member: Member, site: Harness, smtp_server: SmtpCapture
) -> None:
    await member.open(await site.link(), "link page")
    await tab_to(member, "address")
    await member.page.keyboard.type("ann@example.org")
    await member.key("Enter", "code page")
    assert (await member.focused())["id"] == "code"  # no Tab needed: the code field is ready
    await member.page.keyboard.type(smtp_server.last_code())
    await member.key("Enter", "verified")
    assert await member.heading() == "You are verified"
    assert (await site.verification(ALICE)).method == "email_code"


async def test_openid_sign_in_by_keyboard(
    member: Member, site: Harness, oidc_provider: OidcTestProvider
) -> None:
    await member.open(await site.link(), "link page")
    await tab_to(member, button="Sign in with Test ID")
    await member.key("Enter", "provider login")
    await member.page.keyboard.type("alice")  # the provider focuses its login field
    await member.page.keyboard.press("Tab")
    await member.page.keyboard.type("any password")
    await member.key("Enter", "provider consent")
    await member.key("Enter", "back at the bot")  # its Continue button has the focus
    assert await member.heading() == "You are verified"
    assert (await site.verification(ALICE)).method == "oidc"
