"""Phones: every page fits a 320 px and a 400 px wide window — nothing to scroll sideways, nothing
cut off — even with a very long account id and a very long e-mail address. (`Member.seen` checks
the width of every page; these journeys make sure the hard cases are among them.)"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from bot.model import MemberRef
from tests.browser.conftest import finish, open_member
from tests.browser.journeys import ask_for_code, enter_code, resend
from tests.fixtures.smtp import SmtpCapture
from tests.integration.verification.harness import SPACE, Harness

LONG_ACCOUNT = MemberRef(
    "matrix", "@" + "averyveryverylongaccountnamewithoutanybreaks" * 3 + ":homeserver.example.org"
)
LONG_ADDRESS = "firstname.middlename.lastname.department.team.office.country@example.org"


@pytest.mark.parametrize("width", [320, 400])
async def test_every_page_fits_a_phone(
    chromium: Browser,
    site: Harness,
    smtp_server: SmtpCapture,
    request: pytest.FixtureRequest,
    width: int,
) -> None:
    site.adapter.members[LONG_ACCOUNT] = {SPACE}
    member = await open_member(chromium, site, request.node.name, width=width)
    try:
        link = await site.link(LONG_ACCOUNT)
        await ask_for_code(member, link, "someone@elsewhere.net", what="wrong domain")
        assert LONG_ACCOUNT.id in await member.text()
        await ask_for_code(member, link, LONG_ADDRESS)
        assert LONG_ADDRESS in await member.text()
        right = smtp_server.last_code()
        await enter_code(member, f"{(int(right) + 1) % 1_000_000:06d}", "wrong code")
        await resend(member, LONG_ADDRESS, "resend too soon")
        await enter_code(member, right, "verified")
        assert await member.heading() == "You are verified"
        await member.open(link, "used link")
        assert await member.heading() == "Link already used"
    finally:
        await finish(member)
