"""Telling a server's admins what they must fix: in its log channel, else by DM to the owner.

A missing permission would otherwise become one message per deletion, so the same notice goes
out at most once an hour per server; a caveat worth saying only once ever (`tell_once`) is
remembered in the adapter's durable state. The adapter's own notices are logged too, in full
(they name servers and channels, never members); one the core sends (`notify_admins`: a report,
a refused second account) may name or quote members, so only that it was sent is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence

import discord

from bot.adapters.base import AdapterError, AdapterState
from bot.adapters.discord.buttons import typed_choices
from bot.adapters.discord.client import GatewayClient
from bot.adapters.discord.events import community_ref, member_ref, parse_channel_id
from bot.adapters.discord.outbox import send_with_choices
from bot.adapters.discord.supervisor import ClientSupervisor
from bot.config import Config
from bot.model import Choice, CommunityRef, MemberRef

log = logging.getLogger(__name__)

REPEAT_SECONDS = 3600.0  # the same admin notice at most once an hour

SendDirect = Callable[[MemberRef, str], Awaitable[None]]


class AdminNotices:
    """The admins' channel to the bot: deduplicated notices, and caveats said once."""

    def __init__(
        self,
        clients: ClientSupervisor[GatewayClient],
        config: Config,
        state: AdapterState | None,
        metrics: MutableMapping[str, int],
        send_direct: SendDirect,
    ) -> None:
        self._clients = clients
        self._config = config
        self._state = state
        self.metrics = metrics
        self._send_direct = send_direct
        self._told: dict[tuple[int, str, tuple[Choice, ...]], float] = {}  # -> when
        self._told_once: set[str] = set()

    async def notify(
        self,
        community: CommunityRef,
        text: str,
        choices: Sequence[Choice] = (),
        *,
        log_text: bool = True,
    ) -> None:
        """The community's log channel (`choices` as buttons); else a DM to the owner (the
        choices written as commands to run in the server); always the log (the text itself
        only when `log_text`: the adapter's own words). Deduplicated."""
        guild = self._clients.guild(community)
        now = time.monotonic()
        key = (guild.id, text, tuple(choices))
        if now - self._told.get(key, -REPEAT_SECONDS) < REPEAT_SECONDS:
            return
        self._told[key] = now
        self.metrics["admin_notices"] += 1
        if log_text:
            log.warning("for the admins of %s (%s): %s", guild.name, guild.id, text)
        else:
            log.info(
                "a notice for the admins of %s (%s), %d characters", guild.name, guild.id, len(text)
            )
        channel = self._log_channel(guild)
        if channel is not None:
            try:
                await send_with_choices(channel, text, choices)
                return
            except discord.HTTPException as exc:
                log.warning("cannot post in the log channel of %s: %s", guild.id, exc)
        if guild.owner_id is not None:
            direct = typed_choices(f"[{guild.name}] {text}", choices)
            try:
                await self._send_direct(member_ref(guild.owner_id), direct)
            except AdapterError as exc:
                log.warning("cannot tell the owner of %s either: %s", guild.id, exc)

    async def refusal(self, guild: discord.Guild, text: str) -> AdapterError:
        """Tell the admins why something cannot be done; the error for the caller to raise."""
        await self.notify(community_ref(guild.id), text)
        return AdapterError(text)

    async def tell_once(self, guild: discord.Guild, topic: str, text: str) -> None:
        """A caveat the admins need to hear once, not at every start or every try."""
        key = f"told:{topic}:{guild.id}"
        if key in self._told_once or (self._state is not None and await self._state.get(key)):
            return
        self._told_once.add(key)
        await self.notify(community_ref(guild.id), text)
        if self._state is not None:
            await self._state.set(key, "1")

    def _log_channel(self, guild: discord.Guild) -> discord.abc.Messageable | None:
        """The configured `log_channel`, by id or mention, else by name; None if not found."""
        own = self._config.community("discord", str(guild.id))
        if own is None or not own.log_channel:
            return None
        wanted = own.log_channel.strip()
        channel_id = parse_channel_id(wanted)
        found = guild.get_channel_or_thread(channel_id) if channel_id is not None else None
        if found is None:
            found = discord.utils.get(guild.text_channels, name=wanted.lstrip("#"))
        return found if isinstance(found, discord.abc.Messageable) else None
