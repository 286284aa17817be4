"""Moderator review on Discord as moderators expect it: the request arrives in their channel with
Approve and Deny buttons; Deny asks for the reason in a form; the request then shows who
decided and loses its buttons, so no one decides twice. A member's click decides nothing."""

from __future__ import annotations

from typing import Any

import pytest

from bot.model import CommunityRef, MemberRef
from cogs.verification import Verification
from tests.fakes.discord_api import User, buttons_of
from tests.fixtures.discord_fake import BotFactory, DiscordBot, DiscordWorld

pytestmark = pytest.mark.discord_fake


async def asks_for_review(bot: DiscordBot, user: User) -> None:
    """What the member's link page does when they choose moderator review."""
    service = bot.core.cog(Verification).service
    assert service is not None
    community = CommunityRef("discord", str(bot.w.guild.id))
    url = await service.issue_link(MemberRef("discord", str(user.id)), community)
    await service.start(url.rsplit("/", 1)[-1], "moderator", browser="a-browser")


async def request_notice(w: DiscordWorld, channel_id: int, user: User) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next(
            (
                m
                for m in w.fake.bot_messages(channel_id)
                if "asks to be verified" in m["content"] and str(user.id) in m["content"]
            ),
            None,
        )

    return await w.fake.wait_until(found, what="the review request")  # type: ignore[no-any-return]


async def decided_notice(w: DiscordWorld, notice: dict[str, Any]) -> dict[str, Any]:
    """The request once its buttons are gone (edited after the decision was answered)."""
    message: dict[str, Any] = w.world.messages[int(notice["id"])]
    await w.fake.wait_until(lambda: message["components"] == [], what="the buttons gone")
    return message


async def test_deny_asks_for_the_reason_and_the_request_shows_who_decided(
    discord_world: DiscordWorld, discord_bot_with: BotFactory
) -> None:
    w = discord_world
    mods = w.world.add_channel(w.guild, "moderators")
    bot = await discord_bot_with(community={"moderator_channel": str(mods.id)})
    await asks_for_review(bot, w.alice)
    notice = await request_notice(w, mods.id, w.alice)
    assert buttons_of(notice) == [
        ("Approve", f"verifybot:approve {w.alice.id}"),
        ("Deny", f"verifybot:deny {w.alice.id}"),
    ]

    refused = await w.fake.push_click(w.bob, notice, f"verifybot:approve {w.alice.id}")
    await w.fake.wait_until(lambda: refused.answers, what="an answer")
    assert refused.answers[0]["content"] == "Only a moderator can run /approve."
    assert buttons_of(w.world.messages[int(notice["id"])]), "a refused click decides nothing"

    click = await w.fake.push_click(w.moderator, notice, f"verifybot:deny {w.alice.id}")
    form = await w.fake.wait_until(lambda: click.modal, what="the form")
    assert form["title"] == "Deny"
    sent = await w.fake.push_modal_submit(click, w.moderator, text="the account is too new")
    await w.fake.wait_until(lambda: sent.answers, what="an answer")

    decided = await decided_notice(w, notice)
    assert decided["content"].endswith(f"\nDeny — by <@{w.moderator.id}>")
    told = await w.fake.wait_until(
        lambda: [m for m in w.fake.dm_messages(w.alice) if "declined" in m["content"]],
        what="alice told",
    )
    assert (
        "A moderator declined your verification request: the account is too new."
        in (told[-1]["content"])
    )


async def test_approve_verifies_and_marks_the_request(
    discord_world: DiscordWorld, discord_bot_with: BotFactory
) -> None:
    w = discord_world
    mods = w.world.add_channel(w.guild, "moderators")
    bot = await discord_bot_with(community={"moderator_channel": str(mods.id)})
    await asks_for_review(bot, w.bob)
    notice = await request_notice(w, mods.id, w.bob)

    click = await w.fake.push_click(w.moderator, notice, f"verifybot:approve {w.bob.id}")
    await w.fake.wait_until(lambda: click.answers, what="an answer")
    badge = w.role_named("Verified")
    assert badge is not None
    await w.fake.wait_until(lambda: badge.id in w.member_role_ids(w.bob), what="the badge")
    decided = await decided_notice(w, notice)
    assert decided["content"].endswith(f"\nApprove — by <@{w.moderator.id}>")
