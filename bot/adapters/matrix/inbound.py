"""Reading sync's events, in timeline order, into what they mean.

A state event goes into the room's `RoomFacts` at once, so every later event is read knowing it
(which community a room belongs to, who may do what). Then each event becomes at most one work item
(`work.py`): a member's message (perhaps a command), a reaction, a command in a direct chat or a
management room, or a change the bot must act on (a join, a departure, encryption, a new room of
a space). Everything local is read here, as of the event's place in the timeline; nothing here
waits on the homeserver.
"""

from __future__ import annotations

from bot.adapters.matrix import translate as tr
from bot.adapters.matrix.authors import Authors
from bot.adapters.matrix.commands import Commands
from bot.adapters.matrix.connection import JsonDict, sent_at
from bot.adapters.matrix.directory import RoomDirectory
from bot.adapters.matrix.joins import room_added
from bot.adapters.matrix.room_checks import RoomChecks
from bot.adapters.matrix.rooms import RoomFacts
from bot.adapters.matrix.work import (
    CheckRoom,
    IncomingCommand,
    IncomingDirectCommand,
    IncomingMessage,
    IncomingReaction,
    JoinChild,
    MemberArrived,
    MemberLeft,
    WorkItem,
)
from bot.model import (
    ChannelRef,
    CommunityRef,
    MemberJoined,
    MemberRef,
    MessagePosted,
    MessageRef,
    ReactionAdded,
)

_MESSAGE_TYPES = ("m.room.message", "m.sticker")
_CHANNELS_KEPT = 10_000  # rooms whose `ChannelRef` is shared; then it starts over
_MEMBERS_KEPT = 10_000  # accounts whose `MemberRef` is shared; then it starts over


