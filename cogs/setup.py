"""The set-up check: everything the bot needs in a community, and the exact fix for what is
missing, in one message.

The adapter says what stops it (`CommunityFacts.problems`, the same words as its notices and the
dashboard's): on Discord its permissions in every channel members post in, its role above the
Verified role, AutoMod, the log and moderators' channels; on Matrix its power in each room, the
Verified space, rooms it could not join. An admin runs `setup` at any time; at start, a community
with something to fix has it posted to its admins' log channel once.
"""

from __future__ import annotations

import logging

from bot.actions import NotifyAdmins
from bot.adapters.base import CommunityFacts
from bot.cog import Cog, command
from bot.model import Access, CommandContext, CommandError, CommunityRef

log = logging.getLogger(__name__)

CHECKED = (
    "my permissions in every channel or room members post in, the Verified badge, the"
    " platform's own enforcement of your policies, and the log and moderators' channels"
)


class SetupCheck(Cog):
    async def on_ready(self) -> None:
        for adapter in list(self.core.adapters.values()):
            for community in adapter.communities():
                problems = self.problems(community)
                if problems:
                    text = self.report(community, problems, at_start=True)
                    await self.core.execute(NotifyAdmins(community, text))

    def problems(self, community: CommunityRef) -> list[str]:
        adapter = self.core.adapter(community.network)
        return adapter.problems(community) if isinstance(adapter, CommunityFacts) else []

    def report(self, community: CommunityRef, problems: list[str], *, at_start: bool) -> str:
        name = self.core.adapter(community.network).name_of(community)
        when = "At start, the set-up check" if at_start else "The set-up check"
        if not problems:
            return f"{when} of {name} found everything in place (checked: {CHECKED})."
        count = "one thing" if len(problems) == 1 else f"{len(problems)} things"
        return "\n".join([f"{when} of {name} found {count} to fix:", *(f"• {p}" for p in problems)])

    @command(
        "setup",
        help="Check that the bot has everything it needs here, with the fix for what is missing",
        access=Access.ADMIN,
    )
    async def setup(self, ctx: CommandContext) -> None:
        community = ctx.community
        if community is None:
            raise CommandError("Run this in the community you want checked.")
        await ctx.respond(self.report(community, self.problems(community), at_start=False))
