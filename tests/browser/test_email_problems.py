"""What goes wrong with an e-mail code, as the member sees it: the problem is named in the title,
shown next to the field to fix, that field has the focus and is described by the problem."""

from __future__ import annotations

from datetime import timedelta

from tests.browser.journeys import EMAIL_METHOD, ask_for_code, enter_code, resend
from tests.browser.member import Member
from tests.fixtures.smtp import SmtpCapture
from tests.integration.verification.harness import ALICE, Harness


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_wrong_code_is_shown_at_the_code_field(
    member: Member, site: Harness, smtp_server: SmtpCapture
) -> None:
    await ask_for_code(member, await site.link(), "ann@example.org")
    right = smtp_server.last_code()
    await enter_code(member, wrong(right), "wrong code")
    assert await member.heading() == "Wrong code"
    focused = await member.focused()
    assert focused["id"] == "code" and focused["invalid"] == "true"
    assert focused["described"] == "That code is wrong. 2 attempts left."
    await enter_code(member, right, "verified")
    assert await member.heading() == "You are verified"


async def test_an_expired_code_is_named_and_a_new_one_offered(
    member: Member, site: Harness, smtp_server: SmtpCapture
) -> None:
    await ask_for_code(member, await site.link(), "ann@example.org")
    site.clock.offset += timedelta(minutes=11)  # codes last 10 minutes
    await enter_code(member, smtp_server.last_code(), "expired code")
    assert await member.heading() == "Code expired"
    focused = await member.focused()
    assert focused["id"] == "code" and "Ask for a new one below" in focused["described"]


async def test_too_many_wrong_codes_end_the_check(
    member: Member, site: Harness, smtp_server: SmtpCapture
) -> None:
    await ask_for_code(member, await site.link(), "ann@example.org")
    right = smtp_server.last_code()
    code_page = await member.page.locator("form").first.get_attribute("action")
    for attempt in (1, 2, 3):  # max_attempts = 3
        await enter_code(member, wrong(right), f"wrong code {attempt}")
    assert await member.heading() == "Too many wrong codes"
    assert "nothing was stored" in await member.text()
    # going back to the code page: the check is over, even for the right code
    assert await member.open(f"{site.base_url}{code_page}", "code page again") == 410
    assert await member.heading() == "Step no longer valid"
    assert await site.verification(ALICE) is None


async def test_resend_waits_then_sends_a_new_code(
    member: Member, site: Harness, smtp_server: SmtpCapture
) -> None:
    await ask_for_code(member, await site.link(), "ann@example.org")
    await resend(member, "ann@example.org", "too soon")
    assert await member.heading() == "Code sent moments ago"
    focused = await member.focused()
    assert focused["id"] == "address" and focused["invalid"] is None
    assert "You can ask for another in" in focused["described"]
    assert len(smtp_server.messages) == 1
    site.clock.offset += timedelta(seconds=31)
    await member.press("Send a new code", "new code sent")  # the address is still filled in
    assert await member.heading() == "Enter your code"
    assert len(smtp_server.messages) == 2
    # the address bar now ends in /resend; opening it again (no form sent) shows the code form
    assert member.page.url.endswith("/resend")
    assert await member.open(member.page.url, "reopened") == 200
    assert await member.heading() == "Enter your code"
    await enter_code(member, smtp_server.last_code(), "verified")
    assert await member.heading() == "You are verified"


async def test_address_at_another_domain_is_shown_in_the_email_card(
    member: Member, site: Harness, smtp_server: SmtpCapture
) -> None:
    link = await site.link()
    await ask_for_code(member, link, "ann@elsewhere.net", what="wrong domain")
    assert await member.heading() == "E-mail address not accepted here"
    card = member.card(EMAIL_METHOD)
    problem = "Addresses at elsewhere.net cannot be used here. Use an address at example.org."
    assert problem in await card.inner_text()
    assert await member.page.get_by_text(problem).count() == 1  # only in the card
    focused = await member.focused()
    assert focused["id"] == "address" and focused["invalid"] == "true"
    assert focused["described"] == problem
    # the address is there to correct; a malformed one (the browser lets `..` through) is
    # shown the same way
    field = card.get_by_label("Your e-mail address")
    assert await field.input_value() == "ann@elsewhere.net"
    await field.fill("ann..smith@example.org")
    await member.press(EMAIL_METHOD, "malformed address", within=card)
    assert await member.heading() == "E-mail address not recognised"
    focused = await member.focused()
    assert focused["id"] == "address" and focused["invalid"] == "true"
    assert focused["described"] in await card.inner_text()
    assert "does not look like an e-mail address" in focused["described"]
    assert smtp_server.messages == []
    # the link still works
    await field.fill("ann@example.org")
    await member.press(EMAIL_METHOD, "code page", within=card)
    assert await member.heading() == "Enter your code" and len(smtp_server.messages) == 1


async def test_mail_server_refusal_offers_to_send_again(
    member: Member, site: Harness, smtp_server: SmtpCapture
) -> None:
    smtp_server.refuse = True
    await ask_for_code(member, await site.link(), "ann@example.org", what="code not sent")
    assert await member.heading() == "Code not sent"
    focused = await member.focused()
    assert focused["id"] == "address" and focused["invalid"] is None
    assert "could not be sent" in focused["described"]
    # no code is on its way, so there is no code field and no advice to look in the spam folder
    assert await member.page.get_by_label("The 6-digit code from the e-mail").count() == 0
    assert "spam" not in await member.text()
    smtp_server.refuse = False
    await member.press("Send a new code", "code sent")  # the address is still filled in
    assert await member.heading() == "Enter your code"
    await enter_code(member, smtp_server.last_code(), "verified")
    assert await member.heading() == "You are verified"
