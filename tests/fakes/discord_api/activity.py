"""What members do, pushed by tests: messages (AutoMod first), reactions, joins, leaves, threads.

Each `push_*` builds the payload Discord would send and dispatches it to every session whose
intents ask for it; the returned `Pushed` tells when its frame left, so a test can time the bot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .gateway import Frame, Gateway
from .guilds import Guild
from .messages import reaction_payload
from .objects import Channel, Json, User


@dataclass
class Pushed:
    """What a test pushed: the payload, and when its first frame left the gateway."""

    event: str
    data: Json
    frames: list[Frame]
    blocked_by: Json | None = None  # an AutoMod rule that stopped the message

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def sent_at(self) -> float:
        times = [f.sent_at for f in self.frames if f.sent_at is not None]
        assert times, f"{self.event} was not sent to any connected client"
        return min(times)


class MemberActivity(Gateway):
    """The test side of the gateway; mixed into `FakeDiscord`."""

    automod_blocks: list[Json]
    automod_verdict: Any  # `automod.AutoModRoutes.automod_verdict`

    async def push_message(
        self,
        channel: Channel,
        author: User,
        content: str,
        *,
        reply_to: Json | None = None,
        mentions: Iterable[User] = (),
        attachments: int = 0,
        ping_reply: bool = True,
        referenced: str = "resolved",
    ) -> Pushed:
        """A member posts. AutoMod applies first, as on Discord: a blocked message never arrives.

        `referenced`: how Discord fills a reply's `referenced_message` ("resolved", "missing" or
        "deleted"; see `World.message_payload`)."""
        guild, channel = self.world.locate_channel(channel.id)
        mentions = tuple(mentions)
        if guild is not None:
            rule = self.automod_verdict(guild, channel, author, content, len(mentions))
            if rule is not None:
                execution = {
                    "guild_id": str(guild.id), "rule_id": rule["id"],
                    "rule_trigger_type": rule["trigger_type"], "user_id": str(author.id),
                    "channel_id": str(channel.id), "content": content,
                    "action": {"type": 1, "metadata": {}}, "matched_keyword": None,
                    "matched_content": None,
                }  # fmt: skip
                self.automod_blocks.append(execution)
                frames = await self.dispatch("AUTO_MODERATION_ACTION_EXECUTION", execution, guild)
                return Pushed("AUTO_MODERATION_ACTION_EXECUTION", execution, frames, rule)
        data = self.world.message_payload(
            channel, author, content, reply_to=reply_to, mentions=mentions,
            attachments=attachments, ping_reply=ping_reply, referenced=referenced,
        )  # fmt: skip
        return Pushed("MESSAGE_CREATE", data, await self.dispatch("MESSAGE_CREATE", data, guild))

    async def push_reaction(
        self, message: Json, user: User, emoji: str, *, with_author: bool = True
    ) -> Pushed:
        """A member reacts. `message_author_id` is optional in Discord's payload;
        `with_author=False` leaves it out, as Discord sometimes does."""
        guild, _ = self.world.locate_channel(int(message["channel_id"]))
        self.world.reactions.setdefault(int(message["id"]), set()).add((emoji, user.id))
        data = reaction_payload(message, user.id, emoji)
        data.update(burst_colors=[])
        if with_author:
            data["message_author_id"] = message["author"]["id"]
        if guild is not None:
            data["member"] = guild.member(user.id).payload()
        return Pushed(
            "MESSAGE_REACTION_ADD", data, await self.dispatch("MESSAGE_REACTION_ADD", data, guild)
        )

    async def push_member_join(self, guild: Guild, user: User, *, pending: bool = False) -> Pushed:
        """A member joins; `pending`: the server has membership screening (rules to accept)
        and the member has not passed it yet."""
        member = self.world.add_member(guild, user)
        member.pending = pending
        data = {"guild_id": str(guild.id), **member.payload()}
        return Pushed(
            "GUILD_MEMBER_ADD", data, await self.dispatch("GUILD_MEMBER_ADD", data, guild)
        )

    async def push_screening_passed(self, guild: Guild, user: User) -> Pushed:
        """The member accepted the server's rules: Discord clears `pending`."""
        member = guild.member(user.id)
        member.pending = False
        data = {"guild_id": str(guild.id), **member.payload()}
        return Pushed(
            "GUILD_MEMBER_UPDATE", data, await self.dispatch("GUILD_MEMBER_UPDATE", data, guild)
        )

    async def push_member_leave(self, guild: Guild, user: User) -> Pushed:
        guild.members.pop(user.id, None)
        data = {"guild_id": str(guild.id), "user": user.payload()}
        return Pushed(
            "GUILD_MEMBER_REMOVE", data, await self.dispatch("GUILD_MEMBER_REMOVE", data, guild)
        )

    async def push_guild_join(self, guild: Guild) -> Pushed:
        """The bot was added to `guild` (already in the world, with the bot as a member)."""
        data = guild.payload(with_members=True)
        del data["unavailable"]  # present only when an outage ends; discord.py tells them apart
        return Pushed("GUILD_CREATE", data, await self.dispatch("GUILD_CREATE", data, guild))

    async def push_thread(self, guild: Guild, parent: Channel, owner: User, name: str) -> Channel:
        thread = self.world.add_thread(guild, parent, owner, name)
        await self.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True}, guild)
        return thread
