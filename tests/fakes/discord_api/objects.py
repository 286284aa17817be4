"""Users, roles, members, overwrites and channels: plain data, each with its JSON as discord.py 2.7
parses it. The rules that join them (permissions, hierarchy) live with the guild (`guilds`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]

TEXT, DM, CATEGORY, PUBLIC_THREAD = 0, 1, 4, 11  # channel types


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Upload:
    """A file the bot sent (multipart `files[n]`), kept as Discord would store it."""

    filename: str
    data: bytes


@dataclass
class User:
    id: int
    username: str
    bot: bool = False
    accepts_dms: bool = True  # False: "Cannot send messages to this user" (50007)

    def payload(self) -> Json:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class Role:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    colour: int = 0
    managed_by_bot: int | None = None  # the integration role a bot gets when invited
    hoist: bool = False
    mentionable: bool = False

    def payload(self) -> Json:
        data: Json = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.colour,
            "colors": {
                "primary_color": self.colour,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "managed": self.managed_by_bot is not None,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.managed_by_bot is not None:
            data["tags"] = {"bot_id": str(self.managed_by_bot)}
        return data


@dataclass
class Member:
    user: User
    roles: list[int] = field(default_factory=list)
    joined_at: str = field(default_factory=iso_now)
    pending: bool = False  # has not passed the server's membership screening yet

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> Json:
        data: Json = {
            "roles": [str(r) for r in self.roles],
            "joined_at": self.joined_at,
            "nick": None,
            "avatar": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": self.pending,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class Overwrite:
    id: int
    type: int  # 0: role, 1: member
    allow: int = 0
    deny: int = 0

    def payload(self) -> Json:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class Channel:
    id: int
    guild_id: int | None
    name: str
    type: int = TEXT
    position: int = 0
    parent_id: int | None = None
    owner_id: int | None = None  # threads: who started it
    recipient: User | None = None  # DM channels
    overwrites: dict[int, Overwrite] = field(default_factory=dict)

    def payload(self) -> Json:
        if self.type == DM:
            assert self.recipient is not None
            return {"id": str(self.id), "type": DM, "recipients": [self.recipient.payload()]}
        data: Json = {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "name": self.name,
            "type": self.type,
            "position": self.position,
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "permission_overwrites": [o.payload() for o in self.overwrites.values()],
            "nsfw": False,
            "topic": None,
            "rate_limit_per_user": 0,
            "last_message_id": None,
        }
        if self.type == PUBLIC_THREAD:
            data.update(
                owner_id=str(self.owner_id),
                member_count=1,
                message_count=0,
                thread_metadata={
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": iso_now(),
                    "locked": False,
                },
            )
        return data
