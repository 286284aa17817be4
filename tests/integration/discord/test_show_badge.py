"""“Show badge” on a member's own menu: whether they are verified here, never how, answered only
to whoever asked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.storage.records import VerificationRecord
from tests.fixtures.discord_fake import BotFactory, DiscordWorld

pytestmark = pytest.mark.discord_fake


async def test_show_badge_says_verified_or_not_and_never_how(
    discord_world: DiscordWorld, discord_bot_with: BotFactory
) -> None:
    w = discord_world
    bot = await discord_bot_with()
    published = [c for c in w.world.guild_commands[w.guild.id] if c.get("type") == 2]
    assert [(c["name"], c["default_member_permissions"]) for c in published] == [
        ("Show badge", None)
    ]
    verified = VerificationRecord(
        "discord", str(w.bob.id), "moderator", "reviewed", "h" * 64, datetime.now(UTC)
    )
    await bot.core.cache.save_verification(verified)

    asked = await w.fake.push_user_command(w.guild, w.general, w.alice, "Show badge", w.bob)
    await w.fake.wait_until(lambda: asked.answers, what="an answer")
    answer = asked.answers[0]
    assert answer["ephemeral"] and answer["content"] == f"<@{w.bob.id}> is verified here."

    other = await w.fake.push_user_command(w.guild, w.general, w.alice, "Show badge", w.mallory)
    await w.fake.wait_until(lambda: other.answers, what="an answer")
    assert other.answers[0]["content"] == f"<@{w.mallory.id}> is not verified here."
