"""Telling admins what the bot cannot do in a room, each distinct problem once.

Missing power, an encrypted room, a Verified space the bot is not in, power levels nearing the
64 KiB cap, a room it could not join: each is said in words an admin can act on (`notices.py`),
and the exact text is remembered in the adapter's state so a restart does not say it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from bot.adapters.base import AdapterError, AdapterState
from bot.adapters.matrix.directory import RoomDirectory
from bot.adapters.matrix.notices import (
    encrypted_room,
    missing_power,
    power_levels_size,
    room_label,
    verified_space_missing,
)
from bot.adapters.matrix.outbound import Outbound
from bot.adapters.matrix.rooms import RoomFacts
from bot.model import CommunityRef

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing admins must fix in a room; `key` names it (each is told once), `detail` is what
    may be logged (no people)."""

    key: str
    text: str
    detail: str = ""


def room_findings(directory: RoomDirectory, room_id: str) -> list[Finding]:
    """What the bot cannot do in a room now, in `notices.py`'s words: a Verified space it is not
    in, missing power, encryption. Read from kept state only, so the admins' notices and their
    dashboard say the same.

    Community spaces carry no messages and need nothing; a Verified space the admins made
    themselves needs invite and kick, for the badge.
    """
    facts = directory.rooms.get(room_id)
    verified = directory.community_of_verified_space(room_id) is not None
    bot_id = directory.bot_id
    if facts is None or facts.membership(bot_id) != "join":
        if not verified:
            return []
        label = room_label(facts) if facts is not None else room_id
        return [Finding(f"join:{room_id}", verified_space_missing(label, bot_id))]
    settings = directory.settings
    missing = facts.missing(bot_id, settings.badge_power_level)
    if facts.is_space:
        missing = [n for n in missing if verified and n.key in ("invite", "kick")]
    found: list[Finding] = []
    if missing:
        fixers = facts.top_users(settings.admin_power_level)
        needs = ", ".join(need.key for need in missing)
        text = missing_power(facts, bot_id, missing, fixers)
        found.append(Finding(f"power:{room_id}", text, f"too little power for {needs}"))
    if facts.encrypted:
        found.append(Finding(f"e2ee:{room_id}", encrypted_room(facts)))
    return found


class RoomChecks:
    def __init__(self, directory: RoomDirectory, state: AdapterState, outbound: Outbound) -> None:
        self._directory = directory
        self._state = state
        self._outbound = outbound
        self._size_warned: set[str] = set()
        self._background: set[asyncio.Task[Any]] = set()

    async def check(self, room_id: str) -> None:
        """Tell admins what the bot cannot do in a room (once per distinct problem)."""
        directory = self._directory
        community = directory.community_of_verified_space(room_id) or directory.community_of(
            room_id
        )
        if directory.rooms.get(room_id) is None or community is None:
            return
        for finding in room_findings(directory, room_id):
            if finding.detail:
                log.warning("cannot fully protect %s: %s", room_id, finding.detail)
            await self.tell_admins_once(community, finding.key, finding.text)

    async def tell_admins_once(self, community: CommunityRef, key: str, text: str) -> None:
        """Admins hear each distinct problem once, not at every restart. What was said is
        remembered by its fingerprint: the text names the admins who can fix it, and adapter
        state keeps nothing about people."""
        state_key = f"told:{key}"
        said = hashlib.sha256(text.encode()).hexdigest()
        if await self._state.get(state_key) == said:
            return
        try:
            await self._outbound.notify_admins(community, text)
        except AdapterError as exc:
            log.warning("could not tell the admins of %s: %s", community.id, exc)
            return
        await self._state.set(state_key, said)

    def watch_power_levels_size(self, facts: RoomFacts) -> None:
        """Warn admins (in the background: this runs inside sync) before a room's power levels
        reach the cap past which no level there can change; again only after they shrank."""
        size = facts.power_levels_size()
        threshold = self._directory.settings.power_levels_warn_bytes
        room_id = facts.room_id
        if size >= threshold and room_id not in self._size_warned:
            self._size_warned.add(room_id)
            directory = self._directory
            community = directory.community_of(room_id) or directory.community_of_space(room_id)
            if community is not None:
                task = asyncio.create_task(
                    self.tell_admins_once(
                        community, f"size:{room_id}", power_levels_size(facts, size)
                    )
                )
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        elif size < threshold * 0.9:
            self._size_warned.discard(room_id)

    async def close(self) -> None:
        """Stop warnings still being sent."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
