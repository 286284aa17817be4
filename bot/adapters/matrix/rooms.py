"""What the adapter knows about each room, kept from the state events sync delivers.

We track state ourselves instead of relying on matrix-nio's room objects because nio does not know
room version 12: there a room's creators (the `m.room.create` sender and `additional_creators`)
outrank everyone and are absent from `power_levels.users`. Every power decision the adapter makes
(roles, "may the bot redact here?") goes through `RoomFacts.level`, so that rule lives in one place.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

# Defaults the spec gives when `m.room.power_levels` exists but a key is missing.
_DEFAULTS = {
    "ban": 50,
    "kick": 50,
    "redact": 50,
    "invite": 0,
    "events_default": 0,
    "state_default": 50,
    "users_default": 0,
}

POWER_LEVELS_LIMIT = 65_536  # bytes: the whole event is capped at 64 KiB
CREATOR = math.inf  # v12 creators: above any number a power_levels event can hold
_LEVELS_KEPT = 100_000  # users whose level a room remembers; then it starts over
QUOTES = "\"'\u201c\u201d\u2018\u2019"  # straight and typographic quotes around a name


def _as_int(value: Any, default: int) -> int:
    """Power levels may be strings in old rooms; anything unreadable falls back to the default."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def creators_outrank_all(room_version: str) -> bool:
    """Room versions 12 and later give creators implicit, unchangeable top power."""
    try:
        return int(room_version) >= 12
    except ValueError:
        return room_version.startswith("org.matrix.hydra")


def supports_restricted(room_version: str) -> bool:
    """`restricted` join rules (join if you are in a named room) exist from room version 8."""
    try:
        return int(room_version) >= 8
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Need:
    """One thing the bot must be able to do in a room, and the level it takes."""

    what: str  # words an admin understands
    key: str  # where it is set in m.room.power_levels
    level: int


