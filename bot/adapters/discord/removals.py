"""Removing a message or a reaction: the hot path's last step, one request and no lookup.

Whether the bot may remove anything in the channel is read from discord.py's cache first, so a
missing Manage Messages becomes one admin notice with the fix instead of a 403 per removal. What
is already gone counts as removed.
"""

from __future__ import annotations

import discord

from bot.adapters.base import AdapterError
from bot.adapters.discord.admin_notices import AdminNotices
from bot.adapters.discord.client import GatewayClient
from bot.adapters.discord.events import reaction_for_url
from bot.adapters.discord.failures import failure_text
from bot.adapters.discord.fixes import lacks_manage_messages
from bot.adapters.discord.supervisor import ClientSupervisor
from bot.model import MemberRef, MessageRef


class Removals:
    """Deletes messages and reactions the core decided must go."""

    def __init__(self, clients: ClientSupervisor[GatewayClient], admins: AdminNotices) -> None:
        self._clients = clients
        self._admins = admins

    async def message(self, message: MessageRef, reason: str) -> None:
        """Delete at once (hot path: one request, no lookup); already gone counts as done."""
        client = self._clients.require()
        guild = await self._require_manage_messages(message, "messages")
        try:
            await client.http.delete_message(
                int(message.channel.id), int(message.id), reason=reason
            )
        except discord.NotFound:
            return
        except discord.Forbidden as exc:
            text = f"Discord refused to remove a message: {exc.text}"
            if guild is not None:
                raise await self._admins.refusal(guild, text) from exc
            raise AdapterError(text) from exc
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, "remove the message")) from exc

    async def reaction(self, message: MessageRef, reactor: MemberRef, emoji: str) -> None:
        """Take one member's reaction off a message; already gone counts as done."""
        client = self._clients.require()
        await self._require_manage_messages(message, "reactions")
        try:
            await client.http.remove_reaction(
                int(message.channel.id), int(message.id), reaction_for_url(emoji), int(reactor.id)
            )
        except discord.NotFound:
            return
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, "remove the reaction")) from exc

    async def _require_manage_messages(
        self, message: MessageRef, what: str
    ) -> discord.Guild | None:
        """Refuse early, telling admins the fix, when the bot cannot remove `what` there."""
        guild = self._clients.require().get_guild(int(message.channel.community.id))
        channel = guild.get_channel_or_thread(int(message.channel.id)) if guild else None
        if (
            guild is not None
            and channel is not None
            and not channel.permissions_for(guild.me).manage_messages
        ):
            raise await self._admins.refusal(
                guild, lacks_manage_messages(what, [channel], guild.me.top_role.name)
            )
        return guild
