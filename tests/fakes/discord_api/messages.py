"""Messages as Discord sends them: the gateway's MESSAGE_CREATE, what REST returns, history.

`MessageLog` is the part of the world that keeps every message and reaction; a test reads
`world.messages` and `world.reactions` to see what the bot removed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .errors import unknown
from .guilds import Guild
from .objects import Channel, Json, Upload, User, iso_now


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


def reaction_payload(message: Json, user_id: int, emoji: str) -> Json:
    """MESSAGE_REACTION_ADD / _REMOVE without the optional fields (member, message author)."""
    data: Json = {
        "user_id": str(user_id),
        "channel_id": message["channel_id"],
        "message_id": message["id"],
        "emoji": {"id": None, "name": emoji},
        "type": 0,
        "burst": False,
    }
    if "guild_id" in message:
        data["guild_id"] = message["guild_id"]
    return data


class MessageLog:
    """Every message and reaction of the world; mixed into `World`."""

    users: dict[int, User]
    guilds: dict[int, Guild]
    messages: dict[int, Json]  # message id -> payload, for every message seen
    reactions: dict[int, set[tuple[str, int]]]  # message id -> (emoji, user id)
    uploads: dict[int, Upload]  # attachment id -> the file the bot sent
    snowflake: Callable[[], int]

    def attached(self, message: Json) -> list[Upload]:
        """The files the bot sent with a message (its `attachments`), in order."""
        return [self.uploads[int(a["id"])] for a in message.get("attachments", [])]

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
        components: list[Json] | None = None,
        uploads: Sequence[Upload] = (),
    ) -> Json:
        """A MESSAGE_CREATE body as Discord sends it, including the reply's referenced message.

        `referenced` is how Discord filled `referenced_message` in: "resolved" (the message),
        "missing" (the key left out: Discord did not try to fetch it) or "deleted" (null).
        `components` (buttons, selects) and `uploads` (files) are what the bot sent with it.
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
            "components": components or [],
        }
        for upload in uploads:
            attachment_id = self.snowflake()
            self.uploads[attachment_id] = upload
            data["attachments"].append(
                {
                    "id": str(attachment_id),
                    "filename": upload.filename,
                    "size": len(upload.data),
                    "url": f"http://127.0.0.1/attachments/{attachment_id}/{upload.filename}",
                    "proxy_url": f"http://127.0.0.1/attachments/{attachment_id}/{upload.filename}",
                    "content_type": "application/octet-stream",
                }
            )
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
