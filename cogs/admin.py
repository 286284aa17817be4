"""Admins' policy for unverified members, per community and per channel.

The policy is stored first, then applied natively by the adapter (channel permissions, power
levels, join rules, AutoMod), so it holds even while the bot is down; the bot's own checks in the
filters cog cover what the platform cannot express.
"""

from __future__ import annotations

from bot.actions import ApplyPolicy
from bot.cog import Cog, command
from bot.model import (
    Access,
    ChannelRef,
    CommandContext,
    CommandError,
    CommunityRef,
    ParamKind,
    ParamSpec,
    UnverifiedPolicy,
)

POLICY_CHOICES = tuple(p.value for p in UnverifiedPolicy)


class Admin(Cog):
    """Community-wide settings only admins may change."""

    async def on_ready(self) -> None:
        """Re-apply every stored or configured policy natively, community first, then channels,
        so a restart (or a permission an admin has since fixed) leaves the platform in line."""
        for adapter in self.core.adapters.values():
            for community in adapter.communities():
                await self.reapply(community)

    async def reapply(self, community: CommunityRef) -> None:
        stored = await self.core.cache.policies(community)
        own = self.core.config.community(community.network, community.id)
        community_policy = stored.community or (own.policy if own is not None else None)
        channels = dict(own.channels) if own is not None else {}
        channels.update(stored.channels)
        if community_policy is not None:
            await self.core.execute(ApplyPolicy(community, community_policy))
        for channel_id, channel_policy in sorted(channels.items()):
            await self.core.execute(ApplyPolicy(ChannelRef(community, channel_id), channel_policy))

    @command(
        "policy",
        help="Set what unverified members may do here: open, limited, read_only or verified_only",
        params=(
            ParamSpec(
                "channel",
                ParamKind.CHANNEL,
                "a channel or room to set (leave out for the whole community)",
                required=False,
            ),
            ParamSpec(
                "level",
                ParamKind.CHOICE,
                "the policy for unverified members",
                required=False,
                choices=POLICY_CHOICES,
            ),
        ),
        access=Access.ADMIN,
    )
    async def set_policy(
        self, ctx: CommandContext, channel: ChannelRef | None = None, level: str | None = None
    ) -> None:
        community = ctx.community
        if community is None:
            raise CommandError("Run this inside the community it is about.")
        policies = await self.core.cache.policies(community)
        if level is None:
            own = policies.community or self.core.config.defaults.policy
            lines = [f"Community policy: {own.describe()}."]
            lines += [
                f"Channel {cid}: {p.describe()}." for cid, p in sorted(policies.channels.items())
            ]
            await self.core.respond(ctx, "\n".join(lines))
            return
        chosen = UnverifiedPolicy(level)
        await self.core.cache.set_policy(
            community,
            channel.id if channel else None,
            chosen,
            by=ctx.member.id,
            at=self.core.clock(),
        )
        scope = channel if channel is not None else community
        applied = await self.core.execute(ApplyPolicy(scope, chosen), actor=ctx.member)
        where = f"channel {channel.id}" if channel else "this community"
        if applied:
            await self.core.respond(ctx, f"Policy for {where} is now {chosen.describe()}.")
        else:
            await self.core.respond(
                ctx,
                f"Policy for {where} is stored as {chosen.describe()}, but I could not apply it"
                " natively; the admins' log says what permission I am missing. Until then I"
                " enforce it myself.",
            )
