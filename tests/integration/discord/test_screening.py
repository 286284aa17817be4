"""Membership screening: a member who has not yet accepted the server's rules (`pending`) is not
given the Verified badge — a role would let them past the screening — and gets it as soon as
they pass it; a returning verified member too."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.badges import Badges
from cogs.help import Help
from tests.fixtures.discord_fake import BotFactory, DiscordBot, DiscordWorld

pytestmark = pytest.mark.discord_fake


async def test_a_returning_verified_member_gets_the_badge_once_screening_is_passed(
    discord_world: DiscordWorld, discord_bot_with: BotFactory, store: Store
) -> None:
    w = discord_world
    await store.save_verification(  # verified before; the start's badge check gives the badge
        VerificationRecord(
            "discord", str(w.bob.id), "moderator", "reviewed", "h" * 64, datetime.now(UTC)
        )
    )
    await discord_bot_with([Help, Badges])
    badge = w.role_named("Verified")
    assert badge is not None
    await w.fake.wait_until(lambda: badge.id in w.member_role_ids(w.bob), what="the badge")
    await w.fake.push_member_leave(w.guild, w.bob)

    await w.fake.push_member_join(w.guild, w.bob, pending=True)
    await asyncio.sleep(0.3)  # what the bot would do on the join, it has had time to do
    assert badge.id not in w.member_role_ids(w.bob)

    await w.fake.push_screening_passed(w.guild, w.bob)
    await w.fake.wait_until(lambda: badge.id in w.member_role_ids(w.bob), what="the badge")


async def test_verifying_while_pending_shows_the_badge_after_screening(
    discord_bot: DiscordBot,
) -> None:
    w = discord_bot.w
    newcomer = w.world.add_user("newcomer")
    await w.fake.push_member_join(w.guild, newcomer, pending=True)
    badge = w.role_named("Verified")
    assert badge is not None

    await discord_bot.verify(newcomer)
    assert badge.id not in w.member_role_ids(newcomer)

    await w.fake.push_screening_passed(w.guild, newcomer)
    await w.fake.wait_until(lambda: badge.id in w.member_role_ids(newcomer), what="the badge")
