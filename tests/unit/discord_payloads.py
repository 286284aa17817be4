"""Real discord.py objects built from gateway payloads, the way its ConnectionState builds them.

The Discord translation functions read `discord.Message`, `RawReactionActionEvent` and friends;
building those from payload dicts through the library's own parsers means a test exercises what
the gateway path really hands over, with any content, ids, mentions or references.
"""

from __future__ import annotations

from typing import Any

import discord
from discord.state import ConnectionState

Json = dict[str, Any]

GUILD = 100000000000000001
CHANNEL = 200000000000000001
THREAD = 200000000000000002
ADMIN_ROLE = 300000000000000001
MOD_ROLE = 300000000000000002
BOT_ID = 400000000000000001
STAMP = "2024-01-01T00:00:00+00:00"


def user(user_id: int, *, bot: bool = False) -> Json:
    return {
        "id": str(user_id),
        "username": f"u{user_id}",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": bot,
    }


def member(roles: list[int]) -> Json:
    return {
        "roles": [str(r) for r in roles],
        "joined_at": STAMP,
        "nick": None,
        "avatar": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "premium_since": None,
        "communication_disabled_until": None,
    }


def _role(role_id: int, name: str, permissions: int) -> Json:
    return {
        "id": str(role_id),
        "name": name,
        "permissions": str(permissions),
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
    }


def _guild() -> Json:
    manage = discord.Permissions(manage_messages=True).value
    return {
        "id": str(GUILD),
        "name": "guild",
        "owner_id": "1",
        "roles": [
            _role(
                GUILD, "@everyone", discord.Permissions(view_channel=True, send_messages=True).value
            ),
            _role(ADMIN_ROLE, "admin", discord.Permissions(administrator=True).value),
            _role(MOD_ROLE, "mod", manage),
        ],
        "channels": [
            {"id": str(CHANNEL), "type": 0, "name": "general", "position": 0},
        ],
        "threads": [
            {
                "id": str(THREAD),
                "guild_id": str(GUILD),
                "type": 11,
                "name": "thread",
                "parent_id": str(CHANNEL),
                "owner_id": "5",
                "member_count": 1,
                "message_count": 0,
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": STAMP,
                    "locked": False,
                },
            }
        ],
        "members": [],
        "emojis": [],
        "stickers": [],
        "features": [],
        "member_count": 1,
    }


class Gateway:
    """A ConnectionState holding one guild; each parse returns what discord.py dispatched."""

    def __init__(self) -> None:
        self.dispatched: list[tuple[str, tuple[Any, ...]]] = []
        self.state = ConnectionState(
            dispatch=lambda name, *args: self.dispatched.append((name, args)),
            handlers={},
            hooks={},
            http=None,  # type: ignore[arg-type]  # parsing never sends a request
            intents=discord.Intents.all(),
            max_messages=None,
        )
        self.state._add_guild_from_data(_guild())  # type: ignore[arg-type]

    def _last(self, name: str) -> Any:
        found = [args[0] for event, args in self.dispatched if event == name]
        self.dispatched.clear()
        return found[-1] if found else None

    def message(self, data: Json) -> discord.Message:
        self.state.parse_message_create(data)  # type: ignore[arg-type]
        message: discord.Message = self._last("message")
        return message

    def reaction(self, data: Json) -> discord.RawReactionActionEvent:
        self.state.parse_message_reaction_add(data)  # type: ignore[arg-type]
        raw: discord.RawReactionActionEvent = self._last("raw_reaction_add")
        return raw

    def member_removed(self, data: Json) -> discord.RawMemberRemoveEvent:
        self.state.parse_guild_member_remove(data)  # type: ignore[arg-type]
        raw: discord.RawMemberRemoveEvent = self._last("raw_member_remove")
        return raw

    def member_added(self, data: Json) -> discord.Member | None:
        self.state.parse_guild_member_add(data)  # type: ignore[arg-type]
        added: discord.Member | None = self._last("member_join")
        return added


def message_payload(content: str, **extra: Any) -> Json:
    """A MESSAGE_CREATE body in the guild's text channel; `extra` overrides any field."""
    data: Json = {
        "id": "500000000000000001",
        "channel_id": str(CHANNEL),
        "guild_id": str(GUILD),
        "author": user(5),
        "member": member([]),
        "content": content,
        "timestamp": STAMP,
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
    }
    data.update(extra)
    return data
