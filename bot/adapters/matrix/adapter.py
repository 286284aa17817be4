"""The Matrix adapter: matrix-nio in, neutral events out; neutral actions in, Matrix calls out.

This file wires the parts and answers the core; each part is a module named for its job:

* inbound: `sync.py` long-polls and takes each response in; `inbound.py` reads each timeline
  event into a work item (`work.py`); `queue.py` keeps each room's items in order, off the sync
  loop; `dispatch.py` hands each item to the core or to the part that acts on it;
* outbound: `outbound.py` (notices, direct rooms, admins, redactions), `files.py` (a file for
  a member), `commands.py` (where answers go; a command sent as a reply points at a message),
  `badges.py` (badge level and Verified space), `policies.py` (room policy, pins);
* keeping up: `directory.py` (rooms, communities, standing), `joins.py` (rooms to join,
  invitations), `room_checks.py` (what admins must fix, told once), `facts.py` (members,
  problems and standing for the admins' dashboard).

The sync token is stored only after every item of its batch was handled (at-least-once); the
core's actions are idempotent by event id, so a restart neither misses nor doubles anything.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict

import aiohttp
import nio

from bot.adapters.base import AdapterError, AdapterState, Capabilities, EventSink
from bot.adapters.matrix import notices
from bot.adapters.matrix import translate as tr
from bot.adapters.matrix.authors import Authors
from bot.adapters.matrix.badges import Badges
from bot.adapters.matrix.commands import Commands
from bot.adapters.matrix.connection import CountingClient, log_in, new_client, ride_out_outages
from bot.adapters.matrix.directory import RoomDirectory
from bot.adapters.matrix.dispatch import Dispatcher
from bot.adapters.matrix.facts import CommunityFactsReader
from bot.adapters.matrix.inbound import InboundReader
from bot.adapters.matrix.joins import Joins
from bot.adapters.matrix.outbound import Outbound
from bot.adapters.matrix.pins import VerificationPins
from bot.adapters.matrix.policies import Policies
from bot.adapters.matrix.power import PowerLevelEditor
from bot.adapters.matrix.presend import BeforeDelivery, JudgedEvents
from bot.adapters.matrix.queue import QueueStats, RoomQueues
from bot.adapters.matrix.room_checks import RoomChecks
from bot.adapters.matrix.sync import SyncLoop
from bot.adapters.matrix.work import WorkItem
from bot.config import Config, MatrixSettings
from bot.model import (
    Actor,
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


class MatrixAdapter:
    """`ChatAdapter` for Matrix. Constructed by the core with its settings and a state store."""

    network: Network = "matrix"

    def __init__(
        self,
        settings: MatrixSettings,
        config: Config,
        state: AdapterState,
        *,
        environ: Mapping[str, str] | None = None,
        long_poll_ms: int = 30_000,
    ) -> None:
        self.settings = settings
        self.config = config
        self.state = state
        self.capabilities = Capabilities(
            ephemeral_replies=False,
            command_prefix=settings.command_prefix,
            channel_word="room",
            direct_commands=True,
        )
        self.user_id = settings.user_id
        self._environ = environ
        self._client: CountingClient | None = None
        client = self._started_client
        # what the adapter knows, how it writes, and what it tells admins: used by every part
        directory = self._directory = RoomDirectory(settings, config)
        outbound = self._outbound = Outbound(client, directory, state)
        room_checks = self._room_checks = RoomChecks(directory, state, outbound)
        self._facts = CommunityFactsReader(directory)
        # the actions the core asks for
        power = PowerLevelEditor(client, directory.rooms, room_checks.watch_power_levels_size)
        pins = VerificationPins(
            client,
            directory.rooms,
            state,
            outbound.send_notice,
            bot_id=self.user_id,
            prefix=settings.command_prefix,
        )
        self._badges = Badges(client, directory, state, power, outbound)
        self._policies = Policies(client, directory, state, power, pins, self._badges)
        self._commands = Commands(client, directory, outbound)
        # the inbound path: sync -> reader -> room queues -> dispatcher -> core
        authors = Authors(client)
        joins = Joins(client, directory, state, room_checks)
        judged = JudgedEvents()
        self._dispatcher = Dispatcher(
            self, directory, authors, self._commands, room_checks, joins, self._badges, judged
        )
        self._queues: RoomQueues[WorkItem] = RoomQueues(
            settings.queue_size, self._dispatcher.handle
        )
        reader = InboundReader(directory, authors, self._commands, room_checks)
        # what the homeserver asks before it stores an event (synapse-http-antispam)
        self.before_delivery = BeforeDelivery(
            reader.read_before_delivery, self._dispatcher.judge_before_delivery, judged
        )
        self._sync = SyncLoop(
            client, state, directory, reader, self._queues, long_poll_ms=long_poll_ms
        )

    # --- lifecycle ----------------------------------------------------------------------------

    def _started_client(self) -> nio.AsyncClient:
        if self._client is None:
            raise AdapterError("the Matrix adapter is not started")
        return self._client

    @property
    def client(self) -> nio.AsyncClient:
        return self._started_client()

    @property
    def committed_token(self) -> str | None:
        """The newest sync token stored, every event before it handled."""
        return self._sync.committed_token

    async def start(self, sink: EventSink) -> None:
        """Log in, load the rooms' state (catching up from the stored token), then sync on."""
        self._dispatcher.attach(sink)
        self._client = new_client(self.settings)
        try:
            await log_in(self._client, self.settings, self._environ)
            await self._directory.load(self.state)
            since = await self._sync.catch_up()
        except (OSError, TimeoutError, aiohttp.ClientError, nio.ProtocolError) as exc:
            await self._close_client()
            raise AdapterError(
                f"cannot reach the homeserver {self.settings.homeserver}: {exc}"
            ) from exc
        except BaseException:
            await self._close_client()
            raise
        ride_out_outages(self._client)
        self._sync.run(since)

    async def stop(self) -> None:
        """Stop syncing, finish what is queued, then store the last fully handled token.

        No logout: the access token stays valid, and a password login reuses its device.
        """
        await self._sync.stop_syncing()
        if not await self._queues.drain(10.0):
            log.warning("stopping with events still queued; they will be handled after restart")
        await self._sync.stop_committing(5.0)
        await self._room_checks.close()
        await self.before_delivery.close()
        await self._queues.close()
        await self._close_client()

    async def _close_client(self) -> None:
        if self._client is not None:
            await self._client.close()

    def queue_stats(self) -> QueueStats:
        """Back-pressure figures: queue depth now, high-water mark, time sync waited."""
        return self._queues.stats()

    def stats(self) -> dict[str, float]:
        """The queue figures and failed syncs (a homeserver away) for /metrics."""
        figures = {f"queue_{k}": float(v) for k, v in asdict(self.queue_stats()).items()}
        unreachable = self._client.unreachable if self._client is not None else 0
        figures["homeserver_unreachable"] = float(unreachable + self._sync.failures)
        asked = self.before_delivery
        figures["before_delivery_asked"] = float(asked.asked)
        figures["before_delivery_refused"] = float(asked.refused)
        figures["before_delivery_late"] = float(asked.late)
        return figures

    # --- ChatAdapter: commands and names ------------------------------------------------------

    async def register_commands(self, specs: Sequence[CommandSpec]) -> None:
        self._commands.register(specs)

    def parse_member(self, text: str) -> MemberRef | None:
        user_id = tr.parse_user_id(text)
        return MemberRef("matrix", user_id) if user_id else None

    def parse_channel(self, text: str, community: CommunityRef) -> ChannelRef | None:
        """A room of the community as an admin names it: id, address or name."""
        rooms = self._directory.index.rooms.get(community.id, frozenset())
        ref = tr.parse_room_ref(text)
        if ref is not None and ref.startswith("!"):
            return ChannelRef(community, ref) if ref in rooms else None
        matches = [
            room
            for room in rooms
            if (facts := self._directory.rooms.get(room)) is not None
            and facts.answers_to(ref or text)
        ]
        return ChannelRef(community, matches[0]) if len(matches) == 1 else None

    def own_account(self) -> MemberRef | None:
        """The bot's account (matrix.user_id, checked at login); None before it logs in."""
        logged_in = self._client is not None and bool(self._client.logged_in)
        return MemberRef("matrix", self.user_id) if logged_in else None

    def display(self, member: MemberRef) -> str:
        return member.id

    def name_of(self, place: CommunityRef | ChannelRef) -> str:
        return self._directory.name_of(place)

    def communities(self) -> Sequence[CommunityRef]:
        return self._directory.communities()

    async def member_communities(self, member: MemberRef) -> Sequence[CommunityRef]:
        return self._directory.member_communities(member)

    # --- ChatAdapter: writing -----------------------------------------------------------------

    async def respond(
        self, invocation: CommandInvocation, text: str, *, private: bool = True
    ) -> None:
        await self._commands.respond(invocation, text, private=private)

    async def respond_file(
        self, invocation: CommandInvocation, text: str, filename: str, data: bytes
    ) -> None:
        """An `m.file` in the invoker's direct room; a refused upload is told in words."""
        await self._commands.respond_file(invocation, text, filename, data)

    async def send_direct(self, member: MemberRef, text: str) -> None:
        await self._outbound.send_direct(member.id, text)

    async def post(self, channel: ChannelRef, text: str, *, choices: Sequence[Choice] = ()) -> None:
        """Choices are written as the commands to send (no buttons on Matrix)."""
        await self._outbound.send_notice(channel.id, self._with_choices(text, choices))

    async def notify_admins(
        self, community: CommunityRef, text: str, *, choices: Sequence[Choice] = ()
    ) -> None:
        """The community's log room if configured; otherwise a DM to its top admins."""
        await self._outbound.notify_admins(community, self._with_choices(text, choices))

    def _with_choices(self, text: str, choices: Sequence[Choice]) -> str:
        return notices.with_choices(
            text, choices, self.settings.command_prefix, self._commands.spec
        )

    def message_link(self, message: MessageRef) -> str:
        """A matrix.to link to the event (no request is made)."""
        return notices.message_link(message.channel.id, message.id)

    # --- ChatAdapter: moderation, badge, policy -----------------------------------------------

    async def remove_message(self, message: MessageRef, reason: str) -> None:
        """Redacted; or, while the homeserver is asking about it, refused (never stored)."""
        if not self.before_delivery.refuse(message.id, reason):
            await self._outbound.redact(message.channel.id, message.id, reason)

    async def remove_reaction(
        self,
        message: MessageRef,
        reactor: MemberRef,
        emoji: str,
        reaction_id: str | None,
        reason: str,
    ) -> None:
        if reaction_id is None:
            raise AdapterError("a Matrix reaction is removed by its event id, and none was given")
        if not self.before_delivery.refuse(reaction_id, reason):
            await self._outbound.redact(message.channel.id, reaction_id, reason)

    def refused_before_delivery(self, message: MessageRef) -> bool:
        """Whether the homeserver refused this event on the bot's word (never delivered)."""
        return message.id in self.before_delivery.refusals

    def join_request(self, user_id: str, room_id: str) -> tuple[ChannelRef, Actor] | None:
        """An account asking to join one of a community's rooms, as the core names both (its
        standing from the levels the room and community give it); None outside them."""
        community = self._directory.community_of(room_id)
        if community is None or room_id in self._directory.management:
            return None
        actor = self._directory.actor(user_id, room_id, community)
        return ChannelRef(community, room_id), actor

    async def set_badge(self, member: MemberRef, community: CommunityRef, on: bool) -> None:
        """On: invite to the Verified space, badge level where the member is. Off: undo both."""
        await self._badges.show(member, community, on)

    async def badge_holders(self, community: CommunityRef) -> AsyncIterator[MemberRef]:
        """Members of (or invited to) the community's Verified space: who shows the badge."""
        async for member in self._badges.holders(community):
            yield member

    async def apply_policy(
        self,
        scope: CommunityRef | ChannelRef,
        policy: UnverifiedPolicy,
        keep: frozenset[str] = frozenset(),
    ) -> None:
        """read_only and verified_only natively; open and limited restore what was there."""
        await self._policies.apply(scope, policy, keep)

    # --- CommunityFacts: the admins' dashboard --------------------------------------------------

    async def member_count(self, community: CommunityRef) -> int | None:
        """Joined to the space or any of its rooms, once each, the bot not counted (`facts`)."""
        return self._facts.member_count(community)

    def problems(self, community: CommunityRef) -> list[str]:
        """What the admins must fix now, in the words of the notices they were sent; and
        whether the homeserver asks before delivery as `[matrix.antispam]` expects."""
        found = self._facts.problems(community)
        if self.settings.antispam is not None and self.before_delivery.silent():
            found.append(notices.antispam_silent(self.config.web.base_url))
        return found

    def role_of(self, community: CommunityRef, member: MemberRef) -> Role | None:
        """The account's standing from power levels now, as its commands would get it."""
        return self._facts.role_of(community, member)
