"""What the adapter knows about rooms and communities, shared by every part of it.

Room state (`RoomFacts`), which rooms form which community (`CommunityIndex`), the bot's direct
rooms with members, the Verified spaces and the management rooms; and the rules that read them:
a room's community, a member's standing. The sync loop keeps it current; everything else reads.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable

from bot.adapters.base import AdapterState
from bot.adapters.matrix.communities import CommunityIndex, build_index
from bot.adapters.matrix.notices import room_label
from bot.adapters.matrix.rooms import RoomFacts
from bot.config import CommunitySettings, Config, MatrixSettings
from bot.model import Actor, ChannelRef, CommunityRef, MemberRef, Role

DM_ROOMS_KEY = "dm_room_ids"  # the bot's direct rooms, as room ids only
OLD_DM_ROOMS_KEY = "dm_rooms"  # before: member -> room, which named members in adapter state
_ACTORS_KEPT = 100_000  # accounts whose `Actor` is shared; then it starts over


def verified_space_key(community_id: str) -> str:
    """Where a community's Verified space is remembered in the adapter's state."""
    return f"verified_space:{community_id}"


class RoomDirectory:
    def __init__(self, settings: MatrixSettings, config: Config) -> None:
        self.settings = settings
        self.config = config
        self.bot_id = settings.user_id
        self.rooms: dict[str, RoomFacts] = {}
        self.index = CommunityIndex()
        # The bot's direct rooms are remembered by room id alone; who is in each is read from
        # the room's state (so adapter state keeps nothing about people, and erasure owes it
        # nothing). Oldest first: a member's newest DM room is where the bot answers.
        self.dm_room_ids: list[str] = []
        self.dm_rooms: dict[str, str] = {}  # member -> DM room (derived)
        self.dm_members: dict[str, str] = {}  # DM room -> member (derived)
        self.verified_spaces: dict[str, str] = {}  # community -> Verified space
        # rooms of a served space the bot tried to join and could not -> why (for the admins)
        self.join_failures: dict[str, str] = {}
        self._actors: dict[tuple[str, Role], Actor] = {}  # (account, role) -> its Actor
        self._refs: dict[str, CommunityRef] = {}  # room -> its community, as of `_refs_of`
        self._refs_of: CommunityIndex | None = None
        # moderators' and log rooms: commands typed there act on their community
        self.management: dict[str, str] = {
            room: c.id
            for c in self.configured()
            for room in (c.log_channel, c.moderator_channel)
            if room
        }

    async def load(self, state: AdapterState) -> None:
        """The DM rooms and Verified spaces remembered from earlier runs."""
        raw = await state.get(DM_ROOMS_KEY)
        if raw:
            with contextlib.suppress(ValueError, TypeError):
                self.dm_room_ids = [str(room) for room in json.loads(raw)]
        old = await state.get(OLD_DM_ROOMS_KEY)
        if old:  # written by an earlier version: keep the rooms, forget the members
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                rooms = [str(room) for room in dict(json.loads(old)).values()]
                self.dm_room_ids = list(dict.fromkeys([*rooms, *self.dm_room_ids]))
            await state.set(DM_ROOMS_KEY, json.dumps(self.dm_room_ids))
            await state.set(OLD_DM_ROOMS_KEY, "")
        self._derive_dm_members()
        for community in self.configured():
            space = community.verified_space or await state.get(verified_space_key(community.id))
            if space:
                self.verified_spaces[community.id] = space

    # --- communities --------------------------------------------------------------------------

    def configured(self) -> list[CommunitySettings]:
        return [c for c in self.config.communities if c.network == "matrix"]

    def settings_for(self, community_id: str) -> CommunitySettings | None:
        return self.config.community("matrix", community_id)

    def reindex(self) -> None:
        """Recompute which rooms form which community; Verified spaces, DMs and management
        rooms never count as community rooms."""
        self._derive_dm_members()
        excluded = set(self.verified_spaces.values()) | set(self.dm_room_ids) | set(self.management)
        self.index = build_index(self.configured(), self.rooms, self.bot_id, excluded)

    def _derive_dm_members(self) -> None:
        """Who each direct room is with: the one member there besides the bot (joined or
        invited); rooms not yet synced keep the member the bot last put there."""
        members: dict[str, str] = {}
        for room_id in self.dm_room_ids:
            facts = self.rooms.get(room_id)
            others = (
                [
                    u
                    for u, m in facts.members.items()
                    if u != self.bot_id and m in ("join", "invite")
                ]
                if facts is not None
                else []
            )
            if len(others) == 1:
                members[room_id] = others[0]
            elif room_id in self.dm_members:
                members[room_id] = self.dm_members[room_id]
        self.dm_members = members
        self.dm_rooms = {member: room for room, member in members.items()}  # newest wins

    def communities(self) -> list[CommunityRef]:
        return [CommunityRef("matrix", cid) for cid in self.index.ids()]

    def community_of(self, room_id: str) -> CommunityRef | None:
        """Asked for every event: the answers are kept until the next `reindex`."""
        if self._refs_of is not self.index:
            self._refs, self._refs_of = {}, self.index
        found = self._refs.get(room_id)
        if found is None:
            community = self.index.community_of(room_id)
            if not community:
                return None
            found = self._refs[room_id] = CommunityRef("matrix", community)
        return found

    def community_of_space(self, space_id: str) -> CommunityRef | None:
        for community_id, spaces in self.index.spaces.items():
            if space_id in spaces:
                return CommunityRef("matrix", community_id)
        return None

    def community_of_verified_space(self, room_id: str) -> CommunityRef | None:
        for community_id, space in self.verified_spaces.items():
            if space == room_id:
                return CommunityRef("matrix", community_id)
        return None

    def bot_joined(self, room_id: str) -> bool:
        facts = self.rooms.get(room_id)
        return facts is not None and facts.membership(self.bot_id) == "join"

    def protected_rooms(self, community_id: str) -> list[str]:
        """The community's rooms the bot is in (where it can see and act)."""
        return sorted(r for r in self.index.rooms.get(community_id, ()) if self.bot_joined(r))

    def member_communities(self, member: MemberRef) -> list[CommunityRef]:
        """The communities with a room or space the member has joined."""
        found: list[CommunityRef] = []
        for community_id, rooms in self.index.rooms.items():
            places: Iterable[str] = [*rooms, *self.index.spaces.get(community_id, ())]
            if any(
                r in self.rooms and self.rooms[r].membership(member.id) == "join" for r in places
            ):
                found.append(CommunityRef("matrix", community_id))
        return found

    def room_name(self, room_id: str) -> str:
        """A room as admins find it: its name with its address, else its id."""
        facts = self.rooms.get(room_id)
        return room_label(facts) if facts is not None else room_id

    def name_of(self, place: CommunityRef | ChannelRef) -> str:
        """A community's configured name or its space's name; a room's name or address."""
        if isinstance(place, CommunityRef):
            settings = self.settings_for(place.id)
            if settings is not None and settings.name:
                return settings.name
        facts = self.rooms.get(place.id)
        return facts.label if facts is not None else place.id

    # --- standing -----------------------------------------------------------------------------

    def role_at(self, level: float) -> Role:
        if level >= self.settings.admin_power_level:
            return Role.ADMIN
        if level >= self.settings.moderator_power_level:
            return Role.MODERATOR
        return Role.MEMBER

    def community_role(self, community_id: str, user_id: str) -> Role:
        """A member's standing in a community: the highest of its spaces (the admins' home)."""
        rooms = self.rooms
        best: float | None = None  # the first highest, as `max` keeps it (no list per event)
        for space in self.index.spaces.get(community_id, ()):
            facts = rooms.get(space)
            if facts is not None:
                level = facts.level(user_id)
                if best is None or level > best:
                    best = level
        if best is None and community_id in rooms:
            best = rooms[community_id].level(user_id)
        return self.role_at(0 if best is None else best)

    def actor(self, user_id: str, room_id: str, community: CommunityRef) -> Actor:
        """Who acts in a room: the higher of their standing there and in the community.

        Asked for every event, so the frozen answer is shared per account and role (the role
        itself is read afresh each time, from levels the rooms keep)."""
        facts = self.rooms.get(room_id)
        here = self.role_at(facts.level(user_id)) if facts else Role.MEMBER
        there = self.community_role(community.id, user_id)
        role = there if there > here else here  # `max`, without its call
        found = self._actors.get((user_id, role))
        if found is None:
            if len(self._actors) >= _ACTORS_KEPT:
                self._actors.clear()
            found = self._actors[(user_id, role)] = Actor(
                MemberRef("matrix", user_id), Role(role), is_self=user_id == self.bot_id
            )
        return found

    # --- direct rooms -------------------------------------------------------------------------

    async def remember_dm(self, state: AdapterState, user_id: str, room_id: str) -> None:
        """Make `room_id` the member's DM room (their newest one is where the bot answers)."""
        self.dm_room_ids = [r for r in self.dm_room_ids if r != room_id] + [room_id]
        self.dm_members[room_id] = user_id
        await state.set(DM_ROOMS_KEY, json.dumps(self.dm_room_ids))
        self.reindex()
