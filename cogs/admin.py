"""Admins' policy for unverified members, per community and per channel.

The policy is stored first, then applied natively by the adapter (channel permissions, power
levels, join rules, AutoMod), so it holds even while the bot is down; the bot's own checks in the
filters cog cover what the platform cannot express.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from bot import policy
from bot.actions import ApplyPolicy
from bot.cog import Cog, command
from bot.model import (
    Access,
    ChannelRef,
    CommandContext,
    CommandError,
    CommunityRef,
    MemberRef,
    UnverifiedPolicy,
)
from bot.params import Param
from bot.storage.records import AuditDraft


class Admin(Cog):
    """Community-wide settings only admins may change."""

    async def on_ready(self) -> None:
        """Re-apply every stored or configured policy natively, community first, then channels,
        so a restart (or a permission an admin has since fixed) leaves the platform in line."""
        for adapter in self.core.adapters.values():
            for community in adapter.communities():
                await self.reapply(community)

    async def reapply(self, community: CommunityRef) -> None:
        for action in policy.native_plan(community, await self.core.policy_sources(community)):
            await self.core.execute(action)

    @command(
        "policy",
        help="See or set what unverified members may do here: open, limited, read_only or"
        " verified_only",
        access=Access.ADMIN,
    )
    async def set_policy(
        self,
        ctx: CommandContext,
        channel: Annotated[
            ChannelRef | None,
            Param("a channel or room to set (leave out for the whole community)"),
        ] = None,
        level: Annotated[
            UnverifiedPolicy | None, Param("the policy for unverified members")
        ] = None,
    ) -> None:
        community = ctx.community
        if community is None:
            raise CommandError("Run this inside the community it is about.")
        adapter = self.core.adapter(community.network)
        word = adapter.capabilities.channel_word
        sources = await self.core.policy_sources(community)
        if level is None:
            if channel is not None:
                here = sources.channel_policy([channel.id])
                await ctx.respond(f"{adapter.name_of(channel)}: {here.describe()}.")
                return
            lines = [f"Whole community: {sources.community_policy().describe()}."]
            lines += [
                f"{word.capitalize()} {adapter.name_of(ChannelRef(community, cid))}:"
                f" {p.describe()}."
                for cid, p in sorted(sources.channel_overrides().items())
            ]
            await ctx.respond("\n".join(lines))
            return
        change = await self.change_policy(community, channel, level, by=ctx.member)
        await ctx.respond(change.words())

    async def change_policy(
        self,
        community: CommunityRef,
        channel: ChannelRef | None,
        level: UnverifiedPolicy,
        *,
        by: MemberRef,
    ) -> PolicyChange:
        """Store, audit, then apply natively: the one way a policy changes, for the `policy`
        command and the dashboard alike (each checks first that `by` is an admin there)."""
        adapter = self.core.adapter(community.network)
        word = adapter.capabilities.channel_word
        await self.core.cache.set_policy(
            community,
            channel.id if channel else None,
            level,
            by=by.id,
            at=self.core.clock(),
        )
        place = f"{word} {adapter.name_of(channel)}" if channel else "whole community"
        await self.core.audit.write(
            AuditDraft(
                network=community.network,
                community_id=community.id,
                actor=by.id,
                action="policy_set",
                target=None,
                detail=f"{level.value} for the {place}",
                at=self.core.clock(),
                dry_run=self.core.dry_run,
            )
        )
        native = (
            ApplyPolicy(channel, level)
            if channel is not None
            else policy.community_wide(community, await self.core.policy_sources(community))
        )
        applied = await self.core.execute(native, actor=by)
        return PolicyChange(f"the {place}", level, applied)


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """A policy just set: where (in words), what, and whether the network enforces it yet."""

    where: str
    level: UnverifiedPolicy
    applied: bool

    def words(self) -> str:
        """What the admin is told, in the chat and on the dashboard."""
        if self.applied:
            return f"The policy for {self.where} is now {self.level.describe()}."
        return (
            f"The policy for {self.where} is saved as {self.level.describe()}, but I could not"
            " apply it with the network's own settings just now; the admins' log says why."
            " Until then I enforce it myself."
        )
