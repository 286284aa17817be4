"""The work the sync loop queues: one frozen value per kind, saying what happened and where.

`inbound.py` reads each timeline event into one of these (or into nothing), `joins.py` adds the
room-keeping ones; `RoomQueues` keeps each room's items in order, and `Dispatcher.handle` is the
one place that says what each kind makes the adapter do. Everything an item carries was read when
sync delivered its event (roles, text, mentions, as of that point of the timeline); what needs a
request to the homeserver (the author of a replied-to message) is looked up when it is handled.

`queue` names the ordered stream an item joins (its room, mostly); `what` names it in logs by kind
and event id, never by what anyone wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from bot.model import CommandInvocation, CommunityRef, MemberJoined, MessagePosted, ReactionAdded

INVITES_QUEUE = "~invites"  # invites are not a room's events; they share one ordered queue


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A message or sticker in a community room, which may also be a command to the bot.

    `posted` has `reply_to_author` and `thread_starter` when the bot remembered those authors
    as the event was read; the others are looked up (by `reply_to` and `thread_root`) when the
    item is handled, not in the sync loop.
    """

    posted: MessagePosted
    reply_to: str | None
    thread_root: str | None
    command: CommandInvocation | None

    @property
    def queue(self) -> str:
        return self.posted.message.channel.id

    @property
    def what(self) -> str:
        return f"message {self.posted.message.id}"


@dataclass(frozen=True, slots=True)
class IncomingReaction:
    """A reaction in a community room; `reaction.message_author`, if not remembered when the
    event was read, is looked up when handled."""

    reaction: ReactionAdded

    @property
    def queue(self) -> str:
        return self.reaction.message.channel.id

    @property
    def what(self) -> str:
        return f"reaction {self.reaction.reaction_id}"


@dataclass(frozen=True, slots=True)
class IncomingCommand:
    """A command typed in a management room (moderators' or log room), ready for the core."""

    invocation: CommandInvocation
    room_id: str

    @property
    def queue(self) -> str:
        return self.room_id

    @property
    def what(self) -> str:
        return f"management command {self.invocation.event_id}"


@dataclass(frozen=True, slots=True)
class IncomingDirectCommand:
    """A command a member typed in their direct chat with the bot. Which community it is for
    (the member's only one, if so) is decided when it is handled."""

    room_id: str
    event_id: str
    sender: str
    name: str
    positional: tuple[str, ...]

    @property
    def queue(self) -> str:
        return self.room_id

    @property
    def what(self) -> str:
        return f"direct message {self.event_id}"


@dataclass(frozen=True, slots=True)
class MemberArrived:
    """Someone joined a community room (their standing read as of the join)."""

    joined: MemberJoined
    room_id: str

    @property
    def queue(self) -> str:
        return self.room_id

    @property
    def what(self) -> str:
        return "MemberJoined"


@dataclass(frozen=True, slots=True)
class MemberLeft:
    """Someone left or was banned from a community room: their badge level there goes, so the
    power levels (capped at 64 KiB) do not fill with people who left."""

    room_id: str
    user_id: str

    @property
    def queue(self) -> str:
        return self.room_id

    @property
    def what(self) -> str:
        return "tidy power levels"


@dataclass(frozen=True, slots=True)
class CheckRoom:
    """See what the bot cannot do in a room (power, encryption) and tell the admins once."""

    room_id: str

    @property
    def queue(self) -> str:
        return self.room_id

    @property
    def what(self) -> str:
        return "check"


@dataclass(frozen=True, slots=True)
class JoinChild:
    """Join a room of a space the bot serves (queued in the space's order)."""

    space_id: str
    child: str

    @property
    def queue(self) -> str:
        return self.space_id

    @property
    def what(self) -> str:
        return f"join {self.child}"


@dataclass(frozen=True, slots=True)
class RoomAdded:
    """The bot is newly in a room or space of a community: check it, tell the core, and for a
    space join its rooms. `community` is the room's, as known when it was queued."""

    room_id: str
    community: CommunityRef | None

    @property
    def queue(self) -> str:
        return self.room_id

    @property
    def what(self) -> str:
        return "room added"


@dataclass(frozen=True, slots=True)
class ConsiderInvite:
    """An invitation to the bot, with the room's invite state (who invited, whether direct)."""

    room_id: str
    invite_state: tuple[dict[str, Any], ...]

    @property
    def queue(self) -> str:
        return INVITES_QUEUE

    @property
    def what(self) -> str:
        return f"invite to {self.room_id}"


WorkItem: TypeAlias = (
    IncomingMessage
    | IncomingReaction
    | IncomingCommand
    | IncomingDirectCommand
    | MemberArrived
    | MemberLeft
    | CheckRoom
    | JoinChild
    | RoomAdded
    | ConsiderInvite
)
