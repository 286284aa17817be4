"""What the bot writes: notices, direct rooms with members, word to admins, redactions.

Every message is an `m.notice` with empty `m.mentions`, so the bot's words never ping anyone and
other bots do not answer them. A member's direct room is opened on first need and remembered
across restarts; each member gets one at a time, however many answers are on their way.
"""

from __future__ import annotations

import asyncio

import nio

from bot.adapters.base import AdapterError, AdapterState
from bot.adapters.matrix import files
from bot.adapters.matrix.connection import ClientSource, JsonDict, error_text, is_error
from bot.adapters.matrix.directory import RoomDirectory
from bot.model import CommunityRef


class Outbound:
    def __init__(self, client: ClientSource, directory: RoomDirectory, state: AdapterState) -> None:
        self._client = client
        self._directory = directory
        self._state = state
        self._dm_locks: dict[str, asyncio.Lock] = {}  # member -> opening their DM room

    async def send_notice(self, room_id: str, text: str, *, reply_to: str | None = None) -> str:
        """Post `text` (optionally as a reply); returns the new event's id."""
        content: JsonDict = {"msgtype": "m.notice", "body": text, "m.mentions": {}}
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.send_message(room_id, content)

    async def send_file(self, room_id: str, filename: str, data: bytes) -> str:
        """Upload `data` and post it as an `m.file`; raises `FileRefused` (in words for the
        member) when the homeserver does not take it."""
        url = await files.upload(self._client, filename, data)
        return await self.send_message(room_id, files.file_content(filename, url, len(data)))

    async def send_message(self, room_id: str, content: JsonDict) -> str:
        answer = await self._client().room_send(room_id, "m.room.message", content)
        if is_error(answer):
            raise AdapterError(f"could not post in {room_id}: {error_text(answer)}")
        return str(answer.event_id)

    async def send_direct(self, user_id: str, text: str) -> None:
        await self.send_notice(await self.dm_room(user_id), text)

    async def notify_admins(self, community: CommunityRef, text: str) -> None:
        """The community's log room if configured; otherwise a DM to its top admins (commands
        offered in `text` work in both: each is a management room)."""
        directory = self._directory
        settings = directory.settings_for(community.id)
        if settings is not None and settings.log_channel:
            await self.send_notice(settings.log_channel, text)
            return
        candidates: list[str] = []
        for room in [*sorted(directory.index.spaces.get(community.id, ())), community.id]:
            facts = directory.rooms.get(room)
            if facts is not None:
                candidates += facts.top_users(directory.settings.admin_power_level)
        admins = [u for u in dict.fromkeys(candidates) if u != directory.bot_id][:3]
        if not admins:
            raise AdapterError(
                f"no log room is configured for {community.id} and I see no admin to tell"
            )
        for admin in admins:
            await self.send_direct(admin, text)

    async def redact(self, room_id: str, event_id: str, reason: str) -> None:
        answer = await self._client().room_redact(room_id, event_id, reason=reason)
        if is_error(answer):
            raise AdapterError(f"could not remove {event_id} in {room_id}: {error_text(answer)}")

    async def dm_room(self, user_id: str) -> str:
        """The member's DM room with the bot, opened on first need and remembered."""
        directory = self._directory
        async with self._dm_locks.setdefault(user_id, asyncio.Lock()):
            room_id = directory.dm_rooms.get(user_id)
            if room_id is not None:
                facts = directory.rooms.get(room_id)
                theirs = facts.membership(user_id) if facts else "invite"
                mine = facts.membership(directory.bot_id) if facts else "join"
                if theirs in ("join", "invite") and mine == "join":
                    return room_id
            answer = await self._client().room_create(
                is_direct=True, preset=nio.RoomPreset.trusted_private_chat, invite=[user_id]
            )
            if is_error(answer):
                raise AdapterError(f"could not open a direct chat: {error_text(answer)}")
            room_id = str(answer.room_id)
            await directory.remember_dm(self._state, user_id, room_id)
            return room_id
