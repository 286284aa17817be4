"""Matrix text commands: the invocation for each place a command can be typed, and where each
answer goes.

* In a community room, a command acts there and is answered in the member's direct chat; the
  first time, the room hears a short pointer (unless `redact_commands` takes commands out of the
  room once answered, so the room never learns who asked).
* In the member's direct chat with the bot, it acts in the member's community (their only one, or
  the one they name) and is answered there.
* In a management room (the moderators' or log room) it acts on that room's community, as in
  Draupnir's management room; answers to moderators' commands stay there for the other moderators.

Every command with our prefix goes to the core, which answers an unknown one with a pointer to
help; several bots in one room each use their own `command_prefix`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.adapters.matrix.connection import ClientSource, error_text, is_error
from bot.adapters.matrix.directory import RoomDirectory
from bot.adapters.matrix.files import FileRefused, not_sent
from bot.adapters.matrix.outbound import Outbound
from bot.adapters.matrix.translate import ParsedCommand
from bot.adapters.matrix.work import IncomingDirectCommand
from bot.model import (
    Access,
    Actor,
    ChannelRef,
    CommandInvocation,
    CommandSpec,
    MemberRef,
    MessageRef,
    Role,
)

log = logging.getLogger(__name__)

_POINTED_LIMIT = 20_000  # members remembered as told where answers go; then it starts over
_REGISTRATION_WAIT = 10.0  # seconds a command caught up at start waits for the core's commands


@dataclass(frozen=True, slots=True)
class ReplyHandle:
    """Where a command came from, so the answer goes back there (or to the invoker's DM).

    `direct`: the invoker's DM room, where every answer goes. `management`: a moderators' room,
    where answers to moderator commands go so the other moderators see them; a member's own
    private answers (a verify link) still go to their DM.
    """

    room_id: str
    event_id: str
    direct: bool
    management: bool = False


class Commands:
    def __init__(self, client: ClientSource, directory: RoomDirectory, outbound: Outbound) -> None:
        self._client = client
        self._directory = directory
        self._outbound = outbound
        self._specs: dict[str, CommandSpec] = {}
        self._registered = asyncio.Event()
        self._pointed: set[str] = set()  # members told once that answers come by DM

    def spec(self, name: str) -> CommandSpec | None:
        return self._specs.get(name)

    def register(self, specs: Sequence[CommandSpec]) -> None:
        """Text commands need no registration with the homeserver; we only learn the names."""
        self._specs = {spec.name: spec for spec in specs}
        self._registered.set()

    async def known(self) -> None:
        """Commands caught up at start wait briefly for the core to register them."""
        if not self._registered.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_REGISTRATION_WAIT):
                    await self._registered.wait()

    # --- invocations, by where the command was typed ------------------------------------------

    def in_community_room(
        self,
        command: ParsedCommand,
        invoker: Actor,
        channel: ChannelRef,
        event_id: str,
        *,
        about: MessageRef | None = None,
    ) -> CommandInvocation:
        """`about`: the message the command replies to (its author and text come later)."""
        return CommandInvocation(
            name=command.name,
            community=channel.community,
            channel=channel,
            invoker=invoker,
            positional=command.positional,
            reply_handle=ReplyHandle(channel.id, event_id, direct=False),
            event_id=event_id,
            about=about,
        )

    def in_management_room(
        self,
        command: ParsedCommand,
        channel: ChannelRef,
        sender: str,
        event_id: str,
        *,
        about: MessageRef | None = None,
    ) -> CommandInvocation:
        """The typist's standing is the higher of the community's and this room's."""
        community = channel.community
        return CommandInvocation(
            name=command.name,
            community=community,
            channel=channel,
            invoker=self._directory.actor(sender, channel.id, community),
            positional=command.positional,
            reply_handle=ReplyHandle(channel.id, event_id, direct=False, management=True),
            event_id=event_id,
            about=about,
        )

    def in_direct_room(self, typed: IncomingDirectCommand) -> CommandInvocation:
        """A member of one community need not say which one they mean."""
        member = MemberRef("matrix", typed.sender)
        mine = self._directory.member_communities(member)
        community = mine[0] if len(mine) == 1 else None
        role = (
            self._directory.community_role(community.id, typed.sender) if community else Role.MEMBER
        )
        return CommandInvocation(
            name=typed.name,
            community=community,
            channel=None,
            invoker=Actor(member, role),
            positional=typed.positional,
            reply_handle=ReplyHandle(typed.room_id, typed.event_id, direct=True),
            event_id=typed.event_id,
        )

    async def answered_in_room(self, invocation: CommandInvocation) -> None:
        """Take a member's command out of a community room once it is answered (admin setting
        `redact_commands`), so `!verify` does not tell the room who is verifying. A command
        about a message (`!report`, sent as a reply to it) always goes: on Discord it is a menu
        entry no one else sees used, and the room must not learn who reported whom."""
        handle = invocation.reply_handle
        if not self._taken_out(invocation) or not isinstance(handle, ReplyHandle):
            return
        answer = await self._client().room_redact(
            handle.room_id, handle.event_id, reason="a command to the bot, answered privately"
        )
        if is_error(answer):
            log.warning("could not remove a command message: %s", error_text(answer))

    # --- answers ------------------------------------------------------------------------------

    async def respond(self, invocation: CommandInvocation, text: str, *, private: bool) -> None:
        handle = invocation.reply_handle
        if isinstance(handle, ReplyHandle) and (
            handle.direct or not private or (handle.management and self._for_moderators(invocation))
        ):
            await self._outbound.send_notice(handle.room_id, text, reply_to=handle.event_id)
            return
        await self._outbound.send_direct(invocation.invoker.member.id, text)
        await self._point_to_dm_once(invocation)

    async def respond_file(
        self, invocation: CommandInvocation, text: str, filename: str, data: bytes
    ) -> None:
        """The file and `text` in the invoker's direct room (where private answers go); if the
        homeserver does not take the file, the member reads why there instead."""
        handle = invocation.reply_handle
        direct = isinstance(handle, ReplyHandle) and handle.direct
        member = invocation.invoker.member
        room_id = handle.room_id if direct else await self._outbound.dm_room(member.id)
        reply_to = handle.event_id if direct else None
        try:
            await self._outbound.send_file(room_id, filename, data)
        except FileRefused as refused:
            await self._outbound.send_notice(
                room_id, not_sent(filename, str(refused)), reply_to=reply_to
            )
        else:
            await self._outbound.send_notice(room_id, text, reply_to=reply_to)
        await self._point_to_dm_once(invocation)

    def _for_moderators(self, invocation: CommandInvocation) -> bool:
        spec = self._specs.get(invocation.name)
        return spec is not None and spec.access >= Access.MODERATOR

    def _taken_out(self, invocation: CommandInvocation) -> bool:
        """Whether the command leaves its room once answered (see `answered_in_room`)."""
        spec = self._specs.get(invocation.name)
        return self._directory.settings.redact_commands or (
            spec is not None and spec.message_menu is not None
        )

    async def _point_to_dm_once(self, invocation: CommandInvocation) -> None:
        """The first time a member's command in a room is answered by direct message, say so
        in the room (no ping), so they know where to look. Not when the command leaves the
        room: then the room should not learn who asked."""
        handle = invocation.reply_handle
        member = invocation.invoker.member
        if not isinstance(handle, ReplyHandle) or handle.direct or handle.management:
            return
        if self._taken_out(invocation) or member.id in self._pointed:
            return
        self._pointed.add(member.id)
        if len(self._pointed) > _POINTED_LIMIT:
            self._pointed.clear()
        await self._outbound.send_notice(
            handle.room_id,
            "I answer commands in a direct message: look for the chat I opened with you.",
            reply_to=handle.event_id,
        )
