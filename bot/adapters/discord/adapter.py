"""The Discord adapter: discord.py on one side, verifybot's neutral events and actions on the other.

This module only wires the parts together and answers for them as one `ChatAdapter`:

* `supervisor`: the discord.Client (`client`) started, restarted when it dies, closed at stop;
* `intake`: gateway events -> neutral events -> the core (`handover`), with authors Discord
  left out looked up (`authors`) and a new session's gap read back (`catch_up`);
* `commands`: slash commands (and message menu entries, `menus`) published, invocations handed
  over, answers deferred in time; `components`: the bot's buttons and forms read back by their
  custom ids (`buttons` renders choices);
* `outbox`: answers, files, direct messages, posts and sender notices (`answers` for
  interactions);
* `admin_notices`: what the admins must fix, once, in their log channel;
* `badge`: the Verified role; `removals`: deletions; `enforcement`: overwrites and AutoMod;
* `directory`: names and lookups; `facts`: members, problems and standing for the admins'
  dashboard.

No exception escapes into discord.py's event loop: handlers log, count and carry on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from bot.adapters.base import AdapterError, AdapterState, Capabilities, EventSink
from bot.adapters.discord.admin_notices import AdminNotices
from bot.adapters.discord.answers import AnswerLocks
from bot.adapters.discord.badge import BadgeRole
from bot.adapters.discord.client import GatewayClient, gateway_client
from bot.adapters.discord.commands import SlashCommands
from bot.adapters.discord.components import Components
from bot.adapters.discord.directory import Directory
from bot.adapters.discord.enforcement import MemberProtection, NativeEnforcement
from bot.adapters.discord.events import member_ref
from bot.adapters.discord.facts import CommunityFactsReader
from bot.adapters.discord.gateway_guard import BadEvents
from bot.adapters.discord.handover import Handover
from bot.adapters.discord.intake import GatewayIntake
from bot.adapters.discord.linked_roles import ProfileBadges, TokenVault
from bot.adapters.discord.outbox import Outbox
from bot.adapters.discord.removals import Removals
from bot.adapters.discord.shards import ShardPlan, ShardState
from bot.adapters.discord.supervisor import ClientSupervisor, bot_token, point_at_api
from bot.config import Config, DiscordSettings
from bot.model import (
    ChannelRef,
    Choice,
    CommandInvocation,
    CommandSpec,
    CommunityRef,
    MemberRef,
    MessageRef,
    Network,
    Role,
    UnverifiedPolicy,
)

log = logging.getLogger(__name__)

READY_TIMEOUT = 120.0  # chunking a large guild's members at start takes a while
DRAIN_SECONDS = 10.0  # how long a stop waits for handlers in progress


class DiscordAdapter:
    """verifybot on Discord. Construct with the Discord settings and the whole config."""

    network: Network = "discord"

    def __init__(
        self,
        settings: DiscordSettings,
        config: Config,
        state: AdapterState | None = None,
        *,
        vault: TokenVault | None = None,
    ) -> None:
        self.settings = settings
        # the badge on members' own profiles, with their consent (Linked Roles)
        self.profile_badges = (
            ProfileBadges(settings, config, vault, lambda: datetime.now(UTC), self._application_id)
            if settings.linked_roles and vault is not None
            else None
        )
        self.capabilities = Capabilities(ephemeral_replies=True, command_prefix="/")
        self.metrics: dict[str, int] = defaultdict(int)  # http_401/403/429/5xx, restarts, ...
        self.shards = ShardPlan.of(settings)  # None: one connection for every guild
        locks = AnswerLocks()
        self._clients: ClientSupervisor[GatewayClient] = ClientSupervisor(
            self._new_client, self.metrics
        )
        self._handover = Handover(self, self.metrics)
        self._bad_events = BadEvents(self.metrics)
        self._outbox = Outbox(self._clients, self.metrics, locks)
        self._admins = AdminNotices(
            self._clients, config, state, self.metrics, self._outbox.send_direct
        )
        self._badge = BadgeRole(self._clients, settings, self._admins)
        self._removals = Removals(self._clients, self._admins)
        self._enforcement = NativeEnforcement(
            self._clients, settings, config, self._badge, self._admins
        )
        self._directory = Directory(self._clients, config)
        self._facts = CommunityFactsReader(
            self._clients, settings, self._badge, self._enforcement, config
        )
        self._commands = SlashCommands(self._clients, settings, self._handover, locks)
        self._components = Components(
            self._commands.run, self._commands.menus, self._handover, self._commands.spec
        )
        own_state = state  # the catch-up marks: per shard set when processes share the database
        if state is not None and self.shards is not None:
            own_state = ShardState(state, self.shards)
        self._intake = GatewayIntake(
            self._handover, self._clients, self._badge, self._outbox.places, own_state, self.metrics
        )

    def _new_client(self) -> GatewayClient:
        return gateway_client(
            self._intake,
            self.shards,
            fill_tree=self._commands.fill_tree,
            on_component=self._components.interaction,
            on_outdated_command=self._commands.publish_again_soon,
            on_request=self._badge.roles.pacer.note_other,  # the global window counts all
            bad_events=self._bad_events,
            metrics=self.metrics,
            guild_ready_timeout=self.settings.guild_ready_timeout,
        )

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def restart_delay(self) -> float:
        """First pause before restarting a dead client; it doubles up to 60 s."""
        return self._clients.restart_delay

    @restart_delay.setter
    def restart_delay(self, seconds: float) -> None:
        self._clients.restart_delay = seconds

    async def start(self, sink: EventSink) -> None:
        """Log in and wait (bounded) until every guild is loaded; the client runs on after."""
        self._handover.sink = sink
        point_at_api(self.settings)
        token = bot_token(self.settings)
        if self.shards is not None:
            log.info("running Discord shards %s", self.shards.label)
        await self._intake.catch_up.load()
        self._intake.catch_up.start()
        if not await self._clients.start(token, self._intake.ready_event, READY_TIMEOUT):
            await self.stop()
            raise AdapterError(f"Discord did not get ready within {READY_TIMEOUT:.0f} s")

    async def stop(self) -> None:
        """Let handlers in progress finish (what they owe people is written first), then close."""
        self._clients.stopping = True
        await self._intake.catch_up.stop()
        try:
            await asyncio.wait_for(self.drained(), DRAIN_SECONDS)
        except TimeoutError:
            log.warning(
                "stopping with %d Discord handler(s) still running", self._handover.in_flight
            )
        await self._clients.close()
        if self.profile_badges is not None:
            await self.profile_badges.close()

    def _application_id(self) -> str:
        client = self._clients.require()
        if client.application_id is None:
            raise AdapterError("not logged in to Discord yet")
        return str(client.application_id)

    async def take_off_profile_badge(self, member: MemberRef) -> None:
        """The member's verification ended: the badge on their Discord profile goes too."""
        if self.profile_badges is not None and member.network == "discord":
            await self.profile_badges.take_off(member)

    def stats(self) -> dict[str, float]:
        """Refusals and outages (http_*), restarts, bad events, errors, catch-up for /metrics."""
        return {name: float(value) for name, value in self.metrics.items()}

    async def drained(self) -> None:
        """Return once no gateway event is being handled and no read-back runs (for a clean
        stop, and for tests)."""
        await self._intake.catch_up.idle()
        await self._handover.drained()

    async def register_commands(self, specs: Sequence[CommandSpec]) -> None:
        await self._commands.register(specs)

    # --- answering people ---------------------------------------------------------------------

    async def respond(
        self, invocation: CommandInvocation, text: str, *, private: bool = True
    ) -> None:
        await self._outbox.respond(invocation, text, private=private)

    async def respond_file(
        self, invocation: CommandInvocation, text: str, filename: str, data: bytes
    ) -> None:
        await self._outbox.respond_file(invocation, text, filename, data)

    async def send_direct(self, member: MemberRef, text: str) -> None:
        await self._outbox.send_direct(member, text)

    async def notify_sender(self, member: MemberRef, channel: ChannelRef | None, text: str) -> None:
        """By DM, else a self-deleting public notice: only for sender notices (`outbox`)."""
        await self._outbox.notify_sender(member, channel, text)

    async def post(self, channel: ChannelRef, text: str, *, choices: Sequence[Choice] = ()) -> None:
        """`choices` become buttons that run their command as whoever clicks (`buttons`)."""
        await self._outbox.post(channel, text, choices)

    async def notify_admins(
        self, community: CommunityRef, text: str, *, choices: Sequence[Choice] = ()
    ) -> None:
        """In the log channel, else to the owner; the text may name members, so it is not
        logged (`admin_notices`)."""
        await self._admins.notify(community, text, choices, log_text=False)

    def own_account(self) -> MemberRef | None:
        """The bot's own account (None until connected)."""
        client = self._clients.client
        user = client.user if client is not None else None
        return None if user is None else member_ref(user.id)

    def message_link(self, message: MessageRef) -> str:
        channel = message.channel
        return f"https://discord.com/channels/{channel.community.id}/{channel.id}/{message.id}"

    # --- acting on members' activity ----------------------------------------------------------

    async def remove_message(self, message: MessageRef, reason: str) -> None:
        await self._removals.message(message, reason)

    async def remove_reaction(
        self,
        message: MessageRef,
        reactor: MemberRef,
        emoji: str,
        reaction_id: str | None,
        reason: str,
    ) -> None:
        """`reaction_id` is Matrix's; on Discord a reaction is its member and emoji. `reason`
        is not sent: Discord takes no audit-log reason for removing a reaction."""
        await self._removals.reaction(message, reactor, emoji)

    async def set_badge(self, member: MemberRef, community: CommunityRef, on: bool) -> None:
        await self._badge.set(member, community, on)

    async def apply_policy(
        self,
        scope: CommunityRef | ChannelRef,
        policy: UnverifiedPolicy,
        keep: frozenset[str] = frozenset(),
    ) -> None:
        await self._enforcement.apply_policy(scope, policy, keep)

    async def protect_members(
        self, community: CommunityRef, members: Sequence[MemberRef]
    ) -> MemberProtection:
        return await self._enforcement.protect_members(community, members)

    # --- names and lookups --------------------------------------------------------------------

    def parse_member(self, text: str) -> MemberRef | None:
        return self._directory.parse_member(text)

    def parse_channel(self, text: str, community: CommunityRef) -> ChannelRef | None:
        return self._directory.parse_channel(text, community)

    def display(self, member: MemberRef) -> str:
        return self._directory.display(member)

    def name_of(self, place: CommunityRef | ChannelRef) -> str:
        return self._directory.name_of(place)

    def communities(self) -> Sequence[CommunityRef]:
        return self._directory.communities()

    async def member_communities(self, member: MemberRef) -> Sequence[CommunityRef]:
        return await self._directory.member_communities(member)

    def badge_holders(self, community: CommunityRef) -> AsyncIterator[MemberRef]:
        return self._badge.holders(community)

    # --- CommunityFacts: the admins' dashboard --------------------------------------------------

    async def member_count(self, community: CommunityRef) -> int | None:
        """Discord's count of the server's members, the bot not counted (`facts`)."""
        return self._facts.member_count(community)

    def problems(self, community: CommunityRef) -> list[str]:
        """What the admins must fix now, each with its fix, from the cache."""
        return self._facts.problems(community)

    def role_of(self, community: CommunityRef, member: MemberRef) -> Role | None:
        """The account's standing from its permissions now (`staff.role_of`)."""
        return self._facts.role_of(community, member)
