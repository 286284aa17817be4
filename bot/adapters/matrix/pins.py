"""A pinned notice in read-only and verified-only rooms saying how to verify.

Newcomers there cannot type a command in the room, and a room's pinned messages are what a client
shows at its top, so (when the admin sets `announce_verification`) the bot pins one short notice
when such a policy is applied and takes it down when the room opens again. The notice's event id
is kept in the adapter's state, so a restart neither pins it twice nor forgets to remove it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import nio

from bot.adapters.base import AdapterState
from bot.adapters.matrix.connection import error_text, is_error
from bot.adapters.matrix.rooms import RoomFacts
from bot.model import UnverifiedPolicy

log = logging.getLogger(__name__)

SendNotice = Callable[[str, str], Awaitable[str]]


def pin_text(policy: UnverifiedPolicy, bot_id: str, prefix: str) -> str:
    """The pinned notice, in words a newcomer understands."""
    who = (
        "Unverified accounts can read this room but not write in it."
        if policy is UnverifiedPolicy.READ_ONLY
        else "Only verified members can take part in this room."
    )
    return (
        f"{who} Verification is optional and keeps no name, document or address. To verify,"
        f" send {prefix}verify to {bot_id} in a direct message and you will get a private link."
    )


class VerificationPins:
    def __init__(
        self,
        client: Callable[[], nio.AsyncClient],
        rooms: Mapping[str, RoomFacts],
        state: AdapterState,
        send_notice: SendNotice,
        *,
        bot_id: str,
        prefix: str,
    ) -> None:
        self._client, self._rooms, self._state = client, rooms, state
        self._send_notice = send_notice
        self._bot_id, self._prefix = bot_id, prefix

    @staticmethod
    def _key(room_id: str) -> str:
        return f"verification_pin:{room_id}"

    async def show(self, room_id: str, policy: UnverifiedPolicy) -> None:
        """Post and pin the notice, unless this room already has it."""
        if await self._state.get(self._key(room_id)):
            return
        event_id = await self._send_notice(room_id, pin_text(policy, self._bot_id, self._prefix))
        await self._state.set(self._key(room_id), event_id)
        facts = self._rooms.get(room_id)
        pinned = [event_id, *(facts.pinned if facts else ())]
        await self._put_pinned(room_id, pinned)

    async def withdraw(self, room_id: str) -> None:
        """Unpin and remove the notice when the room no longer limits unverified members."""
        event_id = await self._state.get(self._key(room_id))
        if not event_id:
            return
        facts = self._rooms.get(room_id)
        if facts is not None and event_id in facts.pinned:
            await self._put_pinned(room_id, [e for e in facts.pinned if e != event_id])
        answer = await self._client().room_redact(room_id, event_id, reason="the room is open")
        if is_error(answer):
            log.warning("could not remove the verification notice: %s", error_text(answer))
        await self._state.set(self._key(room_id), "")

    async def _put_pinned(self, room_id: str, pinned: list[str]) -> None:
        content: dict[str, Any] = {"pinned": pinned}
        answer = await self._client().room_put_state(room_id, "m.room.pinned_events", content)
        if is_error(answer):
            log.warning("could not pin the verification notice: %s", error_text(answer))
            return
        facts = self._rooms.get(room_id)
        if facts is not None:
            facts.pinned = tuple(pinned)
