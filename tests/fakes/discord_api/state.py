"""The loopback Discord's world: users, guilds, roles, members, channels, messages, AutoMod rules.

Plain data plus the Discord rules that matter to verifybot (permission arithmetic, role
hierarchy, AutoMod limits) and the JSON shapes discord.py 2.7 parses. It is kept apart from the
HTTP and gateway code so a test can build the world, then look at it after the bot acted.
"""

from __future__ import annotations

import enum
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
Json = dict[str, Any]


class Perm(enum.IntFlag):
    """Discord permission bits (only the ones verifybot's behaviour depends on)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    MODERATE_MEMBERS = 1 << 40


ALL_PERMISSIONS = (1 << 53) - 1
EVERYONE_DEFAULT = (
    Perm.CREATE_INSTANT_INVITE
    | Perm.ADD_REACTIONS
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.CREATE_PUBLIC_THREADS
    | Perm.SEND_MESSAGES_IN_THREADS
)

TEXT, DM, CATEGORY, PUBLIC_THREAD = 0, 1, 4, 11
KEYWORD, MENTION_SPAM = 1, 5
AUTOMOD_LIMITS = {"keyword_rules": 6, "keywords": 1000, "keyword_chars": 60, "regex": 10}
ONE_PER_GUILD = {3, 4, 5, 6}  # spam, keyword preset, mention spam, member profile


class ApiError(Exception):
    """A Discord API error: HTTP status plus Discord's JSON error code and message."""

    def __init__(self, status: int, code: int, message: str, errors: Json | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> Json:
        body: Json = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def unknown(kind: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {kind}")


def form_error(where: str, code: str, message: str) -> ApiError:
    errors = {where: {"_errors": [{"code": code, "message": message}]}}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def rest_message(data: Json) -> Json:
    """A message as REST returns it: `guild_id`, `member` and the mentions' `member` fields come
    only with gateway events (MESSAGE_CREATE), so a REST reader must find members in its cache."""
    out = {k: v for k, v in data.items() if k not in ("guild_id", "member")}
    out["mentions"] = [
        {k: v for k, v in user.items() if k != "member"} for user in data.get("mentions", [])
    ]
    if isinstance(data.get("referenced_message"), dict):
        out["referenced_message"] = rest_message(data["referenced_message"])
    return out


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


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

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> Json:
        data: Json = {
            "roles": [str(r) for r in self.roles],
            "joined_at": self.joined_at,
            "nick": None,
            "avatar": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
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


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    automod_rules: dict[int, Json] = field(default_factory=dict)
    verification_level: int = 1

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def member(self, user_id: int) -> Member:
        try:
            return self.members[user_id]
        except KeyError:
            raise unknown("Member", 10007) from None

    def role(self, role_id: int) -> Role:
        try:
            return self.roles[role_id]
        except KeyError:
            raise unknown("Role", 10011) from None

    def role_named(self, name: str) -> Role | None:
        return next((r for r in self.roles.values() if r.name == name), None)

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise unknown("Channel", 10003) from None

    def top_position(self, member: Member) -> int:
        return max((self.roles[r].position for r in member.roles if r in self.roles), default=0)

    def base_permissions(self, member: Member) -> int:
        if member.user.id == self.owner_id:
            return ALL_PERMISSIONS
        perms = self.everyone.permissions
        for role_id in member.roles:
            if role_id in self.roles:
                perms |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if perms & Perm.ADMINISTRATOR else perms

    def channel_permissions(self, member: Member, channel: Channel) -> int:
        """Discord's algorithm: base, then @everyone, role and member overwrites, in that order."""
        perms = self.base_permissions(member)
        if perms & Perm.ADMINISTRATOR or member.user.id == self.owner_id:
            return ALL_PERMISSIONS
        if channel.type == PUBLIC_THREAD and channel.parent_id is not None:
            channel = self.channels[channel.parent_id]
        if (ow := channel.overwrites.get(self.id)) is not None:
            perms = (perms & ~ow.deny) | ow.allow
        allow = deny = 0
        for role_id in member.roles:
            if (ow := channel.overwrites.get(role_id)) is not None and ow.type == 0:
                allow, deny = allow | ow.allow, deny | ow.deny
        perms = (perms & ~deny) | allow
        if (ow := channel.overwrites.get(member.user.id)) is not None and ow.type == 1:
            perms = (perms & ~ow.deny) | ow.allow
        return perms if perms & Perm.VIEW_CHANNEL else 0  # unseen: no permission at all there

    def require(self, actor: Member, perm: Perm, channel: Channel | None = None) -> None:
        have = (
            self.base_permissions(actor)
            if channel is None
            else self.channel_permissions(actor, channel)
        )
        if not have & perm:
            raise missing_permissions()

    def require_above(self, actor: Member, role: Role) -> None:
        """Role hierarchy: only roles strictly below the actor's highest role may be touched."""
        if actor.user.id == self.owner_id:
            return
        if self.top_position(actor) <= role.position:
            raise missing_permissions()

    def payload(self, *, with_members: bool) -> Json:
        members = self.members.values()
        return {
            "id": str(self.id),
            "name": self.name,
            "owner_id": str(self.owner_id),
            "unavailable": False,
            "verification_level": self.verification_level,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "large": False,
            "member_count": len(self.members),
            "roles": [r.payload() for r in self.roles.values()],
            "channels": [c.payload() for c in self.channels.values() if c.type != PUBLIC_THREAD],
            "threads": [c.payload() for c in self.channels.values() if c.type == PUBLIC_THREAD],
            "members": [m.payload() for m in members if with_members or m.user.bot],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "joined_at": iso_now(),
        }

    def check_automod(self, rule: Json, replacing: int | None = None) -> None:
        """Discord's AutoMod limits, answered as Discord answers them (400, code 50035)."""
        trigger = int(rule["trigger_type"])
        same = [
            r
            for r in self.automod_rules.values()
            if r["trigger_type"] == trigger and int(r["id"]) != replacing
        ]
        cap = 1 if trigger in ONE_PER_GUILD else AUTOMOD_LIMITS["keyword_rules"]
        if trigger in ONE_PER_GUILD | {KEYWORD} and len(same) >= cap:
            raise form_error(
                "trigger_type",
                "AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED",
                "Maximum number of rules of this type exceeded",
            )
        meta = rule.get("trigger_metadata") or {}
        keywords = meta.get("keyword_filter") or []
        if len(keywords) > AUTOMOD_LIMITS["keywords"]:
            raise form_error("trigger_metadata.keyword_filter", "BASE_TYPE_MAX_LENGTH", "Too many")
        if any(len(k) > AUTOMOD_LIMITS["keyword_chars"] for k in keywords):
            raise form_error("trigger_metadata.keyword_filter", "BASE_TYPE_MAX_LENGTH", "Too long")
        if len(meta.get("regex_patterns") or []) > AUTOMOD_LIMITS["regex"]:
            raise form_error("trigger_metadata.regex_patterns", "BASE_TYPE_MAX_LENGTH", "Too many")


class World:
    """Everything the loopback Discord knows, built by tests and changed by the bot's requests."""

    def __init__(self, *, bot_name: str = "verifybot", token: str = "loopback-token") -> None:
        self._ids = itertools.count(1)
        self.token = token
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.dm_channels: dict[int, Channel] = {}
        self.messages: dict[int, Json] = {}  # message id -> payload, for every message seen
        self.reactions: dict[int, set[tuple[str, int]]] = {}  # message id -> (emoji, user id)
        self.bot = self.add_user(bot_name, bot=True)
        self.owner = self.add_user("app-owner")
        self.application_id = self.snowflake()
        self.global_commands: list[Json] = []
        self.guild_commands: dict[int, list[Json]] = {}
        self.role_connection_metadata: list[Json] = []
        self.privileged_intents = True  # False: as if not enabled in the Developer Portal

    def snowflake(self) -> int:
        """A real-looking snowflake, so discord.py's created_at and ordering make sense."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._ids) & 0x3FFFFF)

    # --- building the world (tests) ---------------------------------------------------------

    def add_user(self, username: str, *, bot: bool = False) -> User:
        user = User(self.snowflake(), username, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, owner: User, *, verification_level: int = 1) -> Guild:
        guild = Guild(self.snowflake(), name, owner.id, verification_level=verification_level)
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

    def message(self, channel_id: int, message_id: int) -> Json:
        found = self.messages.get(message_id)
        if found is None or int(found["channel_id"]) != channel_id:
            raise unknown("Message", 10008)
        return found

    def history(
        self,
        channel_id: int,
        *,
        limit: int = 50,
        after: int | None = None,
        before: int | None = None,
    ) -> list[Json]:
        """Get Channel Messages as Discord answers it: newest first; with `after`, the `limit`
        messages right after that id (still newest first), else the newest before `before`."""
        ids = sorted(
            i
            for i, m in self.messages.items()
            if int(m["channel_id"]) == channel_id
            and (after is None or i > after)
            and (before is None or i < before)
        )
        chosen = ids[:limit] if after is not None and before is None else ids[-limit:]
        return [rest_message(self.messages[i]) for i in reversed(chosen)]

    def bot_member(self, guild: Guild) -> Member:
        return guild.member(self.bot.id)

    def dm_channel_for(self, user: User) -> Channel:
        for channel in self.dm_channels.values():
            if channel.recipient is user:
                return channel
        channel = Channel(self.snowflake(), None, "", type=DM, recipient=user)
        self.dm_channels[channel.id] = channel
        return channel

    # --- payloads ---------------------------------------------------------------------------

    def message_payload(
        self,
        channel: Channel,
        author: User,
        content: str,
        *,
        reply_to: Json | None = None,
        mentions: tuple[User, ...] = (),
        attachments: int = 0,
        ping_reply: bool = True,
        referenced: str = "resolved",
    ) -> Json:
        """A MESSAGE_CREATE body as Discord sends it, including the reply's referenced message.

        `referenced` is how Discord filled `referenced_message` in: "resolved" (the message),
        "missing" (the key left out: Discord did not try to fetch it) or "deleted" (null).
        """
        guild = self.guilds.get(channel.guild_id) if channel.guild_id is not None else None
        mentioned = list(mentions)
        if reply_to is not None and ping_reply:
            replied = self.users.get(int(reply_to["author"]["id"]))
            if replied is not None and replied not in mentioned:
                mentioned.append(replied)
        mention_payloads = []
        for user in mentioned:
            data = user.payload()
            if guild is not None and user.id in guild.members:
                data["member"] = guild.members[user.id].payload(with_user=False)
            mention_payloads.append(data)
        message_id = self.snowflake()
        data = {
            "id": str(message_id),
            "channel_id": str(channel.id),
            "author": author.payload(),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": "@everyone" in content or "@here" in content,
            "mentions": mention_payloads,
            "mention_roles": [],
            "attachments": [
                {
                    "id": str(self.snowflake()),
                    "filename": f"file{i}.png",
                    "size": 1024,
                    "url": f"http://127.0.0.1/attachments/{i}.png",
                    "proxy_url": f"http://127.0.0.1/attachments/{i}.png",
                    "content_type": "image/png",
                }
                for i in range(attachments)
            ],
            "embeds": [],
            "pinned": False,
            "type": 0 if reply_to is None else 19,
            "flags": 0,
            "components": [],
        }
        if guild is not None:
            data["guild_id"] = str(guild.id)
            if author.id in guild.members:
                data["member"] = guild.members[author.id].payload(with_user=False)
        if reply_to is not None:
            data["message_reference"] = {
                "type": 0,
                "message_id": reply_to["id"],
                "channel_id": reply_to["channel_id"],
                "guild_id": data.get("guild_id"),
                "fail_if_not_exists": False,
            }
            if referenced == "resolved":
                data["referenced_message"] = {
                    k: v for k, v in reply_to.items() if k != "referenced_message"
                }
            elif referenced == "deleted":
                data["referenced_message"] = None
            else:
                assert referenced == "missing", referenced
        self.messages[message_id] = data
        return data