@dataclass
class RoomFacts:
    room_id: str
    room_version: str = "1"
    room_type: str | None = None
    creators: frozenset[str] = frozenset()
    power_levels: JsonDict | None = None
    join_rules: JsonDict = field(default_factory=dict)
    encrypted: bool = False
    name: str | None = None
    canonical_alias: str | None = None
    alt_aliases: tuple[str, ...] = ()
    pinned: tuple[str, ...] = ()  # m.room.pinned_events
    members: dict[str, str] = field(default_factory=dict)  # user id -> membership
    space_children: dict[str, list[str]] = field(default_factory=dict)  # child id -> via
    direct: bool = False  # someone was invited as to a direct chat: a DM, not a community room
    # `users()` read once per power_levels content, not per event (a big room lists thousands)
    _users: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)
    _users_of: JsonDict | None = field(default=None, init=False, repr=False, compare=False)
    # each user's `level()`, kept while the three things it is read from stay the same objects
    _levels: dict[str, float] = field(default_factory=dict, init=False, repr=False, compare=False)
    _levels_of: tuple[JsonDict | None, frozenset[str], str] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    # --- keeping up with state ---

    def apply(self, event: JsonDict) -> None:
        """Take one state event (raw JSON) into account; unknown types are ignored."""
        kind = event.get("type")
        key = event.get("state_key")
        content = event.get("content")
        if not isinstance(key, str) or not isinstance(content, dict):
            return
        if kind == "m.room.create":
            self.room_version = str(content.get("room_version", "1"))
            self.room_type = content.get("type") if isinstance(content.get("type"), str) else None
            extra = content.get("additional_creators", [])
            creators = {str(event.get("sender", ""))}
            if isinstance(extra, list):
                creators.update(str(c) for c in extra)
            self.creators = frozenset(c for c in creators if c)
        elif kind == "m.room.power_levels":
            self.power_levels = dict(content)
        elif kind == "m.room.join_rules":
            self.join_rules = dict(content)
        elif kind == "m.room.encryption":
            self.encrypted = True
        elif kind == "m.room.name":
            self.name = str(content.get("name") or "") or None
        elif kind == "m.room.canonical_alias":
            alias = content.get("alias")
            self.canonical_alias = alias if isinstance(alias, str) else None
            alt = content.get("alt_aliases")
            self.alt_aliases = (
                tuple(a for a in alt if isinstance(a, str)) if isinstance(alt, list) else ()
            )
        elif kind == "m.room.pinned_events":
            pinned = content.get("pinned")
            self.pinned = (
                tuple(e for e in pinned if isinstance(e, str)) if isinstance(pinned, list) else ()
            )
        elif kind == "m.room.member":
            self.members[key] = str(content.get("membership", "leave"))
            if content.get("is_direct") is True:
                self.direct = True
        elif kind == "m.space.child":
            via = content.get("via")
            if isinstance(via, list) and via:
                self.space_children[key] = [str(v) for v in via]
            else:  # an empty child event removes the child
                self.space_children.pop(key, None)

    # --- reading it ---

    @property
    def is_space(self) -> bool:
        return self.room_type == "m.space"

    @property
    def label(self) -> str:
        """What people call the room: its name, else its address, else its id."""
        return self.name or self.canonical_alias or self.room_id

    def answers_to(self, wanted: str) -> bool:
        """Whether an admin typing `wanted` means this room: its name, an address (`#general`
        or `#general:server`), case and surrounding quotes ignored."""
        wanted = wanted.strip().strip(QUOTES).strip().casefold()
        if not wanted:
            return False
        if self.name and self.name.strip().casefold() == wanted:
            return True
        for alias in filter(None, (self.canonical_alias, *self.alt_aliases)):
            alias = alias.casefold()
            if wanted in (alias, alias.split(":", 1)[0]):
                return True
        return False

    def joined(self) -> set[str]:
        return {user for user, membership in self.members.items() if membership == "join"}

    def membership(self, user_id: str) -> str | None:
        return self.members.get(user_id)

    def setting(self, key: str) -> int:
        """A top-level power_levels value (e.g. `redact`), with the spec's defaults."""
        if self.power_levels is None:
            # no power_levels event at all: everyone may do everything except what needs 50
            return 50 if key in {"ban", "kick", "redact"} else 0
        return _as_int(self.power_levels.get(key), _DEFAULTS.get(key, 0))

    def needed_for_event(self, event_type: str, *, state: bool) -> int:
        events = (self.power_levels or {}).get("events", {})
        if isinstance(events, dict) and event_type in events:
            return _as_int(events[event_type], 50)
        return self.setting("state_default" if state else "events_default")

    def users(self) -> dict[str, int]:
        """Each listed user's level (do not change the answer: it is kept until the room's
        power levels are replaced, by a state event or by the bot's own change)."""
        content = self.power_levels
        if self._users is None or self._users_of is not content:
            users = (content or {}).get("users", {})
            self._users = (
                {str(u): _as_int(level, 0) for u, level in users.items()}
                if isinstance(users, dict)
                else {}
            )
            self._users_of = content
        return self._users

    def level(self, user_id: str) -> float:
        """The user's power here; v12 creators are above every number (math.inf).

        Every event asks for its sender's, so each answer is kept until the power levels, the
        creators or the room version are replaced (a state event, or the bot's own change)."""
        of = self._levels_of
        if (
            of is None
            or of[0] is not self.power_levels
            or of[1] is not self.creators
            or of[2] is not self.room_version
        ):
            self._levels = {}
            self._levels_of = (self.power_levels, self.creators, self.room_version)
        found = self._levels.get(user_id)
        if found is None:
            if len(self._levels) >= _LEVELS_KEPT:
                self._levels.clear()
            found = self._levels[user_id] = self._level(user_id)
        return found

    def _level(self, user_id: str) -> float:
        if user_id in self.creators and creators_outrank_all(self.room_version):
            return CREATOR
        if self.power_levels is None:
            return 100 if user_id in self.creators else 0
        level = self.users().get(user_id)
        return level if level is not None else self.setting("users_default")

    def is_creator_with_top_power(self, user_id: str) -> bool:
        return self.level(user_id) == CREATOR

    def power_levels_size(self) -> int:
        """Bytes the power_levels content takes as sent (compact JSON), against the 64 KiB cap."""
        return len(json.dumps(self.power_levels or {}, separators=(",", ":")).encode())

    def needs(self, badge_level: int) -> list[Need]:
        """What the bot must be able to do here to protect the room, with the level each takes."""
        return [
            Need("remove messages (redact)", "redact", self.setting("redact")),
            Need(
                "change power levels (m.room.power_levels)",
                "events.m.room.power_levels",
                max(self.needed_for_event("m.room.power_levels", state=True), badge_level),
            ),
            Need(
                "change who may join (m.room.join_rules)",
                "events.m.room.join_rules",
                self.needed_for_event("m.room.join_rules", state=True),
            ),
            Need("invite (invite)", "invite", self.setting("invite")),
            Need("remove members (kick)", "kick", self.setting("kick")),
        ]

    def missing(self, user_id: str, badge_level: int) -> list[Need]:
        """The needs the user's level does not meet (empty when the bot can do everything)."""
        have = self.level(user_id)
        return [need for need in self.needs(badge_level) if have < need.level]

    def may(self, user_id: str, need_key: str, badge_level: int = 1) -> bool:
        have = self.level(user_id)
        return all(have >= need.level for need in self.needs(badge_level) if need.key == need_key)

    def top_users(self, threshold: int) -> list[str]:
        """Joined users at or above `threshold` (creators first): who can fix power problems."""
        joined = self.joined()
        creators = sorted(c for c in self.creators if c in joined)
        users = self.users()
        ranked = sorted(
            (u for u, lvl in users.items() if lvl >= threshold and u in joined),
            key=lambda u: -users[u],
        )
        return creators + [u for u in ranked if u not in creators]
