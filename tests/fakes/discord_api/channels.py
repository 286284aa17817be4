"""Channels, messages, reactions, direct messages and permission overwrites, with Discord's
permission checks (403 with Discord's codes) and the gateway echo of each change.
"""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web

from .errors import ApiError, form_error, missing_permissions, unknown
from .messages import reaction_payload, rest_message
from .objects import PUBLIC_THREAD, Channel, Json, Overwrite, iso_now
from .permissions import Perm
from .rest import BODY, FILES, RestRoutes, Route, path_id


class ChannelRoutes(RestRoutes):
    """Everything the bot does in a channel; mixed into `FakeDiscord`."""

    def routes(self) -> list[Route]:
        return [
            *super().routes(),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._list_messages),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
                self._delete_reaction,
            ),
            ("PUT", "/channels/{channel_id}/permissions/{target_id}", self._put_overwrite),
            ("DELETE", "/channels/{channel_id}/permissions/{target_id}", self._delete_overwrite),
            ("POST", "/users/@me/channels", self._open_dm),
        ]

    async def _get_channel(self, request: web.Request) -> Json:
        _, channel = self.world.locate_channel(path_id(request, "channel_id"))
        return channel.payload()

    async def _create_message(self, request: web.Request) -> Json:
        guild, channel = self.world.locate_channel(path_id(request, "channel_id"))
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
        body, uploads = request[BODY], request[FILES]
        data = self.world.message_payload(
            channel,
            self.world.bot,
            body.get("content") or "",
            components=body.get("components"),
            uploads=uploads,
        )
        await self.dispatch("MESSAGE_CREATE", data, guild)
        return data

    def _readable(self, request: web.Request) -> Channel:
        """A channel the bot may read history in: 403 Missing Access (50001) when it cannot
        see the channel at all."""
        guild, channel = self.world.locate_channel(path_id(request, "channel_id"))
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

    async def _edit_message(self, request: web.Request) -> Json:
        """Edit Message: only the bot's own; `content` and `components` as given (an empty
        list takes the buttons away). Echoed as MESSAGE_UPDATE."""
        guild, channel = self.world.locate_channel(path_id(request, "channel_id"))
        message = self.world.message(channel.id, path_id(request, "message_id"))
        if int(message["author"]["id"]) != self.world.bot.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = request[BODY]
        if "content" in body:
            message["content"] = body["content"] or ""
        if "components" in body:
            message["components"] = body["components"] or []
        message["edited_timestamp"] = iso_now()
        await self.dispatch("MESSAGE_UPDATE", message, guild)
        return rest_message(message)

    async def _get_message(self, request: web.Request) -> Json:
        channel = self._readable(request)
        if not self._may_read_history(channel):
            raise missing_permissions()
        return rest_message(self.world.message(channel.id, path_id(request, "message_id")))

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
        guild, channel = self.world.locate_channel(path_id(request, "channel_id"))
        message = self.world.message(channel.id, path_id(request, "message_id"))
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
        guild, channel = self.world.locate_channel(path_id(request, "channel_id"))
        message = self.world.message(channel.id, path_id(request, "message_id"))
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
            "MESSAGE_REACTION_REMOVE", reaction_payload(message, user_id, emoji), guild
        )
        return None

    async def _open_dm(self, request: web.Request) -> Json:
        user = self.world.users.get(int(request[BODY]["recipient_id"]))
        if user is None:
            raise unknown("User", 10013)
        return self.world.dm_channel_for(user).payload()

    async def _put_overwrite(self, request: web.Request) -> None:
        guild, channel = self.world.locate_channel(path_id(request, "channel_id"))
        if guild is None:
            raise ApiError(403, 50003, "Cannot execute action on a DM channel")
        bot = self.world.bot_member(guild)
        guild.require(bot, Perm.MANAGE_ROLES, channel)
        body = request[BODY]
        allow, deny = int(body.get("allow") or 0), int(body.get("deny") or 0)
        target = path_id(request, "target_id")
        old = channel.overwrites.get(target) or Overwrite(target, 0)
        changed = (allow ^ old.allow) | (deny ^ old.deny)
        if changed & ~guild.base_permissions(bot):
            raise ApiError(403, 50013, "Missing Permissions")  # cannot grant what it lacks
        channel.overwrites[target] = Overwrite(target, int(body["type"]), allow, deny)
        await self.dispatch("CHANNEL_UPDATE", channel.payload(), guild)

    async def _delete_overwrite(self, request: web.Request) -> None:
        guild, channel = self.world.locate_channel(path_id(request, "channel_id"))
        if guild is None:
            raise ApiError(403, 50003, "Cannot execute action on a DM channel")
        guild.require(self.world.bot_member(guild), Perm.MANAGE_ROLES, channel)
        if channel.overwrites.pop(path_id(request, "target_id"), None) is not None:
            await self.dispatch("CHANNEL_UPDATE", channel.payload(), guild)
