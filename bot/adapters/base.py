"""The contract between the core and a chat network.

An adapter turns its network's traffic into neutral events (pushed into an `EventSink`) and
performs neutral actions. It holds no feature logic: permission checks, decisions and storage
belong to the core, the policy engine and the cogs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.model import (
    ChannelRef,
    Choice,
    CommandInvocation,
    CommandSpec,
    CommunityRef,
    Event,
    MemberRef,
    MessageRef,
    Network,
    Role,
    UnverifiedPolicy,
)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a network can do natively, so cogs can choose the strongest tool available."""

    ephemeral_replies: bool = False  # answers only the invoker can see, in place
    command_prefix: str = "/"  # how commands are written in help texts
    channel_word: str = "channel"  # what people on this network call a channel ("room")
    direct_commands: bool = False  # commands work in a direct chat with the bot


class AdapterError(Exception):
    """An action could not be performed; the message says why in words an admin can act on."""


@runtime_checkable
class SenderNotifier(Protocol):
    """An adapter that can reach a sender even when direct messages are closed (a short public
    notice). Only for sender notices: nothing private may travel this way."""

    async def notify_sender(
        self, member: MemberRef, channel: ChannelRef | None, text: str
    ) -> None: ...


@runtime_checkable
class ProfileBadgeHolder(Protocol):
    """An adapter that can show the badge on a member's own profile (Discord's Linked Roles)."""

    async def take_off_profile_badge(self, member: MemberRef) -> None: ...


@runtime_checkable
class DeliveryRefusals(Protocol):
    """An adapter that can refuse an event before the platform delivers it (Matrix with
    synapse-http-antispam), and so say whether a stopped event ever reached anyone."""

    def refused_before_delivery(self, message: MessageRef) -> bool: ...


@runtime_checkable
class PreSendProtection(Protocol):
    """An adapter that can stop mentions of members before they are delivered (Discord AutoMod).

    `protect_members` takes the complete set of filtered members each time; what does not fit
    the platform's limits still relies on removal after the fact."""

    async def protect_members(
        self, community: CommunityRef, members: Sequence[MemberRef]
    ) -> object: ...


@runtime_checkable
class StatsSource(Protocol):
    """An adapter's own counters and gauges (refusals, restarts, queue depth) for /metrics."""

    def stats(self) -> Mapping[str, float]: ...


@runtime_checkable
class CommunityFacts(Protocol):
    """What an adapter knows about a community for its admins' dashboard, read from what it
    already keeps (no request to the network): how many members it has, what the admins must
    fix, and whether an account is still an admin there."""

    async def member_count(self, community: CommunityRef) -> int | None:
        """Members of the community now (the bot not counted); None when not known."""
        ...

    def problems(self, community: CommunityRef) -> list[str]:
        """What stops the bot from protecting the community now, each in words with the fix."""
        ...

    def role_of(self, community: CommunityRef, member: MemberRef) -> Role | None:
        """The account's standing there now; None when the adapter cannot tell."""
        ...


class AdapterState(Protocol):
    """Small durable values an adapter keeps across restarts (a sync token, DM room ids)."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...


class EventSink(Protocol):
    """Where an adapter pushes what happened. Implemented by the core."""

    async def handle_event(self, adapter: ChatAdapter, event: Event) -> None: ...

    async def handle_command(self, adapter: ChatAdapter, invocation: CommandInvocation) -> bool:
        """True when the command ran to the end (not refused, not failed)."""
        ...


@runtime_checkable
class ChatAdapter(Protocol):
    network: Network
    capabilities: Capabilities

    async def start(self, sink: EventSink) -> None:
        """Connect and begin pushing events; returns once connected (runs on in tasks)."""
        ...

    async def stop(self) -> None: ...

    async def register_commands(self, specs: Sequence[CommandSpec]) -> None: ...

    def parse_member(self, text: str) -> MemberRef | None:
        """Read a member reference typed by a person (mention, pill, id); None if it is none."""
        ...

    def parse_channel(self, text: str, community: CommunityRef) -> ChannelRef | None: ...

    def display(self, member: MemberRef) -> str:
        """How to name a member in a message (a mention), without storing any name."""
        ...

    def name_of(self, place: CommunityRef | ChannelRef) -> str:
        """How people know a community or channel: its name (or a mention that the client shows
        as the name), never a bare id when the network knows a name."""
        ...

    async def respond(
        self, invocation: CommandInvocation, text: str, *, private: bool = True
    ) -> None:
        """Answer a command: ephemerally or in a direct-message room when `private`."""
        ...

    async def respond_file(
        self, invocation: CommandInvocation, text: str, filename: str, data: bytes
    ) -> None:
        """Hand the invoker a file, privately (ephemeral, or their direct-message room)."""
        ...

    async def send_direct(self, member: MemberRef, text: str) -> None: ...

    async def post(self, channel: ChannelRef, text: str, *, choices: Sequence[Choice] = ()) -> None:
        """Post in a channel; `choices` as buttons where the network has them, else as the
        commands to send."""
        ...

    async def notify_admins(
        self, community: CommunityRef, text: str, *, choices: Sequence[Choice] = ()
    ) -> None:
        """Tell a community's admins something they must act on (the log channel/room)."""
        ...

    def message_link(self, message: MessageRef) -> str:
        """A link that opens the message in people's clients (no request is made)."""
        ...

    def own_account(self) -> MemberRef | None:
        """The bot's own account on this network (None until connected)."""
        ...

    async def remove_message(self, message: MessageRef, reason: str) -> None: ...

    async def remove_reaction(
        self,
        message: MessageRef,
        reactor: MemberRef,
        emoji: str,
        reaction_id: str | None,
        reason: str,
    ) -> None: ...

    async def set_badge(self, member: MemberRef, community: CommunityRef, on: bool) -> None: ...

    async def apply_policy(
        self,
        scope: CommunityRef | ChannelRef,
        policy: UnverifiedPolicy,
        keep: frozenset[str] = frozenset(),
    ) -> None:
        """Enforce `policy` natively; community-wide, leave the channels in `keep` (their own
        policy wins) as they are."""
        ...

    def communities(self) -> Sequence[CommunityRef]:
        """The communities this adapter currently serves."""
        ...

    async def member_communities(self, member: MemberRef) -> Sequence[CommunityRef]:
        """The served communities the member belongs to (to grant a badge everywhere at once)."""
        ...

    def badge_holders(self, community: CommunityRef) -> AsyncIterator[MemberRef]:
        """Members who carry the badge now, to reconcile with the database at start."""
        ...
