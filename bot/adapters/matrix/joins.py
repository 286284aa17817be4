"""Which rooms the bot is in: the rooms of the spaces it serves, and invitations it accepts.

It joins a space's rooms by itself (an invite-only one it cannot join is reported to the admins,
with the fix), accepts the invitations `invites.py` allows and declines the rest. At start, and
whenever it is newly in a room, the room-keeping work is queued here: joins, and checks of what
the bot may do (`room_checks.py`).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.adapters.base import AdapterState
from bot.adapters.matrix.connection import ClientSource, error_text, is_error, join_via
from bot.adapters.matrix.directory import RoomDirectory
from bot.adapters.matrix.invites import may_accept
from bot.adapters.matrix.notices import cannot_join
from bot.adapters.matrix.room_checks import RoomChecks
from bot.adapters.matrix.work import CheckRoom, JoinChild, RoomAdded, WorkItem

log = logging.getLogger(__name__)


def start_checks(directory: RoomDirectory) -> list[WorkItem]:
    """At start: join the served spaces' rooms the bot is not in, and check every room it is in
    (and each Verified space) for what it cannot do."""
    work: list[WorkItem] = []
    for community_id in directory.index.ids():
        for space in directory.index.spaces.get(community_id, ()):
            facts = directory.rooms.get(space)
            if facts is None or facts.membership(directory.bot_id) != "join":
                continue
            work += [
                JoinChild(space, child)
                for child in facts.space_children
                if not directory.bot_joined(child)
            ]
        work += [CheckRoom(room_id) for room_id in directory.protected_rooms(community_id)]
        verified = directory.verified_spaces.get(community_id)
        if verified is not None:
            work.append(CheckRoom(verified))
    return work


def room_added(directory: RoomDirectory, room_id: str) -> RoomAdded | None:
    """The work for a room the bot is newly in, if it is a community's room or a space."""
    community = directory.community_of(room_id)
    if community is None and not directory.rooms[room_id].is_space:
        return None
    return RoomAdded(room_id, community)


class Joins:
    def __init__(
        self,
        client: ClientSource,
        directory: RoomDirectory,
        state: AdapterState,
        room_checks: RoomChecks,
    ) -> None:
        self._client = client
        self._directory = directory
        self._state = state
        self._room_checks = room_checks

    async def join_child(self, space_id: str, child: str) -> None:
        """Join a room of a served space, asking the servers the space names for it."""
        space = self._directory.rooms.get(space_id)
        via = space.space_children.get(child, []) if space else []
        client = self._client()
        answer = await client.join(child) if not via else await join_via(client, child, via)
        if is_error(answer):
            community = self._directory.community_of_space(space_id)
            log.warning("cannot join %s: %s", child, error_text(answer))
            self._directory.join_failures[child] = error_text(answer)
            if community is not None:
                await self._room_checks.tell_admins_once(
                    community,
                    f"join:{child}",
                    cannot_join(
                        self._directory.room_name(child), self._directory.bot_id, error_text(answer)
                    ),
                )

    async def consider_invite(self, room_id: str, invite_state: tuple[dict[str, Any], ...]) -> None:
        """Join if `invites.may_accept` allows it, else decline; a direct chat a member opened
        becomes where the bot answers them."""
        bot_id = self._directory.bot_id
        inviter, direct = None, False
        for event in invite_state:
            if event.get("type") == "m.room.member" and event.get("state_key") == bot_id:
                inviter = event.get("sender")
                content = event.get("content")
                direct = bool(isinstance(content, dict) and content.get("is_direct"))
        if not isinstance(inviter, str) or not self._may_accept(room_id, inviter, direct):
            log.info("declining an invitation to %s", room_id)
            await self._client().room_leave(room_id)
            return
        answer = await self._client().join(room_id)
        if is_error(answer):
            log.warning("could not join %s: %s", room_id, error_text(answer))
            return
        if direct:  # the member's newest DM with the bot is where we answer
            await self._directory.remember_dm(self._state, inviter, room_id)

    def _may_accept(self, room_id: str, inviter: str, direct: bool) -> bool:
        directory = self._directory
        return may_accept(
            room_id,
            inviter,
            direct=direct,
            settings=directory.settings,
            communities=directory.configured(),
            index=directory.index,
            rooms=directory.rooms,
            management_rooms=directory.management,
        )
