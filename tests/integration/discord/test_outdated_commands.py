"""A member's Discord client can still offer a command the bot no longer registers (clients cache
the list). Using it gets an answer, not discord.py's silent "Ignoring exception in command tree",
and the bot publishes its commands again; and at start a command scope the configuration no
longer uses (global commands once `command_guilds` is set) is emptied."""

from __future__ import annotations

import pytest

from tests.fakes.discord_api.interactions import APPLICATION_COMMAND
from tests.fixtures.discord_fake import BotFactory, DiscordWorld

pytestmark = pytest.mark.discord_fake

GUILD_SYNC = r"/applications/\d+/guilds/\d+/commands"
GLOBAL_SYNC = r"/applications/\d+/commands"


async def test_an_outdated_command_is_answered_and_the_commands_are_published_again(
    discord_world: DiscordWorld, discord_bot_with: BotFactory
) -> None:
    w = discord_world
    await discord_bot_with([])
    synced = len(w.fake.find_requests("PUT", GUILD_SYNC))
    data = {
        "id": str(w.world.snowflake()),
        "name": "oldname",
        "type": 1,
        "guild_id": str(w.guild.id),
        "options": [],
    }
    record = await w.fake.push_interaction(w.guild, w.general, w.alice, APPLICATION_COMMAND, data)
    await w.fake.wait_until(lambda: record.answers, what="an answer")
    answer = record.answers[0]
    assert answer["ephemeral"]
    assert answer["content"] == (
        "This command is outdated; it will refresh shortly. Please try again in a minute."
    )
    await w.fake.wait_for_request("PUT", GUILD_SYNC, count=synced + 1)


async def test_global_commands_left_from_before_are_removed_at_start(
    discord_world: DiscordWorld, discord_bot_with: BotFactory
) -> None:
    w = discord_world
    w.world.global_commands = [{"id": "1", "name": "stale", "type": 1, "description": "old"}]
    await discord_bot_with([])  # configured with command_guilds
    await w.fake.wait_until(lambda: not w.world.global_commands, what="the stale ones gone")
    assert w.fake.find_requests("PUT", GLOBAL_SYNC)[-1].body == []
