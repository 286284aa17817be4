"""Links that cannot be used any more, opened in the browser: each says what is wrong with it in
its title, and what to do."""

from __future__ import annotations

from datetime import timedelta

from tests.browser.member import Member
from tests.integration.verification.harness import BOB, Harness


async def test_link_page_says_when_the_link_expires(member: Member, site: Harness) -> None:
    link = await site.link()
    await member.open(link, "fresh link")
    assert "This link works once and expires in 15 minutes." in await member.text()
    site.clock.offset += timedelta(minutes=14, seconds=10)
    await member.open(link, "link about to expire")
    assert "expires in 1 minute." in await member.text()


async def test_expired_link(member: Member, site: Harness) -> None:
    link = await site.link()
    site.clock.offset += timedelta(minutes=15, seconds=1)
    assert await member.open(link, "expired link") == 410
    assert await member.heading() == "Link expired"
    assert "Run the verify command again for a new one." in await member.text()


async def test_used_link(member: Member, site: Harness) -> None:
    link = await site.link()
    await member.open(link, "link page")
    await member.press("Ask a moderator to review your account", "request sent")
    assert await member.open(link, "link again") == 410
    assert await member.heading() == "Link already used"


async def test_tampered_and_truncated_links(member: Member, site: Harness) -> None:
    link = await site.link()
    body, signature = link.rsplit("/", 1)[1].split(".")
    bobs_body = (await site.link(BOB)).rsplit("/", 1)[1].split(".")[0]
    assert await member.open(f"{site.base_url}/verify/{bobs_body}.{signature}", "tampered") == 400
    assert await member.heading() == "Link not valid"
    assert "Copy the whole link" in await member.text()
    # a chat client that cut the link at the dot: a page in words, not "404: Not Found"
    assert await member.open(f"{site.base_url}/verify/{body}", "cut short") == 404
    assert await member.heading() == "Page not found"
    assert "copy all of it" in await member.text()
