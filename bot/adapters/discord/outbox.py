"""What the bot says to people: command answers, files, direct messages, posts and notices.

Nothing the bot sends pings anyone (`NO_PINGS`), except the member a public sender notice is
for. Long texts are split at line breaks into Discord-sized messages; a file or buttons go with
the last of them. A failure becomes an `AdapterError` in words a person can act on
(`failures.failure_text`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import MutableMapping, Sequence

import discord

from bot.adapters.base import AdapterError
from bot.adapters.discord import answers
from bot.adapters.discord.answers import MESSAGE_LIMIT, NO_PINGS, AnswerLocks, Attachment, chunks
from bot.adapters.discord.buttons import with_buttons
from bot.adapters.discord.client import GatewayClient
from bot.adapters.discord.failures import failure_text
from bot.adapters.discord.supervisor import ClientSupervisor
from bot.model import ChannelRef, Choice, CommandInvocation, MemberRef

NOTICE_SECONDS = 30.0  # how long a public "please verify" notice stays up
FILE_LIMIT = 10 * 1024 * 1024  # what Discord takes from a bot in a direct message
TOO_LARGE = "The file is too large for Discord to carry ({size} MB; the limit is {limit} MB)."
PLACES_REMEMBERED = 10_000  # members whose last channel is kept, most recently active first


class LastPlaces:
    """Where each member last spoke (in memory, bounded), so a sender notice can still reach a
    member whose direct messages are closed."""

    def __init__(self, size: int = PLACES_REMEMBERED) -> None:
        self._size = size
        self._channels: OrderedDict[int, int] = OrderedDict()  # member -> channel

    def note(self, user_id: int, guild: discord.Guild | None, channel_id: int) -> None:
        """A member spoke in a guild channel (outside a guild there is no one to show it)."""
        if guild is None:
            return
        self._channels[user_id] = channel_id
        self._channels.move_to_end(user_id)
        if len(self._channels) > self._size:
            self._channels.popitem(last=False)

    def channel_of(self, user_id: int) -> int | None:
        return self._channels.get(user_id)


class Outbox:
    """Sends what the core has to say, through the current client."""

    def __init__(
        self,
        clients: ClientSupervisor[GatewayClient],
        metrics: MutableMapping[str, int],
        locks: AnswerLocks,
    ) -> None:
        self._clients = clients
        self.metrics = metrics
        self._locks = locks
        self.places = LastPlaces()

    async def respond(
        self, invocation: CommandInvocation, text: str, *, private: bool = True
    ) -> None:
        """In place (ephemeral when `private`); by DM only what an expired interaction missed."""
        await self._answer(invocation, text, private, None)

    async def respond_file(
        self, invocation: CommandInvocation, text: str, filename: str, data: bytes
    ) -> None:
        """The file with the answer, always privately: ephemeral in place while the interaction
        can be answered, else (and for anything but an interaction) by DM. A file larger than
        Discord takes is not sent; the member is told so with the answer."""
        handle = invocation.reply_handle
        limit = handle.filesize_limit if isinstance(handle, discord.Interaction) else FILE_LIMIT
        if len(data) > limit:
            megabytes = {"size": _megabytes(len(data)), "limit": _megabytes(limit)}
            await self._answer(invocation, f"{text}\n{TOO_LARGE.format(**megabytes)}", True, None)
            return
        await self._answer(invocation, text, True, Attachment(filename, data))

    async def _answer(
        self,
        invocation: CommandInvocation,
        text: str,
        private: bool,
        attachment: Attachment | None,
    ) -> None:
        handle = invocation.reply_handle
        member = invocation.invoker.member
        if not isinstance(handle, discord.Interaction):
            await self._send_parts(member, chunks(text), attachment)
            return

        async def by_direct_message(parts: Sequence[str]) -> None:
            await self._send_parts(member, parts, attachment)

        await answers.answer(
            handle,
            chunks(text),
            private=private,
            lock=self._locks.of(handle.id),
            by_direct_message=by_direct_message,
            metrics=self.metrics,
            attachment=attachment,
        )

    async def send_direct(self, member: MemberRef, text: str) -> None:
        await self._send_parts(member, chunks(text))

    async def _send_parts(
        self, member: MemberRef, parts: Sequence[str], attachment: Attachment | None = None
    ) -> None:
        """By DM, the file (if any) with the last part."""
        client = self._clients.require()
        try:
            channel = await client.create_dm(discord.Object(int(member.id)))
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                file = attachment.file() if attachment is not None and last else None
                if file is None:
                    await channel.send(part, allowed_mentions=NO_PINGS)
                else:
                    await channel.send(part, allowed_mentions=NO_PINGS, file=file)
        except discord.Forbidden as exc:
            raise AdapterError("the member does not accept direct messages from the bot") from exc
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, "send the direct message")) from exc

    async def notify_sender(self, member: MemberRef, channel: ChannelRef | None, text: str) -> None:
        """Tell an unverified sender why they were stopped: by DM, else by a self-deleting notice.

        Only for sender notices: the public fallback must never carry anything private (such as
        a verification link). `channel` defaults to where the member last spoke.
        """
        try:
            await self.send_direct(member, text)
            return
        except AdapterError:
            pass
        user_id = int(member.id)
        channel_id = int(channel.id) if channel is not None else self.places.channel_of(user_id)
        if channel_id is None:
            raise AdapterError("the member does not accept direct messages and has not spoken")
        target = self._clients.require().get_partial_messageable(channel_id)
        mention = discord.AllowedMentions(users=[discord.Object(user_id)])
        try:
            await target.send(
                f"<@{member.id}> {text}"[:MESSAGE_LIMIT],
                allowed_mentions=mention,
                delete_after=NOTICE_SECONDS,
            )
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, "post the notice")) from exc

    async def post(self, channel: ChannelRef, text: str, choices: Sequence[Choice] = ()) -> None:
        """In a channel; `choices` as buttons under the last part (`buttons.with_buttons`)."""
        client = self._clients.require()
        target = client.get_partial_messageable(int(channel.id), guild_id=int(channel.community.id))
        try:
            await send_with_choices(target, text, choices)
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, f"post in <#{channel.id}>")) from exc


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


async def send_with_choices(
    target: discord.abc.Messageable, text: str, choices: Sequence[Choice]
) -> None:
    """Send `text` in Discord-sized parts, the buttons for `choices` under the last one (those
    that cannot be buttons are written out as commands)."""
    text, view = with_buttons(text, choices)
    parts = chunks(text)
    for index, part in enumerate(parts):
        if view is not None and index == len(parts) - 1:
            await target.send(part, allowed_mentions=NO_PINGS, view=view)
        else:
            await target.send(part, allowed_mentions=NO_PINGS)
