"""Neutral types shared by the core, the cogs and every adapter.

Adapters translate their network into these frozen values and back; cogs and the policy engine
see nothing else. Account ids are the network's stable ids (a Discord snowflake, a Matrix user id),
never display names, so nothing here identifies a person beyond the account itself.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias

Network: TypeAlias = Literal["discord", "matrix"]
NETWORKS: tuple[Network, ...] = ("discord", "matrix")


class Role(enum.IntEnum):
    """What a member may do in a community; decides command access and policy exemptions."""

    MEMBER = 0
    MODERATOR = 1
    ADMIN = 2


class FilterLevel(enum.StrEnum):
    """A member's own choice of what unverified accounts may do to them."""

    OFF = "off"
    REPLIES = "replies"
    ALL = "all"

    def describe(self) -> str:
        return {
            FilterLevel.OFF: "off: everyone can reply to, mention and react to you",
            FilterLevel.REPLIES: (
                "replies: replies, mentions and reactions from unverified accounts are held for you"
            ),
            FilterLevel.ALL: (
                "all: as 'replies', plus posts by unverified accounts in threads you started"
            ),
        }[self]


class UnverifiedPolicy(enum.StrEnum):
    """An admin's rule for unverified members in a community or a channel."""

    OPEN = "open"
    LIMITED = "limited"
    READ_ONLY = "read_only"
    VERIFIED_ONLY = "verified_only"

    def describe(self) -> str:
        return {
            UnverifiedPolicy.OPEN: "open: unverified members take part like everyone else",
            UnverifiedPolicy.LIMITED: (
                "limited: unverified members cannot post links, attachments or mass mentions,"
                " and may send only a few messages a minute"
            ),
            UnverifiedPolicy.READ_ONLY: "read only: unverified members can read but not post",
            UnverifiedPolicy.VERIFIED_ONLY: (
                "verified only: only verified members can join or see it"
            ),
        }[self]


class Relation(enum.StrEnum):
    """How an interaction touches a member other than its sender."""

    REPLY = "reply"
    MENTION = "mention"
    REACTION = "reaction"
    THREAD_POST = "thread_post"


class Access(enum.IntEnum):
    """Who may run a command; checked centrally by the core, never in adapters."""

    MEMBER = Role.MEMBER
    MODERATOR = Role.MODERATOR
    ADMIN = Role.ADMIN


