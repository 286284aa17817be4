"""What a server's admins see of it on their dashboard, read from discord.py's cache.

No request reaches Discord: the member count, the roles, the channels and their overwrites are
what the gateway keeps current in the cache, so the page shows the server as it is now and a
permission fixed since disappears from it. The problems are said in the words of the notices the
admins get when something is refused (`badge`, `fixes`), each with its exact fix; channels by
name, as the page is read outside Discord, where a mention would show as a number.
"""

from __future__ import annotations

from collections import defaultdict

import discord

from bot.adapters.discord.badge import BadgeRole, badge_role_problems
from bot.adapters.discord.client import GatewayClient
from bot.adapters.discord.enforcement import NativeEnforcement
from bot.adapters.discord.fixes import (
    LIMITED_PURPOSE,
    MENTIONS_PURPOSE,
    cannot_create_role,
    lacks_manage_messages,
    lacks_manage_permissions,
    lacks_manage_server,
    lacks_send,
    lacks_view,
)
from bot.adapters.discord.staff import role_of
from bot.adapters.discord.supervisor import ClientSupervisor
from bot.config import Config, DiscordSettings
from bot.model import CommunityRef, MemberRef, Role, UnverifiedPolicy

# where members post, so where unverified accounts must be kept in check
POSTING_CHANNELS = (discord.TextChannel, discord.ForumChannel)


def protected_channels(guild: discord.Guild) -> list[discord.abc.GuildChannel]:
    """Channels members can read and post in: text and forum channels @everyone can see.

    A channel hidden from @everyone is the staff's own; it needs no protection from strangers.
    """
    everyone = guild.default_role
    return [
        channel
        for channel in guild.channels
        if isinstance(channel, POSTING_CHANNELS) and channel.permissions_for(everyone).view_channel
    ]


class CommunityFactsReader:
    """`CommunityFacts` for Discord: members, problems and standing from the cache."""

    def __init__(
        self,
        clients: ClientSupervisor[GatewayClient],
        settings: DiscordSettings,
        badge: BadgeRole,
        enforcement: NativeEnforcement,
        config: Config | None = None,
    ) -> None:
        self._clients = clients
        self._settings = settings
        self._config = config
        self._badge = badge
        self._enforcement = enforcement

    def _guild(self, community: CommunityRef) -> discord.Guild | None:
        client = self._clients.client
        if client is None or community.network != "discord" or not community.id.isdigit():
            return None
        return client.get_guild(int(community.id))

    def member_count(self, community: CommunityRef) -> int | None:
        """Discord's own count of the server's members (kept by the gateway), the bot not
        counted; None while the server is not loaded."""
        guild = self._guild(community)
        if guild is None or guild.member_count is None:
            return None
        return max(guild.member_count - 1, 0)

    def role_of(self, community: CommunityRef, member: MemberRef) -> Role | None:
        """Standing from the member's permissions now (`staff.role_of`); someone who left a
        fully loaded server is no longer staff. None when the cache cannot tell."""
        guild = self._guild(community)
        if guild is None or member.network != "discord" or not member.id.isdigit():
            return None
        found = guild.get_member(int(member.id))
        if found is None:
            return Role.MEMBER if guild.chunked else None
        return role_of(found)

    def problems(self, community: CommunityRef) -> list[str]:
        """What stops the bot protecting the server now, each with its fix: the badge role,
        the channels it must see, post and remove in, policies' overwrites, AutoMod."""
        guild = self._guild(community)
        if guild is None:
            return []
        return [
            *self._badge_problems(guild),
            *self._channel_problems(guild),
            *self._automod(guild),
            *self._own_channels(community, guild),
        ]

    def _own_channels(self, community: CommunityRef, guild: discord.Guild) -> list[str]:
        """The log and moderators' channels the configuration names: in this server, and
        somewhere the bot can read and post."""
        own = self._config.community("discord", community.id) if self._config else None
        if own is None:
            return []
        found: list[str] = []
        top = guild.me.top_role.name
        for key, purpose, channel_id in (
            ("log_channel", "the admins' log channel", own.log_channel),
            ("moderator_channel", "the moderators' channel", own.moderator_channel),
        ):
            what = "admins" if key == "log_channel" else "moderators"
            if channel_id is None:
                continue
            channel = guild.get_channel(int(channel_id)) if channel_id.isdigit() else None
            if channel is None:
                found.append(
                    f"{purpose.capitalize()} ({key} = {channel_id}) is not a channel of this"
                    f" server. Fix: set {key} to the id of one of its channels (right-click the"
                    " channel → Copy Channel ID)."
                )
                continue
            allowed = channel.permissions_for(guild.me)
            missing = [
                name
                for name, has in (
                    ("View Channel", allowed.view_channel),
                    ("Send Messages", allowed.send_messages),
                )
                if not has
            ]
            if missing:
                found.append(
                    f"I cannot post in {purpose}, #{channel.name}, so what the {what} must know"
                    f" does not reach them. Fix: edit #{channel.name} → Permissions → add {top}"
                    f" and turn on {' and '.join(missing)}."
                )
        return found

    def _badge_problems(self, guild: discord.Guild) -> list[str]:
        role = self._badge.current(guild)
        if role is not None:
            return badge_role_problems(guild, role)
        if guild.me.guild_permissions.manage_roles:
            return []  # it is created when first needed
        return [cannot_create_role(self._settings.badge_role_name, guild.me.top_role.name)]

    def _channel_problems(self, guild: discord.Guild) -> list[str]:
        me = guild.me
        top = me.top_role.name
        unseen: list[discord.abc.GuildChannel] = []
        mute: list[discord.abc.GuildChannel] = []
        no_removal: list[discord.abc.GuildChannel] = []
        for channel in protected_channels(guild):
            allowed = channel.permissions_for(me)
            if not allowed.view_channel:
                unseen.append(channel)
                continue
            if not allowed.send_messages:
                mute.append(channel)
            if not allowed.manage_messages:
                no_removal.append(channel)
        found: list[str] = []
        if unseen:
            found.append(lacks_view(unseen, top, by_name=True))
        if mute:
            found.append(lacks_send(mute, top, by_name=True))
        if no_removal:
            found.append(lacks_manage_messages("messages", no_removal, top, by_name=True))
        found += self._overwrite_problems(guild)
        return found

    def _overwrite_problems(self, guild: discord.Guild) -> list[str]:
        """Channels whose policy is written in overwrites the bot may not edit there."""
        refused: defaultdict[UnverifiedPolicy, list[discord.abc.GuildChannel]] = defaultdict(list)
        for channel_id, policy in self._enforcement.in_force(guild).items():
            channel = guild.get_channel(channel_id)
            if channel is not None and not channel.permissions_for(guild.me).manage_roles:
                refused[policy].append(channel)
        return [
            lacks_manage_permissions(
                f"I cannot keep the {policy.value} policy in",
                channels,
                guild.me.top_role.name,
                by_name=True,
            )
            + "."
            for policy, channels in sorted(refused.items(), key=lambda item: item[0].value)
        ]

    def _automod(self, guild: discord.Guild) -> list[str]:
        """AutoMod is used for `limited` and for members' filters; it needs Manage Server."""
        if guild.me.guild_permissions.manage_guild:
            return []
        top = guild.me.top_role.name
        found: list[str] = []
        if self._enforcement.limited_in_force(guild):
            found.append(lacks_manage_server(LIMITED_PURPOSE, top))
        if self._settings.automod_mention_block:
            found.append(lacks_manage_server(MENTIONS_PURPOSE, top))
        return found
