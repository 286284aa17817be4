"""What each queued work item makes the adapter do: the one place where the inbound path reaches
the core (`handle_event`, `handle_command`), read top to bottom.

The room queues call `handle` for each item, in its room's order. The core gets events only from
here, so a reader following a message goes sync.py → inbound.py → work.py → this file → core.
"""

from __future__ import annotations

import dataclasses
from typing import assert_never

from bot.adapters.base import AdapterError, ChatAdapter, EventSink
from bot.adapters.matrix.authors import Authors, Replied
from bot.adapters.matrix.badges import Badges
from bot.adapters.matrix.commands import Commands
from bot.adapters.matrix.directory import RoomDirectory
from bot.adapters.matrix.joins import Joins
from bot.adapters.matrix.presend import JudgedEvents
from bot.adapters.matrix.room_checks import RoomChecks
from bot.adapters.matrix.work import (
    CheckRoom,
    ConsiderInvite,
    IncomingCommand,
    IncomingDirectCommand,
    IncomingMessage,
    IncomingReaction,
    JoinChild,
    MemberArrived,
    MemberLeft,
    RoomAdded,
    WorkItem,
)
from bot.model import (
    ChannelRef,
    CommandInvocation,
    CommunityAdded,
    Event,
    MemberRef,
    MessagePosted,
    ReactionAdded,
)


class Dispatcher:
    def __init__(
        self,
        adapter: ChatAdapter,
        directory: RoomDirectory,
        authors: Authors,
        commands: Commands,
        room_checks: RoomChecks,
        joins: Joins,
        badges: Badges,
        judged: JudgedEvents,
    ) -> None:
        self._adapter = adapter  # what the core is told the events come from
        self._judged = judged  # events already judged before delivery: not judged again
        self._directory = directory
        self._authors = authors
        self._commands = commands
        self._room_checks = room_checks
        self._joins = joins
        self._badges = badges
        self._sink: EventSink | None = None

    def attach(self, sink: EventSink) -> None:
        self._sink = sink

    async def handle(self, item: WorkItem) -> None:
        match item:
            case IncomingMessage():
                await self._message(item)
            case IncomingReaction():
                if item.reaction.reaction_id not in self._judged:
                    await self._event(await self._reaction(item))
            case IncomingCommand():
                invocation, _ = await self._about(item.invocation)
                await self._command(invocation)
            case IncomingDirectCommand():
                await self._commands.known()  # before the community is chosen, as at start
                await self._sink_or_fail().handle_command(
                    self._adapter, self._commands.in_direct_room(item)
                )
            case MemberArrived():
                await self._event(item.joined)
            case MemberLeft():
                await self._badges.drop_level(item.room_id, item.user_id)
            case CheckRoom():
                await self._room_checks.check(item.room_id)
            case JoinChild():
                await self._joins.join_child(item.space_id, item.child)
            case RoomAdded():
                await self._room_added(item)
            case ConsiderInvite():
                await self._joins.consider_invite(item.room_id, item.invite_state)
            case _:
                assert_never(item)

    async def judge_before_delivery(self, item: IncomingMessage | IncomingReaction) -> None:
        """The core judges a message or reaction the homeserver has not stored yet, as it
        judges one from sync (authors looked up the same way); a command in it runs when the
        message arrives, as it only then exists."""
        if isinstance(item, IncomingReaction):
            await self._event(await self._reaction(item))
        else:
            await self._event(await self._completed(item, None))

    async def _reaction(self, item: IncomingReaction) -> ReactionAdded:
        reaction = item.reaction
        if reaction.message_author is None:  # not remembered when read
            author = await self._authors.of(item.queue, reaction.message.id)
            reaction = dataclasses.replace(reaction, message_author=_member(author))
        return reaction

    async def _message(self, item: IncomingMessage) -> None:
        """The message (with whom it replies to and whose thread it is in) goes to the core,
        unless it was judged before delivery; if it is also a command, the command follows,
        then leaves the room if admins ask."""
        command, replied = item.command, None
        if command is not None:
            command, replied = await self._about(command)
        if item.posted.message.id not in self._judged:
            await self._event(await self._completed(item, replied))
        if command is not None:
            await self._command(command)
            await self._commands.answered_in_room(command)

    async def _completed(self, item: IncomingMessage, replied: Replied | None) -> MessagePosted:
        """Authors remembered when the event was read are already in; the others are looked
        up (`replied`: a command's own fetch already told the replied-to author)."""
        room_id, posted = item.queue, item.posted
        reply_author, starter = posted.reply_to_author, posted.thread_starter
        if replied is not None:
            reply_author = _member(replied.sender)
        elif item.reply_to and reply_author is None:
            reply_author = _member(await self._authors.of(room_id, item.reply_to))
        if item.thread_root and starter is None:
            starter = _member(await self._authors.of(room_id, item.thread_root))
        if reply_author != posted.reply_to_author or starter != posted.thread_starter:
            posted = dataclasses.replace(
                posted, reply_to_author=reply_author, thread_starter=starter
            )
        return posted

    async def _about(
        self, invocation: CommandInvocation
    ) -> tuple[CommandInvocation, Replied | None]:
        """A command sent as a reply, with the replied-to message's author and the start of
        its text (one fetch); a message that is gone leaves both None, `about` still set."""
        if invocation.about is None:
            return invocation, None
        about = invocation.about
        replied = await self._authors.seen(about.channel.id, about.id)
        seen = not replied.gone
        filled = dataclasses.replace(
            invocation,
            about_author=_member(replied.sender) if seen else None,
            about_text=replied.text if seen else None,
        )
        return filled, replied

    async def _room_added(self, item: RoomAdded) -> None:
        """A room the bot is newly in: checked, announced to the core, and for a space, its
        rooms the bot does not know yet joined."""
        room_id = item.room_id
        facts = self._directory.rooms[room_id]
        await self._room_checks.check(room_id)
        owner = item.community or self._directory.community_of_space(room_id)
        if owner is not None:
            channel = None if facts.is_space else ChannelRef(owner, room_id)
            await self._event(CommunityAdded(owner, channel))
        if facts.is_space:
            for child in list(facts.space_children):
                if self._directory.rooms.get(child) is None:
                    await self._joins.join_child(room_id, child)

    async def _event(self, event: Event) -> None:
        await self._sink_or_fail().handle_event(self._adapter, event)

    async def _command(self, invocation: CommandInvocation) -> None:
        await self._commands.known()
        await self._sink_or_fail().handle_command(self._adapter, invocation)

    def _sink_or_fail(self) -> EventSink:
        if self._sink is None:
            raise AdapterError("the Matrix adapter is not started")
        return self._sink


def _member(user_id: str | None) -> MemberRef | None:
    return MemberRef("matrix", user_id) if user_id else None
