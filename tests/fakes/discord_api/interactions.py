"""Interactions end to end: a member runs a slash command or a message menu entry
(INTERACTION_CREATE), the bot answers through the interaction's token (callback, follow-ups,
edits; with files and components; or by opening a form), until the token expires. Clicks,
choices and submitted forms are pushed by `components`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .errors import ApiError, unknown
from .guilds import Guild
from .messages import rest_message
from .objects import Channel, Json, Upload, User
from .rest import BODY, FILES, RestRoutes, Route, path_id

EPHEMERAL = 1 << 6
APPLICATION_COMMAND, COMPONENT, MODAL_SUBMIT = 2, 3, 5  # interaction types
CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3  # application command types
UPDATE_MESSAGE, MODAL = 7, 9  # callbacks that change the component's message, open a form
DEFERRED = 5  # "thinking…": the answer follows (a slow bot sends it first)


@dataclass
class InteractionRecord:
    """One interaction a test pushed, and every answer the bot gave through its token.

    Each reply is a dict: `kind` ("callback", "followup", "edit"), `type` (a callback's),
    `content`, `ephemeral`, `message_id` (the message it became, in `world.messages`), and only
    when the bot sent them `components` and `files` (`Upload`s); a form the bot opened is a
    callback of type 9 with its `modal` (custom id, title, components)."""

    id: int
    token: str
    guild_id: int | None
    channel_id: int
    user_id: int
    replies: list[Json] = field(default_factory=list)
    expires_after: int | None = None  # the token stops working once this many replies exist
    type: int = APPLICATION_COMMAND
    message: Json | None = None  # the message a component was on

    @property
    def acknowledged(self) -> bool:
        return any(r["kind"] == "callback" for r in self.replies)

    @property
    def answers(self) -> list[Json]:
        """Replies that are messages to the person (not a form the bot opened, nor a change
        to the message a component was on)."""
        return [r for r in self.replies if r.get("type") not in (MODAL, UPDATE_MESSAGE)]

    @property
    def given(self) -> list[Json]:
        """Replies that give something (words, a form, an update): not a bare "thinking…"."""
        return [r for r in self.replies if r.get("type") != DEFERRED]

    @property
    def modal(self) -> Json | None:
        """The form the bot opened in answer, if it did."""
        return next((r["modal"] for r in self.replies if r.get("type") == MODAL), None)

    @property
    def expired(self) -> bool:
        """Past its window: 3 s unanswered, or 15 minutes for follow-ups (see `expire`)."""
        return self.expires_after is not None and len(self.replies) >= self.expires_after

    def expire(self, *, after_replies: int = 0) -> None:
        """Let the token's time run out once `after_replies` replies went through: then the
        response is refused with Unknown Interaction (10062, 404) and every webhook request with
        Invalid Webhook Token (50027, 401), as Discord does."""
        self.expires_after = after_replies


class InteractionRoutes(RestRoutes):
    """Interactions pushed by tests, and the REST routes that answer them."""

    interactions: dict[int, InteractionRecord]

    def routes(self) -> list[Route]:
        return [
            *super().routes(),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._callback),
            ("POST", "/webhooks/{app_id}/{token}", self._followup),
            ("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self._edit_reply),
        ]

    def registered(self, guild: Guild, name: str, type: int = CHAT_INPUT) -> Json:
        """The command the bot registered under `name` (slash: 1, message menu: 3); fails
        loudly if the bot never synced it."""
        commands = self.world.guild_commands.get(guild.id, []) + self.world.global_commands
        command = next(
            (c for c in commands if c["name"] == name and c.get("type", 1) == type), None
        )
        have = [(c["name"], c.get("type", 1)) for c in commands]
        assert command is not None, f"{name!r} (type {type}) was never registered (have {have})"
        return command

    async def push_command(
        self, guild: Guild, channel: Channel, user: User, name: str, /, **options: Any
    ) -> InteractionRecord:
        """A member runs a registered slash command; fails loudly if the bot never synced it."""
        command = self.registered(guild, name)
        resolved: Json = {"users": {}, "members": {}, "channels": {}}
        given = []
        for spec in command.get("options") or []:
            if spec["name"] not in options:
                assert not spec.get("required"), f"/{name} needs option {spec['name']}"
                continue
            value = options.pop(spec["name"])
            if spec["type"] == 6:  # USER
                target = guild.member(value.id)
                resolved["users"][str(value.id)] = value.payload()
                perms = guild.base_permissions(target)
                resolved["members"][str(value.id)] = target.payload(
                    with_user=False, permissions=perms
                )
                value = str(value.id)
            elif spec["type"] == 7:  # CHANNEL
                resolved["channels"][str(value.id)] = {
                    **value.payload(),
                    "permissions": str(1 << 10),
                }
                value = str(value.id)
            given.append({"name": spec["name"], "type": spec["type"], "value": value})
        assert not options, f"/{name} has no options {sorted(options)}"
        data = {
            "id": command["id"],
            "name": name,
            "type": CHAT_INPUT,
            "guild_id": command.get("guild_id"),
            "options": given,
            "resolved": resolved,
        }
        return await self.push_interaction(guild, channel, user, APPLICATION_COMMAND, data)

    async def push_message_command(
        self, guild: Guild, user: User, name: str, message: Json
    ) -> InteractionRecord:
        """A member uses a message menu entry (Apps → `name`) on `message`, in its channel."""
        command = self.registered(guild, name, MESSAGE_COMMAND)
        _, channel = self.world.locate_channel(int(message["channel_id"]))
        data = {
            "id": command["id"],
            "name": name,
            "type": MESSAGE_COMMAND,
            "guild_id": command.get("guild_id"),
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: rest_message(message)}},
        }
        return await self.push_interaction(guild, channel, user, APPLICATION_COMMAND, data)

    async def push_user_command(
        self, guild: Guild, channel: Channel, user: User, name: str, target: User
    ) -> InteractionRecord:
        """A member uses a member menu entry (Apps → `name` on `target`'s profile)."""
        command = self.registered(guild, name, USER_COMMAND)
        member = guild.member(target.id)
        data = {
            "id": command["id"],
            "name": name,
            "type": USER_COMMAND,
            "guild_id": command.get("guild_id"),
            "target_id": str(target.id),
            "resolved": {
                "users": {str(target.id): target.payload()},
                "members": {str(target.id): member.payload(with_user=False)},
            },
        }
        return await self.push_interaction(guild, channel, user, APPLICATION_COMMAND, data)

    async def push_interaction(
        self,
        guild: Guild,
        channel: Channel,
        user: User,
        type: int,
        data: Json,
        *,
        message: Json | None = None,
    ) -> InteractionRecord:
        """INTERACTION_CREATE of `type` (2 command, 3 component, 5 modal submit) as a member of
        `guild` in `channel`; `message` is the message a component was on."""
        member = guild.member(user.id)
        record = InteractionRecord(
            self.world.snowflake(),
            secrets.token_urlsafe(24),
            guild.id,
            channel.id,
            user.id,
            type=type,
            message=message,
        )
        self.interactions[record.id] = record
        bot = self.world.bot_member(guild)
        payload: Json = {
            "id": str(record.id),
            "application_id": str(self.world.application_id),
            "type": type,
            "token": record.token,
            "version": 1,
            "guild_id": str(guild.id),
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "locale": "en-US",
            "guild_locale": "en-US",
            "member": member.payload(permissions=guild.channel_permissions(member, channel)),
            "app_permissions": str(guild.channel_permissions(bot, channel)),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            "data": data,
        }
        if message is not None:
            payload["message"] = message
        await self.dispatch("INTERACTION_CREATE", payload, guild)
        return record

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

    def _reply_message(self, record: InteractionRecord, body: Json, files: list[Upload]) -> Json:
        _, channel = self.world.locate_channel(record.channel_id)
        data = self.world.message_payload(
            channel,
            self.world.bot,
            body.get("content") or "",
            components=body.get("components"),
            uploads=files,
        )
        data.update(
            type=20, flags=int(body.get("flags") or 0), webhook_id=str(self.world.application_id)
        )
        return data

    def _reply(self, kind: str, body: Json, message: Json, files: list[Upload]) -> Json:
        reply: Json = {
            "kind": kind,
            "content": body.get("content"),
            "ephemeral": bool(int(body.get("flags") or 0) & EPHEMERAL),
            "message_id": message["id"],
        }
        if body.get("components"):
            reply["components"] = body["components"]
        if files:
            reply["files"] = files
        return reply

    async def _callback(self, request: web.Request) -> Json | None:
        record = self.interactions.get(path_id(request, "interaction_id"))
        if record is None or record.token != request.match_info["token"] or record.expired:
            raise unknown("interaction", 10062)
        if record.acknowledged:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = request[BODY]
        data = body.get("data") or {}
        message = None
        if body["type"] == MODAL:
            reply = {"kind": "callback", "type": MODAL, "content": None, "modal": data}
        elif body["type"] == UPDATE_MESSAGE:
            message = self._update_component_message(record, data)
            reply = {"kind": "callback", "type": UPDATE_MESSAGE, "content": message["content"]}
            reply.update(ephemeral=bool(message["flags"] & EPHEMERAL), message_id=message["id"])
        else:
            message = self._reply_message(record, data, request[FILES])
            reply = self._reply("callback", data, message, request[FILES])
            reply = {"kind": "callback", "type": body["type"], **reply}
        record.replies.append(reply)
        if request.query.get("with_response") not in ("1", "true"):
            return None
        resource: Json = {"type": body["type"]}
        if body["type"] in (4, UPDATE_MESSAGE) and message is not None:
            resource["message"] = message
        return {
            "interaction": {
                "id": str(record.id),
                "type": record.type,
                "response_message_id": None if message is None else message["id"],
                "response_message_loading": body["type"] == 5,
                "response_message_ephemeral": bool(reply.get("ephemeral")),
            },
            "resource": resource,
        }

    def _update_component_message(self, record: InteractionRecord, data: Json) -> Json:
        """UPDATE_MESSAGE: the message the component was on changes in place (what is not
        given stays)."""
        if record.message is None:
            raise ApiError(400, 50035, "Invalid Form Body: no message to update")
        message = self.world.messages[int(record.message["id"])]
        if "content" in data:
            message["content"] = data["content"] or ""
        if "components" in data:
            message["components"] = data["components"] or []
        return message

    async def _followup(self, request: web.Request) -> Json:
        record = self._interaction(request)
        body = request[BODY]
        message = self._reply_message(record, body, request[FILES])
        record.replies.append(self._reply("followup", body, message, request[FILES]))
        return message

    async def _edit_reply(self, request: web.Request) -> Json:
        record = self._interaction(request)
        if not record.acknowledged:
            raise unknown("Message", 10008)
        body = request[BODY]
        original = record.replies[0]
        flags = EPHEMERAL if original["ephemeral"] else 0
        message = self._reply_message(record, {**body, "flags": flags}, request[FILES])
        record.replies.append(
            self._reply("edit", {**body, "flags": flags}, message, request[FILES])
        )
        return message
