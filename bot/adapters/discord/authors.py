"""Whose message is it? A bounded memory of recent authors, then one short REST fetch.

A reply normally carries its target (`referenced_message`) and a reaction its message's author
(`message_author_id`), but Discord may leave either out. Without an author no member's filter
can apply, and a non-pinging reply carries no mention to fall back on, so the author is looked
up: first among messages this bot saw arrive (a dict and a ring of ids: O(1) per message, bounded),
then with one `GET /channels/{id}/messages/{id}` bounded by a short timeout. What still cannot be
known (deleted, out of sight, Discord too slow) is said explicitly with `reply_author_unknown` /
`author_unknown`, and the policy decides.

Each gateway event is handled in its own task (discord.py schedules one per event), so a slow
fetch holds back only the event that needs it, never the next message in the same channel.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import MutableMapping
from typing import Any

import discord

from bot.adapters.discord.events import member_ref
from bot.model import MessagePosted, ReactionAdded

log = logging.getLogger(__name__)

MEMORY_SIZE = 50_000  # recent messages (about 9 MB; ~1 µs to note one, 0.2 µs to look up)
FETCHED_SIZE = 1_000  # authors learnt by fetching, so many reactions on one message fetch once
FETCH_TIMEOUT = 2.0  # seconds; the event waits this long at most, then the author is unknown


class AuthorMemory:
    """Message id -> author id for the most recent `size` messages; the oldest is forgotten."""

    def __init__(self, size: int = MEMORY_SIZE) -> None:
        self._size = size
        self._authors: dict[int, int] = {}
        self._order: deque[int] = deque()

    def remember(self, message_id: int, author_id: int) -> bool:
        """Note a message; False when it was already known (an event seen twice)."""
        if message_id in self._authors:
            return False
        if len(self._order) >= self._size:
            self._authors.pop(self._order.popleft(), None)
        self._authors[message_id] = author_id
        self._order.append(message_id)
        return True

    def author_of(self, message_id: int) -> int | None:
        return self._authors.get(message_id)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._authors

    def __len__(self) -> int:
        return len(self._authors)


class AuthorLookup:
    """Memory first, then one fetch (shared by concurrent askers); counts how each ended."""

    def __init__(self, metrics: MutableMapping[str, int], memory: AuthorMemory) -> None:
        self.metrics = metrics
        self.memory = memory  # messages seen arrive: also tells the catch-up what was handled
        self._fetched = AuthorMemory(FETCHED_SIZE)
        self._in_flight: dict[int, asyncio.Task[int | None]] = {}

    async def author_of(
        self, http: discord.http.HTTPClient | None, channel_id: int, message_id: int, *, fetch: bool
    ) -> int | None:
        known = self.memory.author_of(message_id) or self._fetched.author_of(message_id)
        if known is not None:
            self.metrics["authors_from_memory"] += 1
            return known
        if not fetch or http is None:
            return None
        pending = self._in_flight.get(message_id)
        if pending is None:
            pending = asyncio.create_task(self._fetch(http, channel_id, message_id))
            self._in_flight[message_id] = pending
            pending.add_done_callback(lambda _: self._in_flight.pop(message_id, None))
        return await asyncio.shield(pending)

    async def _fetch(
        self, http: discord.http.HTTPClient, channel_id: int, message_id: int
    ) -> int | None:
        self.metrics["authors_fetched"] += 1
        try:
            async with asyncio.timeout(FETCH_TIMEOUT):
                data: Any = await http.get_message(channel_id, message_id)
            author = int(data["author"]["id"])
        except TimeoutError:
            self.metrics["author_fetch_timeouts"] += 1
            log.info("Discord did not say within %.1f s whose message it was", FETCH_TIMEOUT)
            return None
        except discord.HTTPException as exc:  # 404 deleted, 403 out of sight, 5xx
            log.debug("fetching a message's author: HTTP %s (code %s)", exc.status, exc.code)
            return None
        except (KeyError, TypeError, ValueError):
            return None
        self._fetched.remember(message_id, author)
        return author


def needs_reply_author(event: MessagePosted, message: discord.Message) -> bool:
    """A reply whose target's author the gateway did not deliver (most replies carry it)."""
    return event.reply_to_author is None and message.type is discord.MessageType.reply


async def complete_reply(
    event: MessagePosted,
    message: discord.Message,
    lookup: AuthorLookup,
    http: discord.http.HTTPClient | None,
) -> MessagePosted:
    """A reply whose target Discord did not resolve gets its target's author, or is marked
    unknown. `referenced_message: null` means Discord knows it was deleted: memory only."""
    if not needs_reply_author(event, message):
        return event
    reference = message.reference
    author = None
    if reference is not None and reference.message_id is not None:
        deleted = isinstance(reference.resolved, discord.DeletedReferencedMessage)
        author = await lookup.author_of(
            http,
            reference.channel_id or message.channel.id,
            reference.message_id,
            fetch=not deleted,
        )
    if author is None:
        lookup.metrics["authors_unknown"] += 1
        return dataclasses.replace(event, reply_author_unknown=True)
    return dataclasses.replace(event, reply_to_author=member_ref(author))


async def complete_reaction(
    event: ReactionAdded,
    payload: discord.RawReactionActionEvent,
    lookup: AuthorLookup,
    http: discord.http.HTTPClient | None,
) -> ReactionAdded:
    """A reaction without `message_author_id` gets its message's author, or is marked unknown."""
    if event.message_author is not None:
        return event
    author = await lookup.author_of(http, payload.channel_id, payload.message_id, fetch=True)
    if author is None:
        lookup.metrics["authors_unknown"] += 1
        return dataclasses.replace(event, author_unknown=True)
    return dataclasses.replace(event, message_author=member_ref(author))
