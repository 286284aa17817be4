"""The loopback Discord's REST API: the endpoints verifybot's adapter calls, with Discord's rules.

Handlers take an aiohttp request and return the JSON body (None for 204) or raise `ApiError`;
`server.FakeDiscord` turns that into a response, records the request and applies rate limits.
State changes are echoed on the gateway (GUILD_MEMBER_UPDATE, CHANNEL_UPDATE, ...) as Discord does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from .gateway import EPHEMERAL, Gateway, InteractionRecord
from .state import (
    KEYWORD,
    MENTION_SPAM,
    PUBLIC_THREAD,
    ApiError,
    Channel,
    Guild,
    Json,
    Member,
    Overwrite,
    Perm,
    Role,
    User,
    form_error,
    missing_permissions,
    rest_message,
    unknown,
)

API = "/api/v10"
BODY: web.RequestKey[Any] = web.RequestKey(
    "body"
)  # the parsed JSON body, set by the server's middleware
Handler = Callable[[web.Request], Awaitable[Any]]


class RestApi(Gateway):
    """REST handlers; mixed into `FakeDiscord`, which owns the world and the gateway."""

    def _add_routes(self, app: web.Application) -> None:
        r = app.router
        apps = "/applications/{app_id}"
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/users/@me", self._me),
            ("GET", "/oauth2/applications/@me", self._application),
            ("PUT", f"{apps}/commands", self._put_commands),
            ("GET", f"{apps}/commands", self._get_commands),
            ("PUT", f"{apps}/guilds/{{guild_id}}/commands", self._put_commands),
            ("GET", f"{apps}/guilds/{{guild_id}}/commands", self._get_commands),
            ("PUT", f"{apps}/role-connections/metadata", self._put_role_metadata),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._callback),
            ("POST", "/webhooks/{app_id}/{token}", self._followup),
            ("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self._edit_reply),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._list_messages),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
                self._delete_reaction,
            ),
            ("PUT", "/channels/{channel_id}/permissions/{target_id}", self._put_overwrite),
            ("DELETE", "/channels/{channel_id}/permissions/{target_id}", self._delete_overwrite),
            ("POST", "/users/@me/channels", self._open_dm),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self._add_member_role),
            (
                "DELETE",
                "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
                self._remove_member_role,
            ),
            ("GET", "/guilds/{guild_id}/roles", self._list_roles),
            ("POST", "/guilds/{guild_id}/roles", self._create_role),
            ("PATCH", "/guilds/{guild_id}/roles/{role_id}", self._edit_role),
            ("GET", "/guilds/{guild_id}/auto-moderation/rules", self._list_automod),
            ("POST", "/guilds/{guild_id}/auto-moderation/rules", self._create_automod),
            ("PATCH", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}", self._edit_automod),
            ("DELETE", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}", self._delete_automod),
        ]
        for method, path, handler in table:
            r.add_route(method, API + path, handler)

    # --- small helpers -------------------------------------------------------------------------

    def _guild(self, request: web.Request) -> tuple[Guild, Member]:
        guild = self.world.guild(_id(request, "guild_id"))
        return guild, self.world.bot_member(guild)

    def _interaction(self, request: web.Request) -> InteractionRecord:
        """The interaction behind a webhook token; once its 15 minutes are over, Discord answers
        401 Invalid Webhook Token (50027) to every request made with it."""
        token = request.match_info["token"]
        for record in self.interactions.values():
            if record.token == token:
                if record.expired:
                    raise ApiError(401, 50027, "Invalid Webhook Token")
                return record
        raise unknown("Webhook", 10015)

    # --- identity and commands -----------------------------------------------------------------

    def _bot_user(self) -> Json:
        return {**self.world.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0}

    async def _me(self, request: web.Request) -> Json:
        return self._bot_user()

    async def _application(self, request: web.Request) -> Json:
        return {
            "id": str(self.world.application_id),
            "name": self.world.bot.username,
            "icon": None,
            "description": "loopback application",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.world.owner.payload(),
            "flags": 1 << 19 | 1 << 15,  # GATEWAY_MESSAGE_CONTENT_LIMITED, GATEWAY_GUILD_MEMBERS
            "team": None,
            "bot": self.world.bot.payload(),
        }

    async def _put_commands(self, request: web.Request) -> list[Json]:
        guild_id = request.match_info.get("guild_id")
        if guild_id is not None:
            self.world.guild(int(guild_id))
        commands = []
        for spec in request[BODY]:
            command = {
                "id": str(self.world.snowflake()),
                "application_id": str(self.world.application_id),
                "version": str(self.world.snowflake()),
                "type": 1,
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                **spec,
            }
            if command["default_member_permissions"] is not None:  # Discord answers a string
                command["default_member_permissions"] = str(command["default_member_permissions"])
            if guild_id is not None:
                command["guild_id"] = guild_id
            commands.append(command)
        if guild_id is None:
            self.world.global_commands = commands
        else:
            self.world.guild_commands[int(guild_id)] = commands
        return commands

    async def _get_commands(self, request: web.Request) -> list[Json]:
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return self.world.global_commands
        return self.world.guild_commands.get(int(guild_id), [])

    async def _put_role_metadata(self, request: web.Request) -> list[Json]:
        self.world.role_connection_metadata = list(request[BODY])
        return self.world.role_connection_metadata

    # --- interactions --------------------------------------------------------------------------

    def _reply_message(self, record: InteractionRecord, content: str, flags: int) -> Json:
        _, channel = self.world.locate_channel(record.channel_id)
        data = self.world.message_payload(channel, self.world.bot, content)
        data.update(type=20, flags=flags, webhook_id=str(self.world.application_id))
        return data

    async def _callback(self, request: web.Request) -> Json | None:
        record = self.interactions.get(_id(request, "interaction_id"))
        if record is None or record.token != request.match_info["token"] or record.expired:
            raise unknown("interaction", 10062)
        if record.acknowledged:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = request[BODY]
        data = body.get("data") or {}
        flags = int(data.get("flags") or 0)
        message = self._reply_message(record, data.get("content") or "", flags)
        reply = {
            "kind": "callback",
            "type": body["type"],
            "content": data.get("content"),
            "ephemeral": bool(flags & EPHEMERAL),
            "message_id": message["id"],
        }
        record.replies.append(reply)
        if request.query.get("with_response") not in ("1", "true"):
            return None
        resource: Json = {"type": body["type"]}
        if body["type"] == 4:
            resource["message"] = message
        return {
            "interaction": {
                "id": str(record.id),
                "type": 2,
                "response_message_id": message["id"],
                "response_message_loading": body["type"] == 5,
                "response_message_ephemeral": bool(flags & EPHEMERAL),
            },
            "resource": resource,
        }

    async def _followup(self, request: web.Request) -> Json:
        record = self._interaction(request)
        body = request[BODY]
        flags = int(body.get("flags") or 0)
        message = self._reply_message(record, body.get("content") or "", flags)
        record.replies.append(
            {
                "kind": "followup",
                "content": body.get("content"),
                "ephemeral": bool(flags & EPHEMERAL),
            }
        )
        return message

    async def _edit_reply(self, request: web.Request) -> Json:
        record = self._interaction(request)
        if not record.acknowledged:
            raise unknown("Message", 10008)
        body = request[BODY]
        original = record.replies[0]
        record.replies.append(
            {"kind": "edit", "content": body.get("content"), "ephemeral": original["ephemeral"]}
        )
        flags = EPHEMERAL if original["ephemeral"] else 0
        return self._reply_message(record, body.get("content") or "", flags)

    # --- channels, messages, reactions, DMs ----------------------------------------------------

    async def _get_channel(self, request: web.Request) -> Json:
        _, channel = self.world.locate_channel(_id(request, "channel_id"))
        return channel.payload()

    async def _create_message(self, request: web.Request) -> Json:
        guild, channel = self.world.locate_channel(_id(request, "channel_id"))
        if guild is None:
            assert channel.recipient is not None
            if not channel.recipient.accepts_dms:
                raise ApiError(403, 50007, "Cannot send messages to this user")
        else:
            bot = self.world.bot_member(guild)
            send = (
                Perm.SEND_MESSAGES_IN_THREADS
                if channel.type == PUBLIC_THREAD
                else Perm.SEND_MESSAGES
            )
            guild.require(bot, Perm.VIEW_CHANNEL, channel)
            guild.require(bot, send, channel)
        body = request[BODY]
        data = self.world.message_payload(channel, self.world.bot, body.get("content") or "")
        await self.dispatch("MESSAGE_CREATE", data, guild)
        return data

    def _readable(self, request: web.Request) -> Channel:
        """A channel the bot may read history in: 403 Missing Access (50001) when it cannot
        see the channel at all."""
        guild, channel = self.world.locate_channel(_id(request, "channel_id"))
        if guild is not None:
            bot = self.world.bot_member(guild)
            if not guild.channel_permissions(bot, channel) & Perm.VIEW_CHANNEL:
                raise ApiError(403, 50001, "Missing Access")
        return channel

    def _may_read_history(self, channel: Channel) -> bool:
        if channel.guild_id is None:
            return True
        guild = self.world.guild(channel.guild_id)
        perms = guild.channel_permissions(self.world.bot_member(guild), channel)
        return bool(perms & Perm.READ_MESSAGE_HISTORY)

    async def _get_message(self, request: web.Request) -> Json:
        channel = self._readable(request)
        if not self._may_read_history(channel):
            raise missing_permissions()
        return rest_message(self.world.message(channel.id, _id(request, "message_id")))

    async def _list_messages(self, request: web.Request) -> list[Json]:
        """Get Channel Messages: `limit` 1-100 (default 50), `after` or `before`; newest first.
        Without Read Message History Discord answers an empty list, not an error."""
        channel = self._readable(request)
        query = request.query
        if "around" in query:
            raise NotImplementedError("the loopback Discord does not serve ?around=")
        try:
            limit = int(query.get("limit", "50"))
            after = int(query["after"]) if "after" in query else None
            before = int(query["before"]) if "before" in query else None
        except ValueError:
            raise form_error("limit", "NUMBER_TYPE_COERCE", "Value is not int.") from None
        if not 1 <= limit <= 100:
            raise form_error("limit", "NUMBER_TYPE_MAX", "int value should be <= 100 and >= 1.")
        if not self._may_read_history(channel):
            return []
        return self.world.history(channel.id, limit=limit, after=after, before=before)

    async def _delete_message(self, request: web.Request) -> None:
        guild, channel = self.world.locate_channel(_id(request, "channel_id"))
        message = self.world.message(channel.id, _id(request, "message_id"))
        if int(message["author"]["id"]) != self.world.bot.id:
            if guild is None:
                raise ApiError(403, 50003, "Cannot execute action on a DM channel")
            guild.require(self.world.bot_member(guild), Perm.MANAGE_MESSAGES, channel)
        del self.world.messages[int(message["id"])]
        self.world.reactions.pop(int(message["id"]), None)
        gone = {"id": message["id"], "channel_id": message["channel_id"]}
        if guild is not None:
            gone["guild_id"] = str(guild.id)
        await self.dispatch("MESSAGE_DELETE", gone, guild)

    async def _delete_reaction(self, request: web.Request) -> None:
        guild, channel = self.world.locate_channel(_id(request, "channel_id"))
        message = self.world.message(channel.id, _id(request, "message_id"))
        raw_user = request.match_info["user_id"]
        user_id = self.world.bot.id if raw_user == "@me" else int(raw_user)
        if user_id != self.world.bot.id:
            if guild is None:
                raise ApiError(403, 50003, "Cannot execute action on a DM channel")
            guild.require(self.world.bot_member(guild), Perm.MANAGE_MESSAGES, channel)
        emoji = unquote(request.match_info["emoji"])
        reactions = self.world.reactions.setdefault(int(message["id"]), set())
        if (emoji, user_id) not in reactions:
            return None  # Discord answers 204 for a reaction that is already gone
        reactions.discard((emoji, user_id))
        await self.dispatch(
            "MESSAGE_REACTION_REMOVE", self._reaction_payload(message, user_id, emoji), guild
        )
        return None

    async def _open_dm(self, request: web.Request) -> Json:
        user = self.world.users.get(int(request[BODY]["recipient_id"]))
        if user is None:
            raise unknown("User", 10013)
        return self.world.dm_channel_for(user).payload()

    async def _put_overwrite(self, request: web.Request) -> None:
        guild, channel = self.world.locate_channel(_id(request, "channel_id"))
        if guild is None:
            raise ApiError(403, 50003, "Cannot execute action on a DM channel")
        bot = self.world.bot_member(guild)
        guild.require(bot, Perm.MANAGE_ROLES, channel)
        body = request[BODY]
        allow, deny = int(body.get("allow") or 0), int(body.get("deny") or 0)
        target = _id(request, "target_id")
        old = channel.overwrites.get(target) or Overwrite(target, 0)
        changed = (allow ^ old.allow) | (deny ^ old.deny)
        if changed & ~guild.base_permissions(bot):
            raise ApiError(403, 50013, "Missing Permissions")  # cannot grant what it lacks
        channel.overwrites[target] = Overwrite(target, int(body["type"]), allow, deny)
        await self.dispatch("CHANNEL_UPDATE", channel.payload(), guild)

    async def _delete_overwrite(self, request: web.Request) -> None:
        guild, channel = self.world.locate_channel(_id(request, "channel_id"))
        if guild is None:
            raise ApiError(403, 50003, "Cannot execute action on a DM channel")
        guild.require(self.world.bot_member(guild), Perm.MANAGE_ROLES, channel)
        if channel.overwrites.pop(_id(request, "target_id"), None) is not None:
            await self.dispatch("CHANNEL_UPDATE", channel.payload(), guild)

    # --- members and roles ---------------------------------------------------------------------

    async def _get_member(self, request: web.Request) -> Json:
        guild, _ = self._guild(request)
        return guild.member(_id(request, "user_id")).payload()

    async def _change_member_role(self, request: web.Request, add: bool) -> None:
        guild, bot = self._guild(request)
        member = guild.member(_id(request, "user_id"))
        role = guild.role(_id(request, "role_id"))
        guild.require(bot, Perm.MANAGE_ROLES)
        guild.require_above(bot, role)
        if role.managed_by_bot is not None or role.id == guild.id:
            raise ApiError(403, 50013, "Missing Permissions")
        if add == (role.id in member.roles):
            return
        if add:
            member.roles.append(role.id)
        else:
            member.roles.remove(role.id)
        await self.dispatch(
            "GUILD_MEMBER_UPDATE", {"guild_id": str(guild.id), **member.payload()}, guild
        )

    async def _add_member_role(self, request: web.Request) -> None:
        await self._change_member_role(request, add=True)

    async def _remove_member_role(self, request: web.Request) -> None:
        await self._change_member_role(request, add=False)

    async def _list_roles(self, request: web.Request) -> list[Json]:
        guild, _ = self._guild(request)
        return [r.payload() for r in guild.roles.values()]

    async def _role_event(self, event: str, guild: Guild, role: Role) -> None:
        await self.dispatch(event, {"guild_id": str(guild.id), "role": role.payload()}, guild)

    async def _create_role(self, request: web.Request) -> Json:
        """New roles go to the bottom (position 1), as on Discord; the others move up one."""
        guild, bot = self._guild(request)
        guild.require(bot, Perm.MANAGE_ROLES)
        body = request[BODY]
        perms = int(body.get("permissions") or 0)
        if perms & ~guild.base_permissions(bot):
            raise ApiError(403, 50013, "Missing Permissions")
        moved = [r for r in guild.roles.values() if r.id != guild.id]
        for other in moved:
            other.position += 1
        role = self.world.add_role(
            guild, body.get("name") or "new role", perms, position=1, colour=_colour(body),
            hoist=bool(body.get("hoist")), mentionable=bool(body.get("mentionable")),
        )  # fmt: skip
        await self._role_event("GUILD_ROLE_CREATE", guild, role)
        for other in moved:
            await self._role_event("GUILD_ROLE_UPDATE", guild, other)
        return role.payload()

    async def _edit_role(self, request: web.Request) -> Json:
        guild, bot = self._guild(request)
        role = guild.role(_id(request, "role_id"))
        guild.require(bot, Perm.MANAGE_ROLES)
        guild.require_above(bot, role)
        body = request[BODY]
        if "name" in body:
            role.name = body["name"]
        if "color" in body or "colors" in body:
            role.colour = _colour(body)
        if "permissions" in body:
            role.permissions = int(body["permissions"])
        role.hoist = bool(body.get("hoist", role.hoist))
        role.mentionable = bool(body.get("mentionable", role.mentionable))
        await self._role_event("GUILD_ROLE_UPDATE", guild, role)
        return role.payload()

    # --- AutoMod -------------------------------------------------------------------------------

    def _rule(self, request: web.Request) -> tuple[Guild, Json]:
        guild, bot = self._guild(request)
        guild.require(bot, Perm.MANAGE_GUILD)
        rule = guild.automod_rules.get(_id(request, "rule_id"))
        if rule is None:
            raise unknown("Auto Moderation Rule", 10066)
        return guild, rule

    async def _list_automod(self, request: web.Request) -> list[Json]:
        guild, bot = self._guild(request)
        guild.require(bot, Perm.MANAGE_GUILD)
        return list(guild.automod_rules.values())

    async def _create_automod(self, request: web.Request) -> Json:
        guild, bot = self._guild(request)
        guild.require(bot, Perm.MANAGE_GUILD)
        body = dict(request[BODY])
        body.setdefault("enabled", False)  # Discord's default when the field is left out
        rule = self.world.add_automod_rule(guild, self.world.bot, body)
        await self.dispatch("AUTO_MODERATION_RULE_CREATE", rule, guild)
        return rule

    async def _edit_automod(self, request: web.Request) -> Json:
        guild, rule = self._rule(request)
        body = request[BODY]
        updated = {**rule, **{k: v for k, v in body.items() if k in rule and k != "trigger_type"}}
        updated["exempt_roles"] = [str(r) for r in updated["exempt_roles"]]
        updated["exempt_channels"] = [str(c) for c in updated["exempt_channels"]]
        guild.check_automod(updated, replacing=int(rule["id"]))
        rule.update(updated)
        await self.dispatch("AUTO_MODERATION_RULE_UPDATE", rule, guild)
        return rule

    async def _delete_automod(self, request: web.Request) -> None:
        guild, rule = self._rule(request)
        del guild.automod_rules[int(rule["id"])]
        await self.dispatch("AUTO_MODERATION_RULE_DELETE", rule, guild)

    def automod_verdict(
        self, guild: Guild, channel: Channel, author: User, content: str, mentions: int
    ) -> Json | None:
        """The first enabled rule that blocks this message before delivery, as Discord would."""
        member = guild.members.get(author.id)
        if member is None or guild.base_permissions(member) & (
            Perm.ADMINISTRATOR | Perm.MANAGE_GUILD
        ):
            return None
        for rule in guild.automod_rules.values():
            exempt_roles = {int(r) for r in rule["exempt_roles"]}
            exempt_channels = {int(c) for c in rule["exempt_channels"]}
            if not rule["enabled"] or exempt_roles & set(member.roles):
                continue
            if channel.id in exempt_channels or channel.parent_id in exempt_channels:
                continue
            meta = rule["trigger_metadata"]
            if rule["trigger_type"] == KEYWORD and (
                any(_keyword_matches(k, content) for k in meta.get("keyword_filter") or [])
                or any(re.search(p, content, re.I) for p in meta.get("regex_patterns") or [])
            ):
                return rule
            if rule["trigger_type"] == MENTION_SPAM and mentions > int(
                meta.get("mention_total_limit", 50)
            ):
                return rule
        return None


def _id(request: web.Request, key: str) -> int:
    try:
        return int(request.match_info[key])
    except ValueError:
        raise ApiError(404, 0, "404: Not Found") from None


def _colour(body: Json) -> int:
    colours = body.get("colors")
    if isinstance(colours, dict):
        return int(colours.get("primary_color") or 0)
    return int(body.get("color") or 0)


def _keyword_matches(keyword: str, content: str) -> bool:
    """Discord keyword semantics: whole words unless `*` marks a side as a wildcard."""
    core = keyword.strip("*")
    start = "" if keyword.startswith("*") else r"(?<!\w)"
    end = "" if keyword.endswith("*") else r"(?!\w)"
    return re.search(start + re.escape(core) + end, content, re.IGNORECASE) is not None
