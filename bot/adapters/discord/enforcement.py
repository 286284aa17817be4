"""Admin policy and member filters with Discord's own tools, which hold while the bot is down.

`read_only` and `verified_only` become channel overwrites (`overwrites`); `limited`, set for a
whole server, becomes AutoMod rules for links and mass mentions (`automod`); the mentions of
members who filter unverified accounts are blocked before delivery by AutoMod keyword rules
(pre-send protection). Which channels a community-wide policy leaves alone is not decided here:
the policy engine names them (`keep`, from `policy.community_wide`). Permissions are read from
discord.py's cache first, so what the bot may not do becomes one admin notice with the fix.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.adapters.base import AdapterError
from bot.adapters.discord import automod, overwrites
from bot.adapters.discord.admin_notices import AdminNotices
from bot.adapters.discord.badge import BadgeRole
from bot.adapters.discord.client import GatewayClient
from bot.adapters.discord.failures import failure_text
from bot.adapters.discord.fixes import (
    LIMITED_PURPOSE,
    MENTIONS_PURPOSE,
    lacks_manage_permissions,
    lacks_manage_server,
)
from bot.adapters.discord.staff import staff_roles
from bot.adapters.discord.supervisor import ClientSupervisor
from bot.config import Config, DiscordSettings
from bot.model import ChannelRef, CommunityRef, MemberRef, UnverifiedPolicy

log = logging.getLogger(__name__)

VERIFY_HINT = "Run /verify to verify."  # the end of every AutoMod block message
OVERWRITE_POLICIES = (UnverifiedPolicy.READ_ONLY, UnverifiedPolicy.VERIFIED_ONLY)


@dataclass(frozen=True, slots=True)
class MemberProtection:
    """Result of `protect_members`: who AutoMod shields before delivery, who relies on deletion."""

    protected: tuple[MemberRef, ...]
    unprotected: tuple[MemberRef, ...]


class NativeEnforcement:
    """Writes policies and protections into a guild's overwrites and AutoMod rules."""

    def __init__(
        self,
        clients: ClientSupervisor[GatewayClient],
        settings: DiscordSettings,
        config: Config,
        badge: BadgeRole,
        admins: AdminNotices,
    ) -> None:
        self._clients = clients
        self._settings = settings
        self._config = config
        self._badge = badge
        self._admins = admins
        self._protecting: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        # what the core last asked for, per guild: the community-wide policy with the channels it
        # leaves alone, and each channel's own (the core sets them all at start: `native_plan`)
        self._wide: dict[int, tuple[UnverifiedPolicy, frozenset[int]]] = {}
        self._own: defaultdict[int, dict[int, UnverifiedPolicy]] = defaultdict(dict)

    async def apply_policy(
        self,
        scope: CommunityRef | ChannelRef,
        policy: UnverifiedPolicy,
        keep: frozenset[str] = frozenset(),
    ) -> None:
        """read_only / verified_only as channel overwrites; limited as AutoMod rules.

        A community-wide policy leaves the channels in `keep` (their own policy wins; the policy
        engine decides which) as they are.
        """
        community = scope if isinstance(scope, CommunityRef) else scope.community
        guild = self._clients.guild(community)
        self._remember(guild, scope, policy, keep)
        if isinstance(scope, ChannelRef):
            channels = [self._policy_channel(guild, scope)]
        else:
            channels = overwrites.policy_channels(guild, {int(c) for c in keep if c.isdigit()})
        badge = await self._badge.role(guild)
        reason = f"verifybot: {policy.value} policy for unverified members"
        refused: list[discord.abc.GuildChannel] = []
        try:
            for channel in channels:
                if not channel.permissions_for(guild.me).manage_roles:
                    refused.append(channel)
                    continue
                try:
                    await overwrites.apply_channel_policy(channel, policy, badge, reason=reason)
                except discord.Forbidden:
                    refused.append(channel)
            if isinstance(scope, CommunityRef):
                await self._sync_limited(
                    guild, badge, on=policy is UnverifiedPolicy.LIMITED, reason=reason
                )
        except discord.HTTPException as exc:  # an outage or rate limit, not a permission
            text = failure_text(exc, f"apply the {policy.value} policy everywhere")
            raise await self._admins.refusal(guild, f"{text} Run /policy again then.") from exc
        if refused:
            doing = f"I could not apply the {policy.value} policy to"
            text = lacks_manage_permissions(doing, refused, guild.me.top_role.name)
            raise await self._admins.refusal(guild, f"{text}, then run /policy again.")

    def _remember(
        self,
        guild: discord.Guild,
        scope: CommunityRef | ChannelRef,
        policy: UnverifiedPolicy,
        keep: frozenset[str],
    ) -> None:
        """Note what is asked for before trying, so what could not be done stays known."""
        if isinstance(scope, ChannelRef):
            if scope.id.isdigit():
                self._own[guild.id][int(scope.id)] = policy
        else:
            self._wide[guild.id] = (policy, frozenset(int(c) for c in keep if c.isdigit()))

    def in_force(self, guild: discord.Guild) -> dict[int, UnverifiedPolicy]:
        """Channel id -> the policy written in its overwrites (read_only or verified_only), as
        last asked for: the community-wide one where no channel policy of its own wins."""
        found: dict[int, UnverifiedPolicy] = {}
        wide = self._wide.get(guild.id)
        if wide is not None and wide[0] in OVERWRITE_POLICIES:
            found = {c.id: wide[0] for c in overwrites.policy_channels(guild, set(wide[1]))}
        for channel_id, policy in self._own[guild.id].items():
            found.pop(channel_id, None)
            if policy in OVERWRITE_POLICIES:
                found[channel_id] = policy
        return found

    def limited_in_force(self, guild: discord.Guild) -> bool:
        """Whether `limited` is the community-wide policy (its AutoMod rules need Manage
        Server)."""
        wide = self._wide.get(guild.id)
        return wide is not None and wide[0] is UnverifiedPolicy.LIMITED

    @staticmethod
    def _policy_channel(guild: discord.Guild, scope: ChannelRef) -> discord.abc.GuildChannel:
        """The channel a policy is written on; a thread has no overwrites of its own."""
        single = guild.get_channel(int(scope.id))
        if single is not None:
            return single
        found = guild.get_thread(int(scope.id))
        raise AdapterError(
            "threads follow their parent channel: set the policy on the channel"
            if found is not None
            else f"there is no channel {scope.id} in this server"
        )

    async def _sync_limited(
        self, guild: discord.Guild, badge: discord.Role, *, on: bool, reason: str
    ) -> None:
        if not guild.me.guild_permissions.manage_guild:
            if on:
                await self._admins.tell_once(
                    guild,
                    "automod_permission",
                    lacks_manage_server(LIMITED_PURPOSE, guild.me.top_role.name),
                )
            return
        left_over = await automod.sync_limited_rules(
            guild,
            on=on,
            exempt=[badge, *staff_roles(guild)],
            mention_limit=self._config.defaults.mass_mention_threshold,
            verify_hint=VERIFY_HINT,
            reason=reason,
        )
        if left_over:
            log.info("AutoMod cannot take on %s in %s; the bot enforces it", left_over, guild.id)

    async def protect_members(
        self, community: CommunityRef, members: Sequence[MemberRef]
    ) -> MemberProtection:
        """Block mentions of these (filtered) members before delivery, via AutoMod keyword rules.

        Pass the complete set each time (it replaces the previous one). Senders with the badge,
        moderators and admins are exempt. Members beyond Discord's limits, and every reply
        (AutoMod does not see a reply's ping), still rely on deletion by the filters cog.
        """
        refs = {int(m.id): m for m in members}
        if not self._settings.automod_mention_block:
            return MemberProtection((), tuple(refs.values()))
        guild = self._clients.guild(community)
        if not guild.me.guild_permissions.manage_guild:
            await self._admins.tell_once(
                guild,
                "automod_permission",
                lacks_manage_server(MENTIONS_PURPOSE, guild.me.top_role.name),
            )
            return MemberProtection((), tuple(refs.values()))
        badge = await self._badge.role(guild)
        async with self._protecting[guild.id]:
            try:
                result = await automod.sync_protection(
                    guild,
                    list(refs),
                    exempt=[badge, *staff_roles(guild)],
                    verify_hint=VERIFY_HINT,
                    reason="verifybot: members who filter unverified accounts",
                )
            except discord.HTTPException as exc:
                log.warning(
                    "AutoMod protection in %s failed: %s; relying on deletion", guild.id, exc
                )
                return MemberProtection((), tuple(refs.values()))
        return MemberProtection(
            tuple(refs[i] for i in result.protected), tuple(refs[i] for i in result.unprotected)
        )
