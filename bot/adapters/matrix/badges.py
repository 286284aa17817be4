"""The Verified badge on Matrix: a power level in the community's rooms, and membership of (an
invitation to) the community's Verified space.

The space is the record of who holds a badge (`holders` reads it back to reconcile), and the
`restricted` join rules of `verified_only` rooms name it. The bot creates the space when the admins
have not configured one; as its creator it can never be locked out of it (room version 12).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import nio

from bot.adapters.base import AdapterError, AdapterState
from bot.adapters.matrix.connection import ClientSource, error_text, is_error
from bot.adapters.matrix.directory import RoomDirectory, verified_space_key
from bot.adapters.matrix.outbound import Outbound
from bot.adapters.matrix.power import PowerLevelEditor
from bot.adapters.matrix.rooms import RoomFacts
from bot.model import CommunityRef, MemberRef

log = logging.getLogger(__name__)


class Badges:
    def __init__(
        self,
        client: ClientSource,
        directory: RoomDirectory,
        state: AdapterState,
        power: PowerLevelEditor,
        outbound: Outbound,
    ) -> None:
        self._client = client
        self._directory = directory
        self._state = state
        self._power = power
        self._outbound = outbound
        self._level = directory.settings.badge_power_level
        self._space_locks: dict[str, asyncio.Lock] = {}  # community -> creating its space

    async def show(self, member: MemberRef, community: CommunityRef, on: bool) -> None:
        """On: invite to the Verified space, badge level where the member is. Off: undo both."""
        space = await self.verified_space(community.id)
        problems: list[str] = []
        facts = self._directory.rooms.get(space)
        membership = facts.membership(member.id) if facts else None
        if on and membership not in ("join", "invite"):
            answer = await self._client().room_invite(space, member.id)
            if is_error(answer):
                raise AdapterError(
                    f"could not invite a member to the Verified space: {error_text(answer)}"
                )
            if facts is not None:
                facts.members[member.id] = "invite"
            await self._explain_space_invite(member, community, space)
        elif not on and membership in ("join", "invite"):
            answer = await self._client().room_kick(space, member.id, reason="verification ended")
            if is_error(answer):
                raise AdapterError(
                    f"could not remove a member from the Verified space: {error_text(answer)}"
                )
            if facts is not None:
                facts.members[member.id] = "leave"
        for room_id in self._directory.protected_rooms(community.id):
            room = self._directory.rooms[room_id]
            try:
                if on and room.membership(member.id) == "join":
                    await self._power.raise_to(room_id, member.id, self._level)
                elif not on:
                    await self._power.drop_if_at(room_id, member.id, self._level)
            except AdapterError as exc:
                problems.append(str(exc))
        if problems:
            log.warning("a badge was only partly shown: %s", "; ".join(problems))

    async def _explain_space_invite(
        self, member: MemberRef, community: CommunityRef, space: str
    ) -> None:
        """An invitation from a bot needs a word of why, or it looks like spam."""
        directory = self._directory
        try:
            await self._outbound.send_direct(
                member.id,
                f"I invited you to the space “{directory.room_name(space)}”. Being in it shows"
                f" that you hold the Verified badge in {directory.name_of(community)}, and it"
                " lets you into rooms that only verified members can join. Joining is optional.",
            )
        except AdapterError as exc:
            log.info("could not explain the Verified space invitation: %s", exc)

    async def drop_level(self, room_id: str, user_id: str) -> None:
        """A member left a room: their badge entry goes, if the bot may change levels there."""
        if self._directory.rooms[room_id].may(self._directory.bot_id, "events.m.room.power_levels"):
            await self._power.drop_if_at(room_id, user_id, self._level)

    async def holders(self, community: CommunityRef) -> AsyncIterator[MemberRef]:
        """Members of (or invited to) the community's Verified space: who shows the badge."""
        space = await self.known_verified_space(community.id)
        facts = self._directory.rooms.get(space) if space else None
        if facts is None:
            return
        for user, membership in sorted(facts.members.items()):
            if membership in ("join", "invite") and user != self._directory.bot_id:
                yield MemberRef("matrix", user)

    async def known_verified_space(self, community_id: str) -> str | None:
        """The Verified space if there is one yet (remembered ones of unconfigured communities
        are read back lazily, as those communities are only known once synced)."""
        directory = self._directory
        known = directory.verified_spaces.get(community_id)
        if known is None:
            known = await self._state.get(verified_space_key(community_id)) or None
            if known is not None:
                directory.verified_spaces[community_id] = known
                directory.reindex()
        return known

    async def verified_space(self, community_id: str) -> str:
        """The community's Verified space: configured, remembered, or created by the bot.

        Created by the bot, it is the space's creator and so (room v12) can never be locked out.
        """
        directory = self._directory
        known = directory.verified_spaces.get(community_id)
        if known is not None:
            return known
        async with self._space_locks.setdefault(community_id, asyncio.Lock()):
            known = await self.known_verified_space(community_id)
            if known is not None:
                return known
            settings = directory.settings_for(community_id)
            name = f"Verified — {settings.name}" if settings and settings.name else "Verified"
            answer = await self._client().room_create(
                space=True,
                name=name,
                topic="Members of this space hold the community's Verified badge.",
                preset=nio.RoomPreset.private_chat,
            )
            if is_error(answer):
                raise AdapterError(f"could not create the Verified space: {error_text(answer)}")
            space = str(answer.room_id)
            directory.verified_spaces[community_id] = space
            # known to the room index at once, before sync reports the new space
            facts = directory.rooms.setdefault(space, RoomFacts(space))
            facts.room_type = "m.space"
            facts.members[directory.bot_id] = "join"
            await self._state.set(verified_space_key(community_id), space)
            directory.reindex()
            return space
