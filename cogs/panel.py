"""The verification panel: one standing message an admin posts where members will see it.

It says what verification is and what is kept, and offers each member, privately: Verify (their
own link, as `verify` gives it), My filter (off, replies or all) and Held for me. On Discord
these are buttons and a select that keep working after a restart (their custom ids name the
command); on Matrix, the commands to send.
"""

from __future__ import annotations

from typing import Annotated

from bot.actions import PostToChannel
from bot.cog import Cog, command
from bot.messages import verification_panel
from bot.model import Access, ChannelRef, Choice, CommandContext, CommandError, FilterLevel
from bot.params import Param

FILTER = "My filter"
CHOICES = (
    Choice("Verify", "verify", stays=True),
    Choice("Held for me", "held", stays=True),
    *(
        Choice(level.value, "filter", (level.value,), stays=True, group=FILTER)
        for level in (FilterLevel.OFF, FilterLevel.REPLIES, FilterLevel.ALL)
    ),
)


class Panel(Cog):
    @command(
        "panel",
        help="Post the verification panel (verify, my filter, held for me) in a channel",
        access=Access.ADMIN,
    )
    async def panel(
        self,
        ctx: CommandContext,
        channel: Annotated[
            ChannelRef | None, Param("the channel or room to post it in (leave out: this one)")
        ] = None,
    ) -> None:
        community = ctx.community
        where = channel or ctx.invocation.channel
        if community is None or where is None:
            raise CommandError(
                "Run this in the community, in the channel for the panel or naming it."
            )
        adapter = self.core.adapter(community.network)
        name = adapter.name_of(where)
        text = verification_panel(adapter.name_of(community))
        if not await self.core.execute(PostToChannel(where, text, CHOICES), actor=ctx.member):
            raise CommandError(f"I could not post in {name}: check that I may send messages there.")
        await ctx.respond(f"The verification panel is posted in {name}.")
