"""The loopback Discord's world: users, guilds, roles, members, channels, messages, AutoMod rules.

Plain data plus the Discord rules that matter to verifybot (in `guilds`) and the JSON shapes
discord.py 2.7 parses (in `objects` and `messages`). It is kept apart from the HTTP and gateway
code so a test can build the world, then look at it after the bot acted.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from .errors import unknown
from .guilds import Guild
from .messages import MessageLog
from .objects import DM, PUBLIC_THREAD, TEXT, Channel, Json, Member, Role, Upload, User
from .permissions import EVERYONE_DEFAULT

DISCORD_EPOCH_MS = 1_420_070_400_000


class World(MessageLog):
    """Everything the loopback Discord knows, built by tests and changed by the bot's requests."""

    def __init__(self, *, bot_name: str = "verifybot", token: str = "loopback-token") -> None:
        self._ids = itertools.count(1)
        self.token = token
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.dm_channels: dict[int, Channel] = {}
        self.messages: dict[int, Json] = {}  # message id -> payload, for every message seen
        self.reactions: dict[int, set[tuple[str, int]]] = {}  # message id -> (emoji, user id)
        self.uploads: dict[int, Upload] = {}  # attachment id -> a file the bot sent
        self.bot = self.add_user(bot_name, bot=True)
        self.owner = self.add_user("app-owner")
        self.application_id = self.snowflake()
        self.global_commands: list[Json] = []
        self.guild_commands: dict[int, list[Json]] = {}
        self.role_connection_metadata: list[Json] = []
        self.privileged_intents = True  # False: as if not enabled in the Developer Portal

    def snowflake(self, shard: tuple[int, int] | None = None) -> int:
        """A real-looking snowflake, so discord.py's created_at and ordering make sense; with
        `shard` (id, count), one Discord routes to that shard ((id >> 22) % count)."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        if shard is not None:
            ms -= (ms - shard[0]) % shard[1]
        return (ms << 22) | (next(self._ids) & 0x3FFFFF)

    # --- building the world (tests) ---------------------------------------------------------

    def add_user(self, username: str, *, bot: bool = False) -> User:
        user = User(self.snowflake(), username, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        owner: User,
        *,
        verification_level: int = 1,
        shard: tuple[int, int] | None = None,  # (id, count): a guild on that shard
    ) -> Guild:
        guild_id = self.snowflake(shard)
        guild = Guild(guild_id, name, owner.id, verification_level=verification_level)
        guild.roles[guild.id] = Role(guild.id, "@everyone", int(EVERYONE_DEFAULT), position=0)
        guild.members[owner.id] = Member(owner)
        self.guilds[guild.id] = guild
        return guild

    def add_role(self, guild: Guild, name: str, permissions: int = 0, **kw: Any) -> Role:
        position = kw.pop("position", max(r.position for r in guild.roles.values()) + 1)
        role = Role(self.snowflake(), name, int(permissions), position=position, **kw)
        guild.roles[role.id] = role
        return role

    def add_member(self, guild: Guild, user: User, roles: tuple[Role, ...] = ()) -> Member:
        member = Member(user, [r.id for r in roles])
        guild.members[user.id] = member
        return member

    def add_channel(self, guild: Guild, name: str, *, type: int = TEXT) -> Channel:
        channel = Channel(self.snowflake(), guild.id, name, type=type, position=len(guild.channels))
        guild.channels[channel.id] = channel
        return channel

    def add_thread(self, guild: Guild, parent: Channel, owner: User, name: str) -> Channel:
        thread = Channel(self.snowflake(), guild.id, name, PUBLIC_THREAD, 0, parent.id, owner.id)
        guild.channels[thread.id] = thread
        return thread

    def add_automod_rule(
        self, guild: Guild, creator: User, body: Json, *, check_limits: bool = True
    ) -> Json:
        """An AutoMod rule as Discord stores it (admins' own rules are made this way in tests)."""
        rule = {
            "id": str(self.snowflake()),
            "guild_id": str(guild.id),
            "creator_id": str(creator.id),
            "name": body["name"],
            "event_type": body.get("event_type", 1),
            "trigger_type": int(body["trigger_type"]),
            "trigger_metadata": body.get("trigger_metadata") or {},
            "actions": body.get("actions") or [{"type": 1, "metadata": {}}],
            "enabled": bool(body.get("enabled", True)),
            "exempt_roles": [str(r) for r in body.get("exempt_roles") or []],
            "exempt_channels": [str(c) for c in body.get("exempt_channels") or []],
        }
        if check_limits:
            guild.check_automod(rule)
        guild.automod_rules[int(rule["id"])] = rule
        return rule

    # --- lookups ----------------------------------------------------------------------------

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise unknown("Guild", 10004) from None

    def locate_channel(self, channel_id: int) -> tuple[Guild | None, Channel]:
        if channel_id in self.dm_channels:
            return None, self.dm_channels[channel_id]
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild, guild.channels[channel_id]
        raise unknown("Channel", 10003)

    def bot_member(self, guild: Guild) -> Member:
        return guild.member(self.bot.id)

    def dm_channel_for(self, user: User) -> Channel:
        for channel in self.dm_channels.values():
            if channel.recipient is user:
                return channel
        channel = Channel(self.snowflake(), None, "", type=DM, recipient=user)
        self.dm_channels[channel.id] = channel
        return channel
