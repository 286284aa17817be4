"""Which rooms make up which community.

A community is a Matrix space (its child rooms, and the children of its sub-spaces) or a configured
set of rooms. Spaces and rooms the bot was invited into that no configured community claims become
communities of their own, so "invite the bot to your space" works without editing the config;
direct chats never do.
Recomputed from room state whenever a space's children or the bot's rooms change.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from bot.adapters.matrix.rooms import RoomFacts
from bot.config import CommunitySettings


@dataclass(frozen=True)
class CommunityIndex:
    rooms: dict[str, frozenset[str]] = field(default_factory=dict)  # community -> rooms
    spaces: dict[str, frozenset[str]] = field(default_factory=dict)  # community -> its spaces
    room_community: dict[str, str] = field(default_factory=dict)

    def community_of(self, room_id: str) -> str | None:
        return self.room_community.get(room_id)

    def ids(self) -> list[str]:
        return list(self.rooms)


def _descend(root: str, facts: Mapping[str, RoomFacts]) -> tuple[set[str], set[str]]:
    """(rooms, spaces) below a space, following sub-spaces the bot can see into."""
    rooms: set[str] = set()
    spaces: set[str] = {root}
    todo = [root]
    while todo:
        space = facts.get(todo.pop())
        if space is None:
            continue
        for child in space.space_children:
            child_facts = facts.get(child)
            if child_facts is not None and child_facts.is_space:
                if child not in spaces:
                    spaces.add(child)
                    todo.append(child)
            else:
                rooms.add(child)
    return rooms, spaces


def build_index(
    configured: Sequence[CommunitySettings],
    facts: Mapping[str, RoomFacts],
    bot_id: str,
    excluded: Collection[str],
) -> CommunityIndex:
    """Map communities to rooms; `excluded` rooms (Verified spaces, DMs, log rooms) never count."""
    rooms: dict[str, frozenset[str]] = {}
    spaces: dict[str, frozenset[str]] = {}
    claimed: set[str] = set(excluded)
    for community in configured:
        own_rooms = set(community.rooms)
        own_spaces: set[str] = set()
        root = facts.get(community.id)
        if root is not None and root.is_space:
            below, own_spaces = _descend(community.id, facts)
            own_rooms |= below
        elif community.id.startswith("!"):
            own_rooms.add(community.id)
        own_rooms -= set(excluded)
        rooms[community.id] = frozenset(own_rooms)
        spaces[community.id] = frozenset(own_spaces)
        claimed |= own_rooms | own_spaces
    joined = {rid for rid, f in facts.items() if f.membership(bot_id) == "join"}
    # spaces first, so a room inside an unconfigured space belongs to that space's community;
    # top-level spaces before sub-spaces, so a sub-space joins its parent's community
    free_spaces = {rid for rid in joined if facts[rid].is_space and rid not in claimed}
    nested = {child for rid in free_spaces for child in facts[rid].space_children}
    for space_id in sorted(free_spaces, key=lambda rid: (rid in nested, rid)):
        if space_id in claimed:
            continue  # a sub-space of a space handled earlier in this loop
        below, own_spaces = _descend(space_id, facts)
        below -= claimed
        rooms[space_id] = frozenset(below)
        spaces[space_id] = frozenset(own_spaces)
        claimed |= below | own_spaces
    for room_id in sorted(joined - claimed):
        if not facts[room_id].is_space and not facts[room_id].direct:
            rooms[room_id] = frozenset({room_id})
            spaces[room_id] = frozenset()
            claimed.add(room_id)

    room_community: dict[str, str] = {}
    for community_id, members in rooms.items():
        for room_id in members:
            room_community.setdefault(room_id, community_id)
    return CommunityIndex(rooms, spaces, room_community)
