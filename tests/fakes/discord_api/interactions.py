"""Slash-command interactions end to end: a member runs a command (INTERACTION_CREATE), the bot
answers through the interaction's token (callback, follow-ups, edits), until the token expires.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .errors import ApiError, unknown
from .guilds import Guild
from .objects import Channel, Json, User
from .rest import BODY, RestRoutes, Route, path_id

EPHEMERAL = 1 << 6


@dataclass
class InteractionRecord:
    id: int
    token: str
    guild_id: int | None
    channel_id: int
    user_id: int
    replies: list[Json] = field(default_factory=list)  # {"kind", "content", "ephemeral", ...}
    expires_after: int | None = None  # the token stops working once this many replies exist

    @property
    def acknowledged(self) -> bool:
        return any(r["kind"] == "callback" for r in self.replies)

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

    async def push_command(
        self, guild: Guild, channel: Channel, user: User, name: str, /, **options: Any
    ) -> InteractionRecord:
        """A member runs a registered slash command; fails loudly if the bot never synced it."""
        registered = self.world.guild_commands.get(guild.id, []) + self.world.global_commands
        command = next((c for c in registered if c["name"] == name), None)
        assert command is not None, (
            f"/{name} was never registered (have {[c['name'] for c in registered]})"
        )
        member = guild.member(user.id)
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
        record = InteractionRecord(
            self.world.snowflake(), secrets.token_urlsafe(24), guild.id, channel.id, user.id
        )
        self.interactions[record.id] = record
        bot = self.world.bot_member(guild)
        data: Json = {
            "id": str(record.id),
            "application_id": str(self.world.application_id),
            "type": 2,
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
            "data": {
                "id": command["id"],
                "name": name,
                "type": 1,
                "guild_id": command.get("guild_id"),
                "options": given,
                "resolved": resolved,
            },
        }
        await self.dispatch("INTERACTION_CREATE", data, guild)
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

    def _reply_message(self, record: InteractionRecord, content: str, flags: int) -> Json:
        _, channel = self.world.locate_channel(record.channel_id)
        data = self.world.message_payload(channel, self.world.bot, content)
        data.update(type=20, flags=flags, webhook_id=str(self.world.application_id))
        return data

    async def _callback(self, request: web.Request) -> Json | None:
        record = self.interactions.get(path_id(request, "interaction_id"))
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
