"""The Discord adapter: discord.py on one side, verifybot's neutral events and actions on the other.

Shape of the thing:
* a supervised `discord.Client` (`supervisor`: a new one, with a log line, if it ever dies);
  an event payload it cannot parse is skipped instead (`gateway_guard`): the session carries on;
* gateway events -> neutral events -> `EventSink`, awaited in the same task, so a message that
  must go is deleted while its own event is being handled; a reply's or reaction's author that
  Discord left out is looked up first (`authors`), and a fresh session reads back what it missed
  (`catch_up`);
* actions are checked against discord.py's cache first (permissions, role hierarchy), so a
  missing permission becomes one admin notice instead of a storm of 403s;
* no exception escapes into discord.py's event loop: handlers log, count and carry on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from bot.adapters.base import AdapterError, Capabilities, EventSink
from bot.adapters.discord import answers, native
from bot.adapters.discord.answers import MESSAGE_LIMIT, NO_PINGS, chunks
from bot.adapters.discord.authors import (
    AuthorLookup,
    AuthorMemory,
    complete_reaction,
    complete_reply,
)
from bot.adapters.discord.catch_up import CatchUp
from bot.adapters.discord.commands import build_command, invocation_from
from bot.adapters.discord.events import (
    channel_ref,
    community_ref,
    member_joined,
    member_ref,
    message_posted,
    parse_channel_id,
    parse_member_id,
    reaction_added,
    reaction_for_url,
)
from bot.adapters.discord.failures import counting_trace, failure_text
from bot.adapters.discord.gateway_guard import BadEvents, guard_parsers
from bot.adapters.discord.supervisor import ClientSupervisor
from bot.config import Config, ConfigError, DiscordSettings
from bot.model import (
    ChannelRef,
    CommandInvocation,
    CommandSpec,
    CommunityAdded,
    CommunityRef,
    Event,
    MemberRef,
    MessageRef,
    Network,
    UnverifiedPolicy,
)

log = logging.getLogger(__name__)

READY_TIMEOUT = 120.0  # chunking a large guild's members at start takes a while
DEFER_AFTER = 2.0  # Discord drops an interaction that is not answered within 3 seconds
NOTICE_SECONDS = 30.0  # how long a public "please verify" notice stays up
ADMIN_REPEAT_SECONDS = 3600.0  # the same admin notice at most once an hour
VERIFY_HINT = "Run /verify to verify."


class AdapterState(Protocol):
    """Durable key/value state (the core's StoredAdapterState), for "tell admins once"."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...


@dataclass(frozen=True, slots=True)
class MemberProtection:
    """Result of `protect_members`: who AutoMod shields before delivery, who relies on deletion."""

    protected: tuple[MemberRef, ...]
    unprotected: tuple[MemberRef, ...]


class _Client(discord.Client):
    """discord.py's client with every event handed to the adapter, guarded."""

    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(**options)
        self.adapter = adapter
        self.tree: app_commands.CommandTree[_Client] = app_commands.CommandTree(self)
        guard_parsers(self, adapter._bad_events)

    async def setup_hook(self) -> None:
        self.adapter._fill_tree(self)

    async def on_connect(self) -> None:  # READY was read: a new session, nothing after it yet
        self.adapter._catch_up.session_started()

    async def on_ready(self) -> None:
        await self.adapter._guard("ready", self.adapter._on_ready(self))

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter._handle_message(message)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.adapter._guard("reaction", self.adapter._on_reaction(payload))

    async def on_member_join(self, member: discord.Member) -> None:
        if member.id != self.adapter._self_id:
            await self.adapter._guard("member join", self.adapter._push(member_joined(member)))

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.adapter._guard("guild join", self.adapter._on_guild_join(guild))

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        self.adapter.metrics["handler_errors"] += 1
        log.exception("discord event %s failed; carrying on", event_method)


class DiscordAdapter:
    """verifybot on Discord. Construct with the Discord settings and the whole config."""

    network: Network = "discord"

    def __init__(
        self, settings: DiscordSettings, config: Config, state: AdapterState | None = None
    ) -> None:
        self.settings = settings
        self.config = config
        self.state = state
        self.capabilities = Capabilities(
            ephemeral_replies=True,
            command_prefix="/",
        )
        self.metrics: dict[str, int] = defaultdict(int)  # http_401/403/429/5xx, restarts, ...
        self._runner = ClientSupervisor(self._make_client, self.metrics)
        self._sink: EventSink | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._specs: list[CommandSpec] = []
        self._self_id: int | None = None
        self._badge_ids: dict[int, int] = {}
        self._guild_locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._reply_locks: dict[int, asyncio.Lock] = {}
        self._admin_told: dict[tuple[int, str], float] = {}
        self._told_once: set[str] = set()
        self._last_channel: OrderedDict[int, tuple[int, int]] = OrderedDict()  # member -> place
        self._in_flight = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._bad_events = BadEvents(self.metrics)
        self._seen = AuthorMemory()  # every guild message that arrived, handled or not
        self._authors = AuthorLookup(self.metrics, self._seen)
        self._catch_up = CatchUp(state, self.metrics, self._handle_message)

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def restart_delay(self) -> float:
        """First pause before restarting a dead client; it doubles up to 60 s."""
        return self._runner.restart_delay

    @restart_delay.setter
    def restart_delay(self, seconds: float) -> None:
        self._runner.restart_delay = seconds

    @property
    def _client(self) -> _Client | None:
        return self._runner.client

    async def start(self, sink: EventSink) -> None:
        """Log in and wait (bounded) until every guild is loaded; the client runs on after."""
        self._sink = sink
        self._runner.stopping = False
        self._point_at_api()
        try:
            token = self.settings.token.resolve()
        except ConfigError as exc:
            raise AdapterError(f"discord.token: {'; '.join(exc.problems)}") from None
        await self._catch_up.load()
        self._catch_up.start()
        self._supervisor = asyncio.create_task(self._runner.run(token), name="discord-client")
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait(
            {ready, self._supervisor}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if self._supervisor.done():
                stopped = AdapterError("the Discord client stopped during start-up")
                raise self._runner.fatal or stopped
            await self.stop()
            raise AdapterError(f"Discord did not get ready within {READY_TIMEOUT:.0f} s")

    async def stop(self) -> None:
        """Let handlers in progress finish (what they owe people is written first), then close."""
        self._runner.stopping = True
        await self._catch_up.stop()
        try:
            await asyncio.wait_for(self.drained(), 10)
        except TimeoutError:
            log.warning("stopping with %d Discord handler(s) still running", self._in_flight)
        if self._client is not None:
            await self._client.close()
        if self._supervisor is not None:
            try:
                await asyncio.wait_for(self._supervisor, 10)
            except (TimeoutError, asyncio.CancelledError):
                self._supervisor.cancel()

    def _point_at_api(self) -> None:
        """Tests only: discord.py reads its API and gateway addresses from class attributes."""
        if self.settings.api_base:
            log.warning("Discord API redirected to %s (testing only)", self.settings.api_base)
            discord.http.Route.BASE = self.settings.api_base.rstrip("/")
        if self.settings.gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.gateway_url)

    def _make_client(self) -> _Client:
        intents = discord.Intents.none()
        intents.guilds = intents.members = intents.messages = True
        intents.message_content = intents.reactions = True
        trace = counting_trace(self.metrics)
        return _Client(
            self,
            intents=intents,
            guild_ready_timeout=self.settings.guild_ready_timeout,
            max_messages=None,  # replies carry their target and reactions their author
            allowed_mentions=NO_PINGS,
            http_trace=trace,
        )

    async def _guard(self, what: str, work: Awaitable[Any]) -> None:
        self._in_flight += 1
        self._drained.clear()
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            self.metrics["handler_errors"] += 1
            log.exception("handling Discord %s failed; carrying on", what)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._drained.set()

    def stats(self) -> dict[str, float]:
        """Refusals and outages (http_*), restarts, bad events, errors, catch-up for /metrics."""
        return {name: float(value) for name, value in self.metrics.items()}

    async def drained(self) -> None:
        """Return once no gateway event is being handled and no read-back runs (for a clean
        stop, and for tests)."""
        await self._catch_up.idle()
        await self._drained.wait()

    def _require_client(self) -> _Client:
        if self._client is None or self._client.is_closed():
            raise AdapterError("not connected to Discord")
        return self._client

    # --- gateway events -----------------------------------------------------------------------

    async def _push(self, event: Event) -> None:
        if self._sink is not None:
            self.metrics["events"] += 1
            await self._sink.handle_event(self, event)

    async def _on_ready(self, client: _Client) -> None:
        self._self_id = client.user.id if client.user else None
        for guild in client.guilds:
            await self._guard(f"preparing {guild.id}", self._prepare_guild(guild))
        self._ready.set()
        log.info("Discord ready as %s in %d guild(s)", client.user, len(client.guilds))
        self._catch_up.begin(client)

    async def _handle_message(self, message: discord.Message) -> None:
        await self._guard("message", self._on_message(message))

    async def _on_message(self, message: discord.Message) -> None:
        if message.guild is not None:
            if not self._seen.remember(message.id, message.author.id):
                return  # handled already: read back after a new session, or arrived live
            self._catch_up.note(message.channel.id, message.id)
        event = message_posted(message, self._self_id)
        if event is None or event.sender.is_self:
            return
        self._remember_place(message.author.id, message.guild, message.channel.id)
        http = self._client.http if self._client is not None else None
        await self._push(await complete_reply(event, message, self._authors, http))

    async def _on_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        event = reaction_added(payload, self._self_id)
        if event is None or event.sender.is_self:
            return
        client = self._require_client()
        self._remember_place(
            payload.user_id, client.get_guild(payload.guild_id or 0), payload.channel_id
        )
        await self._push(await complete_reaction(event, payload, self._authors, client.http))

    async def _on_guild_join(self, guild: discord.Guild) -> None:
        await self._prepare_guild(guild)
        await self._push(CommunityAdded(community_ref(guild.id)))

    def _remember_place(self, user_id: int, guild: discord.Guild | None, channel_id: int) -> None:
        """Where a member last spoke, for a public notice when their DMs are closed."""
        if guild is None:
            return
        self._last_channel[user_id] = (guild.id, channel_id)
        self._last_channel.move_to_end(user_id)
        if len(self._last_channel) > 10_000:
            self._last_channel.popitem(last=False)

    async def _prepare_guild(self, guild: discord.Guild) -> None:
        """At start and on join: the badge role exists and can be managed, admins know caveats."""
        try:
            role = await self._badge_role(guild)
        except AdapterError:
            return  # admins were told
        problem = native.badge_role_problem(guild, role)
        if problem is not None:
            await self.notify_admins(community_ref(guild.id), problem)
        note = native.verification_level_note(guild, role.name)
        if note is not None:
            await self._tell_once(guild, "verification_level", note)

    # --- commands -----------------------------------------------------------------------------

    async def register_commands(self, specs: Sequence[CommandSpec]) -> None:
        """Publish slash commands: to `command_guilds` at once if set, else globally (slow)."""
        self._specs = list(specs)
        client = self._require_client()
        self._fill_tree(client)
        targets: list[discord.Object | None] = [
            discord.Object(int(g)) for g in self.settings.command_guilds
        ] or [None]
        for guild in targets:
            try:
                await client.tree.sync(guild=guild)
            except discord.HTTPException as exc:
                log.error(
                    "could not publish slash commands%s: %s. Fix: re-invite the bot with the"
                    " applications.commands scope",
                    f" to guild {guild.id}" if guild else "",
                    exc,
                )
        if self.settings.linked_roles:
            await self._guard("linked roles", self._register_linked_role(client))

    def _fill_tree(self, client: _Client) -> None:
        guilds = [discord.Object(int(g)) for g in self.settings.command_guilds]
        client.tree.clear_commands(guild=None)
        for guild in guilds:
            client.tree.clear_commands(guild=guild)
        for spec in self._specs:
            command = build_command(spec, self._on_command)
            if guilds:
                client.tree.add_command(command, guilds=guilds)
            else:
                client.tree.add_command(command)

    async def _register_linked_role(self, client: _Client) -> None:
        """Role-connection metadata `verified` (boolean), so servers can require the badge.

        One-time setup: Developer Portal → General Information → Linked Roles Verification URL
        set to the bot's web address; then in a server, Roles → a role → Links → add verifybot.
        """
        route = discord.http.Route(
            "PUT",
            "/applications/{application_id}/role-connections/metadata",
            application_id=client.application_id,
        )
        record = {
            "type": 7,
            "key": "verified",
            "name": "Verified",
            "description": "Verified with verifybot",
        }
        await client.http.request(route, json=[record])

    async def _on_command(
        self, spec: CommandSpec, interaction: discord.Interaction, values: dict[str, Any]
    ) -> None:
        """Hand a slash command to the core; defer if the core needs longer than Discord waits."""
        lock = self._reply_locks.setdefault(interaction.id, asyncio.Lock())
        deferral = asyncio.create_task(answers.defer_later(interaction, lock, DEFER_AFTER))
        try:
            await self._guard(f"/{spec.name}", self._hand_over(spec, interaction, values))
        finally:
            deferral.cancel()
            self._reply_locks.pop(interaction.id, None)

    async def _hand_over(
        self, spec: CommandSpec, interaction: discord.Interaction, values: dict[str, Any]
    ) -> None:
        if self._sink is not None:
            await self._sink.handle_command(self, invocation_from(spec, interaction, values))

    # --- answering people ---------------------------------------------------------------------

    async def respond(
        self, invocation: CommandInvocation, text: str, *, private: bool = True
    ) -> None:
        """In place (ephemeral when `private`); by DM only what an expired interaction missed."""
        handle = invocation.reply_handle
        member = invocation.invoker.member
        if not isinstance(handle, discord.Interaction):
            await self.send_direct(member, text)
            return

        async def by_direct_message(parts: Sequence[str]) -> None:
            await self._send_parts(member, parts)

        await answers.answer(
            handle,
            chunks(text),
            private=private,
            lock=self._reply_locks.get(handle.id) or asyncio.Lock(),
            by_direct_message=by_direct_message,
            metrics=self.metrics,
        )

    async def send_direct(self, member: MemberRef, text: str) -> None:
        await self._send_parts(member, chunks(text))

    async def _send_parts(self, member: MemberRef, parts: Sequence[str]) -> None:
        client = self._require_client()
        try:
            channel = await client.create_dm(discord.Object(int(member.id)))
            for part in parts:
                await channel.send(part, allowed_mentions=NO_PINGS)
        except discord.Forbidden as exc:
            raise AdapterError("the member does not accept direct messages from the bot") from exc
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, "send the direct message")) from exc

    async def notify_sender(self, member: MemberRef, channel: ChannelRef | None, text: str) -> None:
        """Tell an unverified sender why they were stopped: by DM, else by a self-deleting notice.

        Only for sender notices: the public fallback must never carry anything private (such as
        a verification link). `channel` defaults to where the member last spoke.
        """
        try:
            await self.send_direct(member, text)
            return
        except AdapterError:
            pass
        place = self._last_channel.get(int(member.id))
        channel_id = int(channel.id) if channel is not None else place[1] if place else None
        if channel_id is None:
            raise AdapterError("the member does not accept direct messages and has not spoken")
        client = self._require_client()
        target = client.get_partial_messageable(channel_id)
        mention = discord.AllowedMentions(users=[discord.Object(int(member.id))])
        try:
            await target.send(
                f"<@{member.id}> {text}"[:MESSAGE_LIMIT],
                allowed_mentions=mention,
                delete_after=NOTICE_SECONDS,
            )
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, "post the notice")) from exc

    async def post(self, channel: ChannelRef, text: str) -> None:
        client = self._require_client()
        target = client.get_partial_messageable(int(channel.id), guild_id=int(channel.community.id))
        try:
            for part in chunks(text):
                await target.send(part, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, f"post in <#{channel.id}>")) from exc

    async def notify_admins(self, community: CommunityRef, text: str) -> None:
        """The community's log channel; else a DM to the owner; always the log. Deduplicated."""
        guild = self._guild(community)
        now = time.monotonic()
        key = (guild.id, text)
        if now - self._admin_told.get(key, -ADMIN_REPEAT_SECONDS) < ADMIN_REPEAT_SECONDS:
            return
        self._admin_told[key] = now
        self.metrics["admin_notices"] += 1
        log.warning("for the admins of %s (%s): %s", guild.name, guild.id, text)
        channel = self._log_channel(guild)
        if channel is not None:
            try:
                await channel.send(text[:MESSAGE_LIMIT], allowed_mentions=NO_PINGS)
                return
            except discord.HTTPException as exc:
                log.warning("cannot post in the log channel of %s: %s", guild.id, exc)
        if guild.owner_id is not None:
            try:
                await self.send_direct(member_ref(guild.owner_id), f"[{guild.name}] {text}")
            except AdapterError as exc:
                log.warning("cannot tell the owner of %s either: %s", guild.id, exc)

    async def _tell_once(self, guild: discord.Guild, topic: str, text: str) -> None:
        key = f"told:{topic}:{guild.id}"
        if key in self._told_once or (self.state is not None and await self.state.get(key)):
            return
        self._told_once.add(key)
        await self.notify_admins(community_ref(guild.id), text)
        if self.state is not None:
            await self.state.set(key, "1")

    def _log_channel(self, guild: discord.Guild) -> discord.abc.Messageable | None:
        own = self.config.community("discord", str(guild.id))
        if own is None or not own.log_channel:
            return None
        wanted = own.log_channel.strip()
        channel_id = parse_channel_id(wanted)
        found = guild.get_channel_or_thread(channel_id) if channel_id is not None else None
        if found is None:
            found = discord.utils.get(guild.text_channels, name=wanted.lstrip("#"))
        return found if isinstance(found, discord.abc.Messageable) else None

    # --- names --------------------------------------------------------------------------------

    def parse_member(self, text: str) -> MemberRef | None:
        user_id = parse_member_id(text)
        return None if user_id is None else member_ref(user_id)

    def parse_channel(self, text: str, community: CommunityRef) -> ChannelRef | None:
        channel_id = parse_channel_id(text)
        if channel_id is None or self._client is None:
            return None
        guild = self._client.get_guild(int(community.id))
        if guild is None or guild.get_channel_or_thread(channel_id) is None:
            return None
        return channel_ref(guild.id, channel_id)

    def display(self, member: MemberRef) -> str:
        return f"<@{member.id}>"

    def name_of(self, place: CommunityRef | ChannelRef) -> str:
        """A server's name; a channel as a mention, which Discord shows as its name."""
        if isinstance(place, ChannelRef):
            return f"<#{place.id}>"
        settings = self.config.community("discord", place.id)
        if settings is not None and settings.name:
            return settings.name
        guild = self._client.get_guild(int(place.id)) if self._client is not None else None
        return guild.name if guild is not None else place.id

    # --- communities and members --------------------------------------------------------------

    def _guild(self, community: CommunityRef) -> discord.Guild:
        guild = self._require_client().get_guild(int(community.id))
        if guild is None:
            raise AdapterError(f"the bot is not in the Discord server {community.id}")
        return guild

    def communities(self) -> Sequence[CommunityRef]:
        if self._client is None:
            return []
        return [community_ref(g.id) for g in self._client.guilds]

    async def member_communities(self, member: MemberRef) -> Sequence[CommunityRef]:
        user_id = int(member.id)
        found = []
        for guild in self._require_client().guilds:
            if guild.get_member(user_id) is not None:
                found.append(community_ref(guild.id))
            elif not guild.chunked:  # the cache may simply not know them yet
                try:
                    await guild.fetch_member(user_id)
                except discord.HTTPException:
                    continue
                found.append(community_ref(guild.id))
        return found

    async def badge_holders(self, community: CommunityRef) -> AsyncIterator[MemberRef]:
        guild = self._guild(community)
        role = native.find_badge_role(
            guild, self.settings.badge_role_name, self._badge_ids.get(guild.id)
        )
        if role is None:
            return
        for holder in role.members:
            yield member_ref(holder.id)

    # --- the badge ----------------------------------------------------------------------------

    async def _badge_role(self, guild: discord.Guild) -> discord.Role:
        """The badge role, created (bottom of the list, no permissions) when missing."""
        name = self.settings.badge_role_name
        async with self._guild_locks[guild.id]:
            role = native.find_badge_role(guild, name, self._badge_ids.get(guild.id))
            if role is None:
                if not guild.me.guild_permissions.manage_roles:
                    problem = (
                        f"I cannot create the {name} role: I lack the Manage Roles permission."
                        f" Fix: Server Settings → Roles → {guild.me.top_role.name} → turn on"
                        f" Manage Roles (or create a role named {name} below mine)."
                    )
                    await self.notify_admins(community_ref(guild.id), problem)
                    raise AdapterError(problem)
                try:
                    role = await guild.create_role(
                        name=name,
                        colour=discord.Colour.from_str(self.settings.badge_role_colour),
                        permissions=discord.Permissions.none(),
                        hoist=False,
                        mentionable=False,
                        reason="verifybot: the badge verified members carry",
                    )
                except discord.HTTPException as exc:
                    raise AdapterError(f"could not create the {name} role: {exc.text}") from exc
                log.info("created the %s role in %s", name, guild.id)
            self._badge_ids[guild.id] = role.id
            return role

    async def set_badge(self, member: MemberRef, community: CommunityRef, on: bool) -> None:
        """Give or take the badge role, after checking (from the cache) that the bot can."""
        guild = self._guild(community)
        role = await self._badge_role(guild)
        problem = native.badge_role_problem(guild, role)
        if problem is not None:
            await self.notify_admins(community, problem)
            raise AdapterError(problem)
        user_id = int(member.id)
        target = guild.get_member(user_id)
        try:
            if target is None:
                target = await guild.fetch_member(user_id)
            has = target.get_role(role.id) is not None
            if on and not has:
                await target.add_roles(role, reason="verifybot: verified")
            elif has and not on:
                await target.remove_roles(role, reason="verifybot: no longer verified")
        except discord.NotFound as exc:
            if on:
                raise AdapterError("the member is not in this server") from exc
        except discord.Forbidden as exc:
            text = f"Discord refused to change the {role.name} role ({exc.text}). " + (
                native.badge_role_problem(guild, role) or "Check that my role is above it."
            )
            await self.notify_admins(community, text)
            raise AdapterError(text) from exc
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, f"change the {role.name} role")) from exc

    # --- removals -----------------------------------------------------------------------------

    async def _cannot(self, guild: discord.Guild, text: str) -> AdapterError:
        await self.notify_admins(community_ref(guild.id), text)
        return AdapterError(text)

    def _where(self, message: MessageRef) -> tuple[discord.Guild | None, Any]:
        client = self._require_client()
        guild = client.get_guild(int(message.channel.community.id))
        channel = guild.get_channel_or_thread(int(message.channel.id)) if guild else None
        return guild, channel

    async def _require_manage_messages(self, message: MessageRef, what: str) -> Any:
        """Refuse early, telling admins the fix, when the bot cannot remove `what` there."""
        guild, channel = self._where(message)
        if (
            guild is not None
            and channel is not None
            and not channel.permissions_for(guild.me).manage_messages
        ):
            raise await self._cannot(
                guild,
                f"I cannot remove {what} in {channel.mention}: I lack Manage Messages there."
                f" Fix: give {guild.me.top_role.name} Manage Messages in that channel.",
            )
        return guild

    async def remove_message(self, message: MessageRef, reason: str) -> None:
        """Delete at once (hot path: one request, no lookup); already gone counts as done."""
        client = self._require_client()
        guild = await self._require_manage_messages(message, "messages")
        try:
            await client.http.delete_message(
                int(message.channel.id), int(message.id), reason=reason
            )
        except discord.NotFound:
            return
        except discord.Forbidden as exc:
            if guild is not None:
                raise await self._cannot(
                    guild, f"Discord refused to remove a message: {exc.text}"
                ) from exc
            raise AdapterError(f"Discord refused to remove a message: {exc.text}") from exc
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, "remove the message")) from exc

    async def remove_reaction(
        self,
        message: MessageRef,
        reactor: MemberRef,
        emoji: str,
        reaction_id: str | None,
        reason: str,
    ) -> None:
        client = self._require_client()
        await self._require_manage_messages(message, "reactions")
        try:
            await client.http.remove_reaction(
                int(message.channel.id), int(message.id), reaction_for_url(emoji), int(reactor.id)
            )
        except discord.NotFound:
            return
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, "remove the reaction")) from exc

    # --- policy -------------------------------------------------------------------------------

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
        guild = self._guild(community)
        channels: list[discord.abc.GuildChannel]
        if isinstance(scope, ChannelRef):
            single = guild.get_channel(int(scope.id))
            if single is None:
                found = guild.get_thread(int(scope.id))
                raise AdapterError(
                    "threads follow their parent channel: set the policy on the channel"
                    if found is not None
                    else f"there is no channel {scope.id} in this server"
                )
            channels = [single]
        else:
            channels = native.policy_channels(guild, {int(c) for c in keep if c.isdigit()})
        badge = await self._badge_role(guild)
        reason = f"verifybot: {policy.value} policy for unverified members"
        refused: list[discord.abc.GuildChannel] = []
        try:
            for channel in channels:
                if not channel.permissions_for(guild.me).manage_roles:
                    refused.append(channel)
                    continue
                try:
                    await native.apply_channel_policy(channel, policy, badge, reason=reason)
                except discord.Forbidden:
                    refused.append(channel)
            if isinstance(scope, CommunityRef):
                await self._sync_limited(
                    guild, badge, on=policy is UnverifiedPolicy.LIMITED, reason=reason
                )
        except discord.HTTPException as exc:  # an outage or rate limit, not a permission
            text = failure_text(exc, f"apply the {policy.value} policy everywhere")
            raise await self._cannot(guild, f"{text} Run /policy again then.") from exc
        if refused:
            names = ", ".join(c.mention for c in refused[:10])
            raise await self._cannot(
                guild,
                f"I could not apply the {policy.value} policy to {names}: I need the Manage"
                f" Permissions permission there. Fix: edit each channel → Permissions → add"
                f" {guild.me.top_role.name} with Manage Permissions, then run /policy again.",
            )

    async def _sync_limited(
        self, guild: discord.Guild, badge: discord.Role, *, on: bool, reason: str
    ) -> None:
        if not guild.me.guild_permissions.manage_guild:
            if on:
                await self._tell_once(
                    guild,
                    "automod_permission",
                    "To block links and mass mentions from unverified members before they are"
                    " posted, I need the Manage Server permission (for AutoMod rules). Until"
                    " then I remove such messages after they are posted.",
                )
            return
        left_over = await native.sync_limited_rules(
            guild,
            on=on,
            exempt=[badge, *native.staff_roles(guild)],
            mention_limit=self.config.defaults.mass_mention_threshold,
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
        if not self.settings.automod_mention_block:
            return MemberProtection((), tuple(refs.values()))
        guild = self._guild(community)
        if not guild.me.guild_permissions.manage_guild:
            await self._tell_once(
                guild,
                "automod_permission",
                "To stop mentions of members who filter unverified accounts before they are"
                " posted, I need the Manage Server permission (for AutoMod rules). Until then I"
                " remove such messages after they are posted.",
            )
            return MemberProtection((), tuple(refs.values()))
        badge = await self._badge_role(guild)
        async with self._guild_locks[-guild.id]:
            try:
                result = await native.sync_protection(
                    guild,
                    list(refs),
                    exempt=[badge, *native.staff_roles(guild)],
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
