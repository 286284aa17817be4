"""What a community's admins see of it on their dashboard, read from the state sync keeps.

No request reaches the homeserver: every answer comes from `RoomDirectory`, which sync keeps
current, so the page shows the community as it is now. The problems are the findings the admins'
notices tell once (`room_checks.py`, in `notices.py`'s words), recomputed each time, so one
fixed since disappears from the page.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.adapters.matrix.directory import RoomDirectory
from bot.adapters.matrix.notices import cannot_join, power_levels_size
from bot.adapters.matrix.room_checks import room_findings
from bot.model import CommunityRef, MemberRef, Role


class CommunityFactsReader:
    """`CommunityFacts` for Matrix: members, problems and standing from kept room state."""

    def __init__(self, directory: RoomDirectory) -> None:
        self._directory = directory

    def _served(self, community: CommunityRef) -> bool:
        return community.network == "matrix" and community.id in self._directory.index.rooms

    def _spaces(self, community_id: str) -> list[str]:
        return sorted(self._directory.index.spaces.get(community_id, ()))

    def member_count(self, community: CommunityRef) -> int | None:
        """Accounts joined to the community's space (and sub-spaces) or to any of its rooms the
        bot is in, each counted once, the bot not counted.

        The union, not the space alone: many members join a room from a link without ever
        joining the space, and the bot protects them all the same. It is also who
        `member_communities` says belongs to the community, so the verified share on the
        dashboard is a share of the members the badge is offered to. None when the bot is in
        none of the community's rooms (it has no current member list then).
        """
        if not self._served(community):
            return None
        directory = self._directory
        places = [*self._spaces(community.id), *directory.protected_rooms(community.id)]
        known = [p for p in places if directory.bot_joined(p)]
        if not known:
            return None
        members: set[str] = set()
        for place in known:
            members |= directory.rooms[place].joined()
        return len(members - {directory.bot_id})

    def problems(self, community: CommunityRef) -> list[str]:
        """What stops the bot protecting the community now, each with its fix: rooms it could
        not join, missing power or encryption in its rooms, power levels near the 64 KiB cap,
        a Verified space it is not in or cannot invite to."""
        if not self._served(community):
            return []
        directory = self._directory
        texts: list[str] = []
        for room_id in sorted(directory.index.rooms.get(community.id, ())):
            why = directory.join_failures.get(room_id)
            if why is not None and not directory.bot_joined(room_id):
                texts.append(cannot_join(directory.room_name(room_id), directory.bot_id, why))
        places = [*directory.protected_rooms(community.id), *self._spaces(community.id)]
        verified = directory.verified_spaces.get(community.id)
        if verified is not None:
            places.append(verified)
        for room_id in places:
            texts += [finding.text for finding in room_findings(directory, room_id)]
            texts += self._size(room_id)
        return list(dict.fromkeys(texts))

    def _size(self, room_id: str) -> list[str]:
        """The power levels' size once past the warning threshold (`power_levels_warn_bytes`)."""
        facts = self._directory.rooms.get(room_id)
        if facts is None or facts.power_levels is None:
            return []
        size = facts.power_levels_size()
        if size < self._directory.settings.power_levels_warn_bytes:
            return []
        return [power_levels_size(facts, size)]

    def role_of(self, community: CommunityRef, member: MemberRef) -> Role | None:
        """The account's standing as the commands read it: the highest power level it has in
        the community's spaces, its rooms and its moderators' and log rooms (wherever it could
        type `dashboard` and be an admin). None when the bot knows none of those rooms."""
        if not self._served(community) or member.network != "matrix":
            return None
        directory = self._directory
        places: Iterable[str] = [
            *self._spaces(community.id),
            *directory.index.rooms.get(community.id, ()),
            *(room for room, owner in directory.management.items() if owner == community.id),
        ]
        levels = [directory.rooms[p].level(member.id) for p in places if directory.bot_joined(p)]
        if not levels:
            return None
        return directory.role_at(max(levels))