class InboundReader:
    def __init__(
        self,
        directory: RoomDirectory,
        authors: Authors,
        commands: Commands,
        room_checks: RoomChecks,
    ) -> None:
        self._directory = directory
        self._authors = authors
        self._commands = commands
        self._room_checks = room_checks
        self._bot_id = directory.bot_id
        self._prefix = directory.settings.command_prefix
        self._channels: dict[tuple[CommunityRef, str], ChannelRef] = {}  # one per room
        self._members: dict[str, MemberRef] = {}  # one per account mentioned or replied to

    def apply_state(self, facts: RoomFacts, event: JsonDict) -> bool:
        """Take a state event in; True if it may change which rooms form which community."""
        if not isinstance(event.get("state_key"), str):
            return False
        before_bot = facts.membership(self._bot_id)
        facts.apply(event)
        kind = event.get("type")
        if kind == "m.room.power_levels":
            self._room_checks.watch_power_levels_size(facts)
        return kind in ("m.space.child", "m.room.create") or (
            kind == "m.room.member" and facts.membership(self._bot_id) != before_bot
        )

    def read(self, facts: RoomFacts, event: JsonDict, replay: bool) -> WorkItem | None:
        """What one timeline event means, if anything. `replay` False: the bot's very first
        start, when the room's history is taken in as state but is not news to act on."""
        event_id = event.get("event_id")
        sender = event.get("sender")
        if not isinstance(event_id, str) or not isinstance(sender, str):
            return None
        self._authors.remember(event_id, sender)
        room_id = facts.room_id
        if isinstance(event.get("state_key"), str):
            before = facts.membership(str(event["state_key"]))
            if self.apply_state(facts, event):
                self._directory.reindex()  # e.g. a room added to a space mid-batch
            return self._state_change(facts, event, before) if replay else None
        if not replay or sender == self._bot_id or "redacted_because" in event.get("unsigned", {}):
            return None
        kind = event.get("type")
        community = self._directory.community_of(room_id)
        if kind == "m.room.message" and room_id in self._directory.management:
            return self._management_command(room_id, self._directory.management[room_id], event)
        if kind in _MESSAGE_TYPES:
            if community is not None:
                return self._message(facts, community, event)
            if self._directory.dm_members.get(room_id) == sender:
                return self._direct_command(room_id, event)
            return None
        if kind == "m.reaction" and community is not None:
            return self._reaction(facts, community, event)
        return None

    def read_before_delivery(self, event: JsonDict) -> IncomingMessage | IncomingReaction | None:
        """A member's message or reaction the homeserver asks about before storing it (see
        presend.py): read as `read` would read it from sync, or None when it is nothing the
        bot judges (the bot's own, a state event, a room outside every community, a command
        room). Nothing is remembered: the event may never exist."""
        room_id, sender = event.get("room_id"), event.get("sender")
        if not isinstance(room_id, str) or not isinstance(sender, str):
            return None
        if not isinstance(event.get("event_id"), str) or "state_key" in event:
            return None
        facts = self._directory.rooms.get(room_id)
        community = self._directory.community_of(room_id)
        if facts is None or community is None or sender == self._bot_id:
            return None
        kind = event.get("type")
        if room_id in self._directory.management or kind not in (*_MESSAGE_TYPES, "m.reaction"):
            return None
        if kind == "m.reaction":
            item = self._reaction(facts, community, event)
            return item if isinstance(item, IncomingReaction) else None
        return self._message(facts, community, event)

    # --- messages -----------------------------------------------------------------------------

    def _message(
        self, facts: RoomFacts, community: CommunityRef, event: JsonDict
    ) -> IncomingMessage:
        """Everything local is read now (roles as of this event), and the authors it touches if
        remembered; those not remembered are looked up later, off the sync loop."""
        room_id = facts.room_id
        event_id = str(event["event_id"])
        content, edited, reply_to, thread_root = tr.relations(_content(event))
        reading = tr.read_message(content)
        actor = self._directory.actor(str(event["sender"]), room_id, community)
        channel = self._channel(community, room_id)
        command = None if edited else tr.parse_command(reading.text, self._prefix)
        posted = MessagePosted(
            message=MessageRef(channel, event_id),
            sender=actor,
            text=reading.text,
            reply_to_author=self._remembered(reply_to),
            mentioned=tuple(map(self._member, reading.mentioned)),
            mentions_everyone=reading.mentions_everyone,
            thread_starter=self._remembered(thread_root),
            has_link=reading.has_link,
            has_attachment=tr.has_attachment(str(event.get("type")), content),
            at=sent_at(event),
        )
        return IncomingMessage(
            posted=posted,
            reply_to=reply_to,
            thread_root=thread_root,
            command=(
                self._commands.in_community_room(
                    command, actor, channel, event_id, about=_about(channel, reply_to)
                )
                if command is not None
                else None
            ),
        )

    def _channel(self, community: CommunityRef, room_id: str) -> ChannelRef:
        """The room as the core names it, made once (frozen, so every event may share it)."""
        found = self._channels.get((community, room_id))
        if found is None:
            if len(self._channels) >= _CHANNELS_KEPT:
                self._channels.clear()
            found = self._channels[(community, room_id)] = ChannelRef(community, room_id)
        return found

    def _remembered(self, event_id: str | None) -> MemberRef | None:
        """The author of an event the bot saw, as `Authors.of` would answer without a request."""
        sender = self._authors.known(event_id) if event_id is not None else None
        return self._member(sender) if sender is not None else None

    def _member(self, user_id: str) -> MemberRef:
        """An account as the core names it, made once (frozen, so every event may share it)."""
        found = self._members.get(user_id)
        if found is None:
            if len(self._members) >= _MEMBERS_KEPT:
                self._members.clear()
            found = self._members[user_id] = MemberRef("matrix", user_id)
        return found

    def _direct_command(self, room_id: str, event: JsonDict) -> WorkItem | None:
        """A member writing to the bot's DM room: commands only (nothing is relayed)."""
        command = self._command_in(event)
        if command is None:
            return None
        return IncomingDirectCommand(
            room_id, str(event["event_id"]), str(event["sender"]), command.name, command.positional
        )

    def _management_command(
        self, room_id: str, community_id: str, event: JsonDict
    ) -> WorkItem | None:
        command = self._command_in(event)
        if command is None:
            return None
        channel = ChannelRef(CommunityRef("matrix", community_id), room_id)
        invocation = self._commands.in_management_room(
            command,
            channel,
            str(event["sender"]),
            str(event["event_id"]),
            about=_about(channel, tr.reply_target(_content(event))),
        )
        return IncomingCommand(invocation, room_id)

    def _command_in(self, event: JsonDict) -> tr.ParsedCommand | None:
        """The command a message gives, if any; an edit never runs one again."""
        content, edited = tr.effective_content(_content(event))
        return None if edited else tr.parse_command(tr.plain_text(content), self._prefix)

    def _reaction(
        self, facts: RoomFacts, community: CommunityRef, event: JsonDict
    ) -> WorkItem | None:
        relates = _content(event).get("m.relates_to")
        if not isinstance(relates, dict) or relates.get("rel_type") != "m.annotation":
            return None
        target = relates.get("event_id")
        if not isinstance(target, str):
            return None
        room_id = facts.room_id
        reaction = ReactionAdded(
            message=MessageRef(self._channel(community, room_id), target),
            sender=self._directory.actor(str(event["sender"]), room_id, community),
            emoji=str(relates.get("key", "")),
            message_author=self._remembered(target),
            reaction_id=str(event["event_id"]),
            at=sent_at(event),
        )
        return IncomingReaction(reaction)

    # --- state changes ------------------------------------------------------------------------

    def _state_change(
        self, facts: RoomFacts, event: JsonDict, before: str | None
    ) -> WorkItem | None:
        """What a state event (already taken in) asks of the bot; `before`: the membership its
        state key had until this event."""
        kind = event.get("type")
        room_id = facts.room_id
        community = self._directory.community_of(room_id)
        if kind == "m.room.member" and community is not None:
            user = str(event["state_key"])
            now = facts.membership(user)
            if user == self._bot_id:
                return None
            if now == "join" and before != "join":
                role = self._directory.actor(user, room_id, community).role
                channel = ChannelRef(community, room_id)
                joined = MemberJoined(community, MemberRef("matrix", user), channel, role)
                return MemberArrived(joined, room_id)
            if before == "join" and now in ("leave", "ban"):
                return MemberLeft(room_id, user)
            return None
        if kind == "m.room.encryption" and community is not None:
            return CheckRoom(room_id)
        if kind == "m.space.child" and facts.membership(self._bot_id) == "join":
            child = str(event["state_key"])
            if child not in facts.space_children:
                return None  # the child was removed
            if self._directory.bot_joined(child):
                return room_added(self._directory, child)  # a room of ours joins the space
            return JoinChild(room_id, child)
        return None


def _about(channel: ChannelRef, reply_to: str | None) -> MessageRef | None:
    """A command sent as a reply points at the message it replies to (its author and text are
    looked up when the command is handled, off the sync loop)."""
    return MessageRef(channel, reply_to) if reply_to is not None else None


def _content(event: JsonDict) -> JsonDict:
    content = event.get("content")
    return content if isinstance(content, dict) else {}
