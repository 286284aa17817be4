"""Changing power levels and join rules safely, and what each policy asks of a room.

`m.room.power_levels` is one event holding every user's level, so each change is a
read-modify-write: done under a per-room lock, against the homeserver's current copy (not our
possibly stale one), so two badges granted at once never overwrite each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import nio

from bot.adapters.base import AdapterError
from bot.adapters.matrix.connection import error_text, is_error
from bot.adapters.matrix.notices import room_label
from bot.adapters.matrix.rooms import RoomFacts, supports_restricted
from bot.model import UnverifiedPolicy

JsonDict = dict[str, Any]
Edit = Callable[[JsonDict], bool]  # changes the content in place; False: nothing to do


class PowerLevelEditor:
    def __init__(
        self,
        client: Callable[[], nio.AsyncClient],
        rooms: dict[str, RoomFacts],
        on_change: Callable[[RoomFacts], None],
    ) -> None:
        self._client = client
        self._rooms = rooms
        self._on_change = on_change  # e.g. watch the size against the 64 KiB limit
        self._locks: dict[str, asyncio.Lock] = {}

    def _where(self, room_id: str) -> str:
        facts = self._rooms.get(room_id)
        return room_label(facts) if facts else room_id

    async def edit(self, room_id: str, edit: Edit) -> None:
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            client = self._client()
            current = await client.room_get_state_event(room_id, "m.room.power_levels")
            if is_error(current):
                raise AdapterError(
                    f"cannot read the power levels of {self._where(room_id)}: {error_text(current)}"
                )
            content = dict(cast(JsonDict, current.content))
            if not edit(content):
                return
            answer = await client.room_put_state(room_id, "m.room.power_levels", content)
            if is_error(answer):
                raise AdapterError(
                    f"cannot change power levels in {self._where(room_id)}: {error_text(answer)}"
                )
            facts = self._rooms.get(room_id)
            if facts is not None:
                facts.power_levels = content
                self._on_change(facts)

    async def raise_to(self, room_id: str, user_id: str, level: int) -> None:
        """At least `level`; a member already higher (a moderator) is never demoted."""

        def edit(content: JsonDict) -> bool:
            users = content.setdefault("users", {})
            if int(users.get(user_id, content.get("users_default", 0))) >= level:
                return False
            users[user_id] = level
            return True

        await self.edit(room_id, edit)

    async def drop_if_at(self, room_id: str, user_id: str, level: int) -> None:
        """Remove the user's entry only if it is exactly `level` (ours): keeps the map small."""
        facts = self._rooms.get(room_id)
        if facts is not None and facts.users().get(user_id) != level:
            return

        def edit(content: JsonDict) -> bool:
            users = content.get("users", {})
            if users.get(user_id) != level:
                return False
            del users[user_id]
            return True

        await self.edit(room_id, edit)

    async def set_events_default(self, room_id: str, value: int) -> None:
        def edit(content: JsonDict) -> bool:
            if int(content.get("events_default", 0)) == value:
                return False
            content["events_default"] = value
            return True

        await self.edit(room_id, edit)


@dataclass(frozen=True, slots=True)
class RoomSettings:
    """The two settings policies touch natively."""

    events_default: int
    join_rules: JsonDict

    def to_json(self) -> JsonDict:
        return {"events_default": self.events_default, "join_rules": self.join_rules}

    @classmethod
    def from_json(cls, data: JsonDict) -> RoomSettings:
        return cls(int(data.get("events_default", 0)), dict(data.get("join_rules", {})))

    @classmethod
    def of(cls, facts: RoomFacts) -> RoomSettings:
        return cls(facts.setting("events_default"), facts.join_rules or {"join_rule": "invite"})


def policy_settings(
    policy: UnverifiedPolicy,
    before: RoomSettings,
    facts: RoomFacts,
    badge_level: int,
    verified_space: str | None,
) -> RoomSettings:
    """What a room's settings become under `policy`, from what it had before any policy.

    read_only: posting needs the badge level. verified_only: joining needs membership of the
    Verified space. open and limited: the room's own settings, as they were.
    """
    events_default = before.events_default
    join_rules = before.join_rules
    if policy is UnverifiedPolicy.READ_ONLY:
        events_default = max(badge_level, before.events_default)
        if facts.setting("users_default") >= events_default:
            raise AdapterError(
                f"everyone in {room_label(facts)} starts at power level"
                f" {facts.setting('users_default')} (users_default), so read_only cannot hold"
                f" back unverified members; lower users_default below {events_default}"
            )
    elif policy is UnverifiedPolicy.VERIFIED_ONLY:
        if not supports_restricted(facts.room_version):
            raise AdapterError(
                f"{room_label(facts)} is room version {facts.room_version}, which has no"
                " restricted join rule; upgrade the room to use verified_only"
            )
        join_rules = {
            "join_rule": "restricted",
            "allow": [{"type": "m.room_membership", "room_id": verified_space}],
        }
    return RoomSettings(events_default, join_rules)
