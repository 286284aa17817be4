"""What every scene of the story needs: the people, their rooms, their direct chats with the bot,
their inboxes, and the transcript that writes down what they say and see.

Everything a scene learns, it learns as a person would: from their Matrix client (messages,
redactions, power levels, invitations), their browser, or their inbox.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bot.demo.community import Cast, Places
from bot.demo.mail import MailCatcher
from bot.demo.person import Person, Seen
from bot.demo.transcript import Transcript

WAIT = 30.0  # the longest any one step may take before the story says what did not happen


class StoryFailed(Exception):
    """A step did not happen as the story expects; the message says which."""


@dataclass
class Stage:
    cast: Cast
    places: Places
    mail: MailCatcher
    web_url: str
    transcript: Transcript
    dms: dict[str, str] = field(default_factory=dict)  # person -> their direct chat with the bot

    @property
    def bot_id(self) -> str:
        return self.cast.bot.user_id

    def where(self, room_id: str) -> str:
        return self.transcript.names.get(room_id, room_id)

    async def say(
        self, person: Person, room_id: str, text: str, *, reply_to: str | None = None
    ) -> str:
        """`person` sends `text` in the room; the transcript shows it as typed."""
        where = self.where(room_id) + (" (a reply)" if reply_to else "")
        self.transcript.said(person.name, where, text)
        return await person.say(room_id, text, reply_to=reply_to)

    async def dm(self, person: Person) -> str:
        """The person's direct chat with the bot: opened by the bot, accepted by the person."""
        if person.name not in self.dms:
            room = await person.invitation_from(self.bot_id, direct=True, within=WAIT)
            await person.join(room)
            self.dms[person.name] = room
            self.transcript.names[room] = f"{person.name}'s direct chat with verifybot"
        return self.dms[person.name]

    async def told(self, person: Person, contains: str, *, show: bool = True) -> Seen:
        """The bot's private message to `person` holding `contains`, as their client shows it."""
        try:
            room = await self.dm(person)
            seen = await person.message_from(self.bot_id, room, contains=contains, within=WAIT)
        except TimeoutError:
            raise StoryFailed(f"{person.name} was not told {contains!r} by the bot") from None
        if show:
            self.transcript.bot(person.name, seen.body)
        return seen

    async def in_room(self, reader: Person, room_id: str, contains: str) -> Seen:
        """The bot's message in a room, as `reader` sees it there."""
        try:
            seen = await reader.message_from(self.bot_id, room_id, contains=contains, within=WAIT)
        except TimeoutError:
            where = self.where(room_id)
            raise StoryFailed(f"{reader.name} saw no {contains!r} in {where}") from None
        self.transcript.bot(self.where(room_id), seen.body)
        return seen

    async def removed(self, reader: Person, room_id: str, event_id: str, since: float) -> Seen:
        """The redaction of `event_id` as `reader` receives it; says who removed it and when."""
        try:
            seen = await reader.redaction_of(room_id, event_id, within=WAIT)
        except TimeoutError:
            raise StoryFailed(f"{reader.name} did not see the message removed") from None
        who = "verifybot" if seen.sender == self.bot_id else seen.sender
        reason = seen.content.get("reason")
        self.transcript.saw(
            f"{reader.name}'s client: {who} removed the message {time.monotonic() - since:.2f} s"
            f" after it was sent" + (f" (reason: {reason})" if reason else "")
        )
        return seen

    async def power(self, reader: Person, room_id: str, of: Person) -> int | None:
        """The power level `reader`'s client shows for `of` in the room (None: the default)."""
        users = (await reader.power_levels(room_id)).get("users", {})
        level = users.get(of.user_id)
        return int(level) if isinstance(level, int) else None

    async def badge_shows(self, reader: Person, of: Person, *, shown: bool) -> None:
        """Until `reader` sees `of`'s badge (power level 1 in #general) shown, or gone."""
        deadline = time.monotonic() + WAIT
        while (await self.power(reader, self.places.general, of) == 1) != shown:
            if time.monotonic() > deadline:
                state = "appear" if shown else "go"
                raise StoryFailed(f"{reader.name} did not see {of.name}'s badge {state}")
            await asyncio.sleep(0.1)
        if shown:
            self.transcript.saw(
                f"{reader.name}'s client: {of.name} is at power level 1 in #general — the"
                " Verified badge"
            )
        else:
            self.transcript.saw(
                f"{reader.name}'s client: {of.name} has no power level of their own in #general"
                " any more — no badge"
            )
