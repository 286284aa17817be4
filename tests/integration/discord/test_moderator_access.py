"""Who counts as a moderator on Discord is what the command picker shows moderators' commands
to: Manage Messages. A role that may only time members out (Moderate Members) neither sees
them nor may run them from a button; Manage Messages may."""

from __future__ import annotations

from typing import Annotated

import pytest

from bot.cog import Cog, CoreView, command
from bot.model import Access, ChannelRef, Choice, CommandContext, CommunityRef
from bot.params import Param
from tests.fakes.discord_api import Perm
from tests.fixtures.discord_fake import BotFactory, DiscordWorld

pytestmark = pytest.mark.discord_fake


class Desk(Cog):
    def __init__(self, core: CoreView) -> None:
        super().__init__(core)
        self.closed: list[int] = []

    @command("close", help="Close a case", access=Access.MODERATOR)
    async def close(
        self, ctx: CommandContext, case: Annotated[int, Param("the case's number")]
    ) -> None:
        self.closed.append(case)
        await ctx.respond(f"Case #{case} closed.")


async def test_the_moderator_check_is_the_pickers_own(
    discord_world: DiscordWorld, discord_bot_with: BotFactory
) -> None:
    w = discord_world
    timeouts = w.world.add_role(w.guild, "Timeouts only", Perm.MODERATE_MEMBERS)
    keeper = w.world.add_user("keeper")
    w.world.add_member(w.guild, keeper, (timeouts,))
    bot = await discord_bot_with([Desk])
    published = {c["name"]: c for c in w.world.guild_commands[w.guild.id]}
    assert published["close"]["default_member_permissions"] == str(1 << 13)  # manage_messages

    place = ChannelRef(CommunityRef("discord", str(w.guild.id)), str(w.general.id))
    await bot.adapter.post(place, "Case #3", choices=[Choice("Close", "close", ("3",))])
    (notice,) = w.fake.bot_messages(w.general.id)

    refused = await w.fake.push_click(keeper, notice, "verifybot:close 3")
    await w.fake.wait_until(lambda: refused.answers, what="the bot's answer")
    assert refused.answers[0]["content"] == "Only a moderator can run /close."
    assert bot.core.cog(Desk).closed == []

    done = await w.fake.push_click(w.moderator, notice, "verifybot:close 3")
    await w.fake.wait_until(lambda: done.answers, what="the bot's answer")
    assert done.answers[0]["content"] == "Case #3 closed."
