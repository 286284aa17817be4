"""Gateway events -> neutral events -> the core, each in the task discord.py gave its event.

The core decides and acts inside `handle_event`, so a message that must go is deleted while its
own event is still being handled: one gateway frame -> one decision -> one DELETE. Before a reply
or reaction is handed over, an author Discord left out is looked up (`authors`); a guild message
already handled (read back after a new session, or arrived live) is not handed over twice; a new
session reads back what it missed (`catch_up`). A member leaving is not handed over: nothing in
verifybot acts on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping

import discord

from bot.adapters.base import AdapterState
from bot.adapters.discord.authors import (
    AuthorLookup,
    AuthorMemory,
    complete_reaction,
    complete_reply,
    needs_reply_author,
)
from bot.adapters.discord.badge import BadgeRole
from bot.adapters.discord.catch_up import CatchUp
from bot.adapters.discord.client import GatewayClient
from bot.adapters.discord.events import community_ref, member_joined, message_posted, reaction_added
from bot.adapters.discord.handover import Handover
from bot.adapters.discord.outbox import LastPlaces
from bot.adapters.discord.supervisor import ClientSupervisor
from bot.model import CommunityAdded

log = logging.getLogger(__name__)


class GatewayIntake:
    """What the gateway delivers, translated and handed over; `ready` is set once every guild
    the session started with is prepared."""

    def __init__(
        self,
        handover: Handover,
        clients: ClientSupervisor[GatewayClient],
        badge: BadgeRole,
        places: LastPlaces,
        state: AdapterState | None,
        metrics: MutableMapping[str, int],
    ) -> None:
        self._handover = handover
        self._clients = clients
        self._badge = badge
        self._places = places
        self.ready_event = asyncio.Event()
        self.self_id: int | None = None  # the bot's own account, known from READY on
        self._seen = AuthorMemory()  # every guild message that arrived, handled or not
        self._authors = AuthorLookup(metrics, self._seen)
        self.catch_up = CatchUp(state, metrics, self.message)

    # --- sessions -----------------------------------------------------------------------------

    def session_started(self) -> None:
        self.catch_up.session_started()

    async def ready(self, client: GatewayClient) -> None:
        await self._handover.guard("ready", self._on_ready(client))

    async def _on_ready(self, client: GatewayClient) -> None:
        self.self_id = client.user.id if client.user else None
        for guild in client.guilds:
            await self._handover.guard(f"preparing {guild.id}", self._badge.prepare(guild))
        self.ready_event.set()
        log.info("Discord ready as %s in %d guild(s)", client.user, len(client.guilds))
        self.catch_up.begin(client)

    async def guild_join(self, guild: discord.Guild) -> None:
        await self._handover.guard("guild join", self._on_guild_join(guild))

    async def _on_guild_join(self, guild: discord.Guild) -> None:
        await self._badge.prepare(guild)
        await self._handover.push(CommunityAdded(community_ref(guild.id)))

    # --- members' activity --------------------------------------------------------------------

    async def message(self, message: discord.Message) -> None:
        """A message, live or read back after a new session (`Handover.guard`, inlined: every
        message passes here)."""
        handover = self._handover
        handover.enter()
        try:
            await self._on_message(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            handover.failed("message")
        finally:
            handover.leave()

    async def _on_message(self, message: discord.Message) -> None:
        guild = message.guild
        channel_id = message.channel.id
        author_id = message.author.id  # a Member's id is a property: read once
        if guild is not None:
            if not self._seen.remember(message.id, author_id):
                return  # handled already: read back after a new session, or arrived live
            self.catch_up.note(channel_id, message.id)
        event = message_posted(message, self.self_id)
        if event is None or event.sender.is_self:
            return
        self._places.note(author_id, guild, channel_id)
        if needs_reply_author(event, message):
            client = self._clients.client
            http = client.http if client is not None else None
            event = await complete_reply(event, message, self._authors, http)
        handover = self._handover  # `Handover.push`, inlined
        sink = handover.sink
        if sink is not None:
            handover.metrics["events"] += 1
            await sink.handle_event(handover.adapter, event)

    async def reaction(self, payload: discord.RawReactionActionEvent) -> None:
        await self._handover.guard("reaction", self._on_reaction(payload))

    async def _on_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        event = reaction_added(payload, self.self_id)
        if event is None or event.sender.is_self:
            return
        client = self._clients.require()
        guild = client.get_guild(payload.guild_id or 0)
        self._places.note(payload.user_id, guild, payload.channel_id)
        await self._handover.push(
            await complete_reaction(event, payload, self._authors, client.http)
        )

    async def member_join(self, member: discord.Member) -> None:
        """A member arrived; one still in membership screening arrives, for verifybot, when
        they pass it (`member_update`): until then no role may be given."""
        if member.id != self.self_id and not member.pending:
            await self._handover.guard("member join", self._handover.push(member_joined(member)))

    async def member_update(self, before: discord.Member, after: discord.Member) -> None:
        if before.pending and not after.pending:
            await self.member_join(after)
