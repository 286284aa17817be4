"""discord.py's Client as verifybot runs it: the events it asks for, each one handed to the intake.

No message cache (`max_messages=None`): a reply carries its target and a reaction its message's
author, and what Discord leaves out is looked up (`authors`). Every dispatch parser is guarded
(`gateway_guard`), so an unreadable event costs that event, not the session; every response is
counted (`failures.counting_trace`); nothing the bot sends pings anyone unless it says so.
With `discord.shard_count` the same client runs the configured shards (`ShardedGatewayClient`,
discord.py's AutoShardedClient): one connection per shard, one cache of their guilds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.adapters.discord.answers import NO_PINGS
from bot.adapters.discord.failures import counting_trace
from bot.adapters.discord.gateway_guard import BadEvents, guard_parsers
from bot.adapters.discord.shards import ShardPlan
from bot.adapters.discord.tree import AnsweringTree

log = logging.getLogger(__name__)


class GatewayHandlers(Protocol):
    """Where the client hands each event (the adapter's `intake.GatewayIntake`)."""

    def session_started(self) -> None: ...

    async def ready(self, client: GatewayClient) -> None: ...

    async def message(self, message: discord.Message) -> None: ...

    async def reaction(self, payload: discord.RawReactionActionEvent) -> None: ...

    async def member_join(self, member: discord.Member) -> None: ...

    async def member_update(self, before: discord.Member, after: discord.Member) -> None: ...

    async def guild_join(self, guild: discord.Guild) -> None: ...


def verifybot_intents() -> discord.Intents:
    """Guilds, members (privileged), messages with content (privileged), reactions."""
    intents = discord.Intents.none()
    intents.guilds = intents.members = intents.messages = True
    intents.message_content = intents.reactions = True
    return intents


class GatewayClient(discord.Client):
    """A discord.Client whose every event goes to the adapter's intake."""

    def __init__(
        self,
        intake: GatewayHandlers,
        *,
        fill_tree: Callable[[GatewayClient], None],
        on_component: Callable[[discord.Interaction], Awaitable[None]],
        on_outdated_command: Callable[[], None],
        on_request: Callable[[], None] | None = None,
        bad_events: BadEvents,
        metrics: MutableMapping[str, int],
        guild_ready_timeout: float,
        **sharding: Any,  # shard_count and shard_ids, for `ShardedGatewayClient`
    ) -> None:
        super().__init__(
            intents=verifybot_intents(),
            guild_ready_timeout=guild_ready_timeout,
            max_messages=None,
            allowed_mentions=NO_PINGS,
            http_trace=counting_trace(metrics, on_request),
            **sharding,
        )
        self.intake = intake
        self.metrics = metrics
        self._fill_tree = fill_tree
        self._on_component = on_component
        self.tree: app_commands.CommandTree[Any] = AnsweringTree(self, on_outdated_command)
        guard_parsers(self, bad_events)

    async def setup_hook(self) -> None:  # a restarted client gets the commands again
        self._fill_tree(self)

    async def on_connect(self) -> None:  # READY was read: a new session, nothing after it yet
        self.intake.session_started()

    async def on_ready(self) -> None:
        await self.intake.ready(self)

    async def on_message(self, message: discord.Message) -> None:
        await self.intake.message(message)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.intake.reaction(payload)

    async def on_member_join(self, member: discord.Member) -> None:
        await self.intake.member_join(member)

    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        await self.intake.member_update(before, after)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.intake.guild_join(guild)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Buttons, selects and forms (`components`); the tree takes slash commands itself."""
        await self._on_component(interaction)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        self.metrics["handler_errors"] += 1
        log.exception("discord event %s failed; carrying on", event_method)


class ShardedGatewayClient(GatewayClient, discord.AutoShardedClient):
    """The gateway client on a set of shards; Discord sends it only their guilds' events."""

    def __init__(self, intake: GatewayHandlers, plan: ShardPlan, **options: Any) -> None:
        super().__init__(intake, shard_count=plan.count, shard_ids=list(plan.ids), **options)
        self.plan = plan
        self._was_ready = False

    async def on_ready(self) -> None:  # every shard's guilds are loaded
        self._was_ready = True
        await self.intake.ready(self)

    async def on_shard_ready(self, shard_id: int) -> None:
        """discord.py says `ready` once for all shards; one shard's later new session must still
        read back what it missed (the intake's `ready` is safe to repeat)."""
        if self._was_ready:
            await self.intake.ready(self)


def gateway_client(
    intake: GatewayHandlers, plan: ShardPlan | None, **options: Any
) -> GatewayClient:
    """A plain client (every guild on one connection) or one on the planned shards."""
    if plan is None:
        return GatewayClient(intake, **options)
    return ShardedGatewayClient(intake, plan, **options)
