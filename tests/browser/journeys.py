"""Steps several browser tests share, written as a member does them."""

from __future__ import annotations

from typing import Final

from tests.browser.member import Member

EMAIL_METHOD: Final = "Get a code at your example.org e-mail address"


async def sign_in_at_provider(member: Member, login: str = "alice") -> None:
    """The provider's own login and consent pages, filled in and clicked through."""
    page = member.page
    await page.get_by_placeholder("Enter any login").fill(login)
    await page.get_by_placeholder("and password").fill("any password")
    await member.press("Sign-in", "provider consent")
    await member.press("Continue", "back at the bot")


async def ask_for_code(member: Member, link: str, address: str, what: str = "code page") -> None:
    """Open the link, type the address into the e-mail card and ask for a code."""
    await member.open(link, "link page")
    card = member.card(EMAIL_METHOD)
    await card.get_by_label("Your e-mail address").fill(address)
    await member.press(EMAIL_METHOD, what, within=card)


async def enter_code(member: Member, code: str, what: str) -> None:
    await member.page.get_by_label("The 6-digit code from the e-mail").fill(code)
    await member.press("Check the code", what)


async def resend(member: Member, address: str, what: str) -> None:
    await member.page.get_by_label("Your e-mail address").fill(address)
    await member.press("Send a new code", what)
