"""Admin policy for unverified members, enforced with Matrix's own tools so it holds while the
bot is down: `read_only` raises the level needed to post, `verified_only` makes joining need the
Verified space; `open` and `limited` give the room its own settings back.

What a room had before is remembered, so switching back to open restores the room's own settings
rather than our guess of them. With `announce_verification`, limiting rooms carry a pinned notice
on how to verify (`pins.py`).
"""

from __future__ import annotations

import json

from bot.adapters.base import AdapterError, AdapterState
from bot.adapters.matrix.badges import Badges
from bot.adapters.matrix.connection import ClientSource, error_text, is_error
from bot.adapters.matrix.directory import RoomDirectory
from bot.adapters.matrix.notices import room_label
from bot.adapters.matrix.pins import VerificationPins
from bot.adapters.matrix.power import PowerLevelEditor, RoomSettings, policy_settings
from bot.model import ChannelRef, CommunityRef, UnverifiedPolicy

_LIMITING = (UnverifiedPolicy.READ_ONLY, UnverifiedPolicy.VERIFIED_ONLY)


class Policies:
    def __init__(
        self,
        client: ClientSource,
        directory: RoomDirectory,
        state: AdapterState,
        power: PowerLevelEditor,
        pins: VerificationPins,
        badges: Badges,
    ) -> None:
        self._client = client
        self._directory = directory
        self._state = state
        self._power = power
        self._pins = pins
        self._badges = badges

    async def apply(
        self,
        scope: CommunityRef | ChannelRef,
        policy: UnverifiedPolicy,
        keep: frozenset[str] = frozenset(),
    ) -> None:
        """Set `policy` in one room, or in every room of a community but those in `keep` (with
        a policy of their own). Every room is tried; the problems are raised together."""
        if isinstance(scope, ChannelRef):
            rooms = [scope.id]
            community_id = scope.community.id
        else:
            rooms = [r for r in self._directory.protected_rooms(scope.id) if r not in keep]
            community_id = scope.id
        space = (
            await self._badges.verified_space(community_id)
            if policy is UnverifiedPolicy.VERIFIED_ONLY
            else None
        )
        problems = []
        for room_id in rooms:
            try:
                await self._apply_in_room(room_id, policy, space)
            except AdapterError as exc:
                problems.append(str(exc))
        if problems:
            raise AdapterError("; ".join(problems))

    async def _apply_in_room(
        self, room_id: str, policy: UnverifiedPolicy, space: str | None
    ) -> None:
        facts = self._directory.rooms.get(room_id)
        if facts is None or facts.membership(self._directory.bot_id) != "join":
            raise AdapterError(
                f"I am not in {self._directory.room_name(room_id)}, so I cannot set its policy"
            )
        settings = self._directory.settings
        key = f"policy_before:{room_id}"
        saved = await self._state.get(key)
        before = RoomSettings.from_json(json.loads(saved)) if saved else RoomSettings.of(facts)
        target = policy_settings(policy, before, facts, settings.badge_power_level, space)
        limiting = policy in _LIMITING
        if limiting and not saved:
            await self._state.set(key, json.dumps(before.to_json()))
        await self._power.set_events_default(room_id, target.events_default)
        if facts.join_rules != target.join_rules:
            answer = await self._client().room_put_state(
                room_id, "m.room.join_rules", target.join_rules
            )
            if is_error(answer):
                raise AdapterError(
                    f"cannot change who may join {room_label(facts)}: {error_text(answer)}"
                )
            facts.join_rules = target.join_rules
        if not limiting and saved:
            await self._state.set(key, "")  # back to the room's own settings: forget them
        if limiting and settings.announce_verification:
            await self._pins.show(room_id, policy)
        elif not limiting:
            await self._pins.withdraw(room_id)
