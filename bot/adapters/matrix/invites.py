"""Which invitations the bot accepts.

The natural set-up is a community configured as a space alone: the admin invites the bot to the
space, then to the space's rooms, and members open direct chats with it. So besides the accounts
and servers an admin lists, the bot accepts an invitation to any room the configuration names, to
any room that is a child of a space it serves (the homeserver already checked that the inviter
may invite there), and to a direct chat from anyone who is in one of its communities. Everything
else is declined, so strangers cannot pull the bot into rooms of their own.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from bot.adapters.matrix.communities import CommunityIndex
from bot.adapters.matrix.rooms import RoomFacts
from bot.config import CommunitySettings, MatrixSettings


def configured_rooms(communities: Collection[CommunitySettings]) -> set[str]:
    """Every room or space id the configuration names for Matrix communities."""
    found: set[str] = set()
    for community in communities:
        found.add(community.id)
        found.update(community.rooms)
        found.update(
            room
            for room in (
                community.verified_space,
                community.log_channel,
                community.moderator_channel,
            )
            if room
        )
    return found


def served_places(index: CommunityIndex, extra: Collection[str] = ()) -> set[str]:
    """Every room and space of every community the bot serves, plus `extra` (management rooms)."""
    places = set(extra)
    for rooms in index.rooms.values():
        places |= rooms
    for spaces in index.spaces.values():
        places |= spaces
    return places


def may_accept(
    room_id: str,
    inviter: str,
    *,
    direct: bool,
    settings: MatrixSettings,
    communities: Collection[CommunitySettings],
    index: CommunityIndex,
    rooms: Mapping[str, RoomFacts],
    management_rooms: Collection[str] = (),
) -> bool:
    """Whether to join `room_id`, to which `inviter` invited the bot."""
    if inviter in settings.allowed_inviters:
        return True
    if inviter.split(":", 1)[-1] in settings.allowed_servers:
        return True
    if room_id in configured_rooms(communities) or room_id in management_rooms:
        return True
    if index.community_of(room_id) is not None:
        return True  # a room of a space the bot serves
    if direct:
        return any(
            facts.membership(inviter) == "join"
            for place in served_places(index, management_rooms)
            if (facts := rooms.get(place)) is not None
        )
    return False
