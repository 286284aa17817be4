"""Names and lookups: members and channels as people type them, places as people know them,
and which served servers a member is in. Read from discord.py's cache; no name is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.adapters.discord.client import GatewayClient
from bot.adapters.discord.events import (
    channel_ref,
    community_ref,
    member_ref,
    parse_channel_id,
    parse_member_id,
)
from bot.adapters.discord.supervisor import ClientSupervisor
from bot.config import Config
from bot.model import ChannelRef, CommunityRef, MemberRef


class Directory:
    """Who and where, on the current client."""

    def __init__(self, clients: ClientSupervisor[GatewayClient], config: Config) -> None:
        self._clients = clients
        self._config = config

    def parse_member(self, text: str) -> MemberRef | None:
        user_id = parse_member_id(text)
        return None if user_id is None else member_ref(user_id)

    def parse_channel(self, text: str, community: CommunityRef) -> ChannelRef | None:
        """A channel or thread of this server, by mention or id; None for anything else."""
        channel_id = parse_channel_id(text)
        client = self._clients.client
        if channel_id is None or client is None:
            return None
        guild = client.get_guild(int(community.id))
        if guild is None or guild.get_channel_or_thread(channel_id) is None:
            return None
        return channel_ref(guild.id, channel_id)

    @staticmethod
    def display(member: MemberRef) -> str:
        return f"<@{member.id}>"

    def name_of(self, place: CommunityRef | ChannelRef) -> str:
        """A server's name; a channel as a mention, which Discord shows as its name."""
        if isinstance(place, ChannelRef):
            return f"<#{place.id}>"
        settings = self._config.community("discord", place.id)
        if settings is not None and settings.name:
            return settings.name
        client = self._clients.client
        guild = client.get_guild(int(place.id)) if client is not None else None
        return guild.name if guild is not None else place.id

    def communities(self) -> Sequence[CommunityRef]:
        client = self._clients.client
        return [] if client is None else [community_ref(g.id) for g in client.guilds]

    async def member_communities(self, member: MemberRef) -> Sequence[CommunityRef]:
        """Served servers the member is in: the member cache, else one fetch per server whose
        members are not all loaded yet."""
        user_id = int(member.id)
        found = []
        for guild in self._clients.require().guilds:
            if guild.get_member(user_id) is not None:
                found.append(community_ref(guild.id))
            elif not guild.chunked:  # the cache may simply not know them yet
                try:
                    await guild.fetch_member(user_id)
                except discord.HTTPException:
                    continue
                found.append(community_ref(guild.id))
        return found
