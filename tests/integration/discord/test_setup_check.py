"""/setup: one message naming everything the bot lacks in a server, each with its exact fix —
a channel it cannot post in, its role below the Verified role, a log channel that is not the
server's — and saying so when everything is in place; at start, the admins' log channel gets
the same list when something is missing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.discord_api import Perm
from tests.fakes.discord_api.objects import Overwrite
from tests.fixtures.discord_fake import BotFactory, DiscordWorld
from tests.waiting import wait_until

pytestmark = pytest.mark.discord_fake


async def setup_answer(w: DiscordWorld, user: Any) -> str:
    record = await w.fake.push_command(w.guild, w.general, user, "setup")
    await w.fake.wait_until(lambda: record.answers, what="the answer")
    answer = record.answers[0]
    assert answer["ephemeral"]
    return str(answer["content"])


async def test_setup_names_a_missing_permission_and_a_role_too_low(
    discord_world: DiscordWorld, discord_bot_with: BotFactory
) -> None:
    w = discord_world
    await discord_bot_with()
    assert await setup_answer(w, w.alice) == "Only an admin can run /setup."
    fine = await setup_answer(w, w.admin)
    assert fine.startswith("The set-up check of Loopback Guild found everything in place")

    w.general.overwrites[w.bot_role.id] = Overwrite(w.bot_role.id, 0, deny=Perm.SEND_MESSAGES)
    await w.fake.dispatch("CHANNEL_UPDATE", w.general.payload(), w.guild)
    badge = w.role_named("Verified")
    assert badge is not None
    badge.position, w.bot_role.position = w.bot_role.position, badge.position
    for role in (badge, w.bot_role):
        data = {"guild_id": str(w.guild.id), "role": role.payload()}
        await w.fake.dispatch("GUILD_ROLE_UPDATE", data, w.guild)

    async def both_seen() -> bool:
        return "2 things to fix" in await setup_answer(w, w.admin)

    await wait_until(both_seen, what="both problems")
    report = await setup_answer(w, w.admin)
    lines = report.splitlines()
    assert lines[0] == "The set-up check of Loopback Guild found 2 things to fix:"
    assert any(
        "my highest role, verifybot, is not above it" in line and "drag verifybot above" in line
        for line in lines
    )
    assert any(
        "I cannot post in #general: I lack Send Messages there" in line
        and "turn on Send Messages" in line
        for line in lines
    )


async def test_at_start_a_wrong_log_channel_is_reported_to_the_admins(
    discord_world: DiscordWorld, discord_bot_with: BotFactory
) -> None:
    w = discord_world
    mods = w.world.add_channel(w.guild, "moderators")  # staff only, and the bot left out
    mods.overwrites[w.guild.id] = Overwrite(w.guild.id, 0, deny=Perm.VIEW_CHANNEL)
    mods.overwrites[w.bot_role.id] = Overwrite(w.bot_role.id, 0, deny=Perm.VIEW_CHANNEL)
    await discord_bot_with(community={"moderator_channel": str(mods.id)})

    def posted() -> list[str]:
        return [
            m["content"]
            for m in w.fake.bot_messages(w.log_channel.id)
            if m["content"].startswith("At start, the set-up check")
        ]

    (report,) = await w.fake.wait_until(posted, what="the start's report")
    assert "found one thing to fix" in report
    assert "I cannot post in the moderators' channel, #moderators" in report
    assert "add verifybot and turn on View Channel and Send Messages." in report