# --- references ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommunityRef:
    """A Discord guild or a Matrix space (or a configured set of rooms)."""

    network: Network
    id: str


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A Discord channel or thread, a Matrix room."""

    community: CommunityRef
    id: str

    @property
    def network(self) -> Network:
        return self.community.network


@dataclass(frozen=True, slots=True)
class MemberRef:
    """An account on one network. The same account may sit in several communities."""

    network: Network
    id: str


@dataclass(frozen=True, slots=True)
class MessageRef:
    channel: ChannelRef
    id: str

    @property
    def network(self) -> Network:
        return self.channel.community.network


@dataclass(frozen=True, slots=True)
class Actor:
    """The account behind an event, with what the adapter knows about its standing."""

    member: MemberRef
    role: Role = Role.MEMBER
    is_bot: bool = False
    is_self: bool = False  # the bot's own account: always ignored


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessagePosted:
    message: MessageRef
    sender: Actor
    text: str = ""
    reply_to_author: MemberRef | None = None
    mentioned: tuple[MemberRef, ...] = ()
    mentions_everyone: bool = False
    thread_starter: MemberRef | None = None
    has_link: bool = False
    has_attachment: bool = False
    at: datetime | None = None
    parent_channel_id: str | None = None  # a thread's parent channel, whose policy it follows
    # a reply whose target's author the adapter could not find out (deleted, not visible)
    reply_author_unknown: bool = False

    @property
    def community(self) -> CommunityRef:
        return self.message.channel.community


@dataclass(frozen=True, slots=True)
class ReactionAdded:
    message: MessageRef
    sender: Actor
    emoji: str
    message_author: MemberRef | None = None
    reaction_id: str | None = None  # Matrix: the reaction event id; Discord: None
    at: datetime | None = None
    author_unknown: bool = False  # the message's author could not be found out

    @property
    def community(self) -> CommunityRef:
        return self.message.channel.community


@dataclass(frozen=True, slots=True)
class MemberJoined:
    community: CommunityRef
    member: MemberRef
    channel: ChannelRef | None = None  # Matrix: the room joined
    role: Role = Role.MEMBER  # the newcomer's standing where they joined


@dataclass(frozen=True, slots=True)
class CommunityAdded:
    """The bot joined or was given a community (or a room was added to one)."""

    community: CommunityRef
    channel: ChannelRef | None = None


Event: TypeAlias = MessagePosted | ReactionAdded | MemberJoined | CommunityAdded


# --- commands -----------------------------------------------------------------------------------


class ParamKind(enum.StrEnum):
    TEXT = "text"  # the rest of the line on text networks
    WORD = "word"
    CHOICE = "choice"
    MEMBER = "member"
    CHANNEL = "channel"
    INTEGER = "integer"


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter of a command, as `bot.params` reads it from the handler's signature."""

    name: str
    kind: ParamKind
    help: str
    required: bool = True
    choices: tuple[str, ...] = ()
    enum: type[enum.Enum] | None = None  # CHOICE: the handler receives this enum's member
    minimum: int | None = None  # INTEGER bounds
    maximum: int | None = None


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command, rendered by each adapter natively (slash command, `!name` text command)."""

    name: str
    help: str
    params: tuple[ParamSpec, ...] = ()
    access: Access = Access.MEMBER
    direct_ok: bool = False  # may be run in a direct-message room, outside any community
    # the label of an entry on a message's own menu (Discord's "Apps" menu) that runs this
    # command about that message; on Matrix the command is sent as a reply instead
    message_menu: str | None = None
    # the label of an entry on a member's own menu (Discord's "Apps" on a profile) that runs
    # this command naming that member (its first member parameter)
    user_menu: str | None = None

    def usage(self, prefix: str = "") -> str:
        parts = [f"{prefix}{self.name}"]
        for p in self.params:
            label = "|".join(p.choices) if p.choices else p.name
            parts.append(f"<{label}>" if p.required else f"[{label}]")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class CommandInvocation:
    """What an adapter hands the core when someone runs a command; the core parses and checks.

    `args` holds named values (Discord options) and `positional` raw words (Matrix text); the core
    maps both onto the command's parameters so validation is the same on every network.
    `reply_handle` is opaque to everyone but the adapter (an interaction, a room id).
    `about` is the message the command points at (on Matrix the message it replies to, on
    Discord the message a context-menu entry was used on), with its author and the start of its
    text when the adapter could still see them (None: deleted, or out of sight).
    """

    name: str
    community: CommunityRef | None
    channel: ChannelRef | None
    invoker: Actor
    args: tuple[tuple[str, str], ...] = ()
    positional: tuple[str, ...] = ()
    reply_handle: Any = None
    event_id: str | None = None
    about: MessageRef | None = None
    about_author: MemberRef | None = None
    about_text: str | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """A one-step answer offered with a notice: a button on Discord, a command to copy on
    Matrix. Taking it runs `command` with `words`, as the person who took it (access checked as
    for any command)."""

    label: str
    command: str
    words: tuple[str, ...] = ()
    # a standing offer (a panel): the message keeps it after someone takes it, where a
    # decision's buttons go once one is taken
    stays: bool = False
    # choices sharing a group are one pick among them (a select on Discord), named by it
    group: str = ""

    def typed(self, prefix: str) -> str:
        return " ".join([f"{prefix}{self.command}", *self.words])


@dataclass(frozen=True, slots=True)
class CommandContext:
    """A validated command: the handler's view of who asked, where, and how to answer."""

    invocation: CommandInvocation
    spec: CommandSpec
    answer: Answer | None = field(default=None, compare=False, repr=False)
    answer_file: FileAnswer | None = field(default=None, compare=False, repr=False)

    async def respond(self, text: str, *, private: bool = True) -> None:
        """Answer the person: privately (ephemeral, or their direct chat) unless told not to."""
        if self.answer is None:
            raise RuntimeError("this command context was made without a way to answer")
        await self.answer(text, private)

    async def respond_file(self, text: str, filename: str, data: bytes) -> None:
        """Hand the person a file, privately (their copy of their data)."""
        if self.answer_file is None:
            raise RuntimeError("this command context was made without a way to send a file")
        await self.answer_file(text, filename, data)

    @property
    def member(self) -> MemberRef:
        return self.invocation.invoker.member

    @property
    def role(self) -> Role:
        return self.invocation.invoker.role

    @property
    def community(self) -> CommunityRef | None:
        return self.invocation.community

    @property
    def channel(self) -> ChannelRef | None:
        return self.invocation.channel

    @property
    def network(self) -> Network:
        return self.invocation.invoker.member.network


Answer: TypeAlias = Callable[[str, bool], Awaitable[None]]
FileAnswer: TypeAlias = Callable[[str, str, bytes], Awaitable[None]]


class CommandError(Exception):
    """A command could not run as asked; the message is shown to the person as is."""
