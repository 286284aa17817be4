"""After a fresh gateway session, read back what arrived while no session was open.

After a RESUME Discord replays the missed events itself. A new session (READY after a close
Discord will not resume, such as 4007 or 4009, after a restarted client, or at a new process)
starts from now: messages posted in between are never delivered, so no filter would judge them.
So at each READY the recent history of every channel the bot has handled messages in is read
back to the last message it handled there — at most `HISTORY_LIMIT` messages and
`HISTORY_WINDOW` per channel — and each message found is handled like a new one (the author
memory skips what was already handled, live or by an earlier read-back).

The last handled message id per channel is kept in memory and written to the adapter's durable
state every few seconds (and at stop), so a restarted process catches up too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta

import discord

from bot.adapters.base import AdapterState

log = logging.getLogger(__name__)

HISTORY_LIMIT = 100  # messages per channel (one request)
HISTORY_WINDOW = timedelta(minutes=10)  # and no older than this
MAX_CHANNELS = 5_000  # channels remembered, most recently active first
FLUSH_SECONDS = 5.0  # how often the last handled ids are saved when they changed
PARALLEL = 4  # channels read at once (Discord limits each channel's route separately)
READ_TIMEOUT = 15.0  # per channel
STATE_KEY = "catch_up.last_handled"

Readable = discord.TextChannel | discord.VoiceChannel | discord.StageChannel | discord.Thread


class CatchUp:
    """Last handled message per channel, and the read-back at each fresh session."""

    def __init__(
        self,
        state: AdapterState | None,
        metrics: MutableMapping[str, int],
        handle: Callable[[discord.Message], Awaitable[None]],
    ) -> None:
        self.state = state
        self.metrics = metrics
        self._handle = handle
        self._last: OrderedDict[int, int] = OrderedDict()
        self._dirty = False
        self._since: dict[int, int] | None = None  # the marks when the new session began
        self._tasks: set[asyncio.Task[None]] = set()

    # --- the marks ----------------------------------------------------------------------------

    def note(self, channel_id: int, message_id: int) -> None:
        """A message was seen in a channel (hot path: a dict update)."""
        if message_id > self._last.get(channel_id, 0):
            self._last[channel_id] = message_id
            self._last.move_to_end(channel_id)
            self._dirty = True
            if len(self._last) > MAX_CHANNELS:
                self._last.popitem(last=False)

    async def load(self) -> None:
        """Marks saved by an earlier process, so its successor reads back what it missed."""
        if self.state is None:
            return
        try:
            raw = await self.state.get(STATE_KEY)
            saved = json.loads(raw) if raw else {}
            for channel_id, message_id in saved.items():
                self.note(int(channel_id), int(message_id))
        except Exception:
            log.exception("could not read where the last session stopped; not reading back")
        self._dirty = False

    async def flush(self) -> None:
        if self.state is None or not self._dirty:
            return
        self._dirty = False
        try:
            await self.state.set(STATE_KEY, json.dumps({str(c): m for c, m in self._last.items()}))
        except Exception:
            self._dirty = True
            log.exception("could not save where the session is; will try again")

    async def _flush_often(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()

    def start(self) -> None:
        self._spawn(self._flush_often(), "discord-catch-up-flush")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.flush()

    def _spawn(self, work: Awaitable[None], name: str) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- a fresh session ----------------------------------------------------------------------

    def session_started(self) -> None:
        """Called when READY is read, before any event of the new session: where each channel
        stood. (Events that arrive while the guilds load advance the marks, so later is too
        late.)"""
        self._since = dict(self._last)

    async def read_back(self, client: discord.Client) -> None:
        """Read each channel's gap and hand every message found to the handler, oldest first."""
        since, self._since = self._since, None
        if not since:
            return
        self.metrics["catch_up_runs"] += 1
        floor = discord.utils.time_snowflake(discord.utils.utcnow() - HISTORY_WINDOW)
        limit = asyncio.Semaphore(PARALLEL)

        async def one(channel_id: int, last_id: int) -> None:
            async with limit:
                await self._read_channel(client, channel_id, max(last_id, floor))

        await asyncio.gather(*(one(c, m) for c, m in since.items()))

    async def _read_channel(self, client: discord.Client, channel_id: int, after: int) -> None:
        channel = client.get_channel(channel_id)
        if not isinstance(channel, Readable):
            return  # gone, or no longer visible to the bot
        if not channel.permissions_for(channel.guild.me).read_message_history:
            self.metrics["catch_up_unreadable"] += 1
            return
        try:
            async with asyncio.timeout(READ_TIMEOUT):  # the reading only: judging takes its time
                history = channel.history(limit=HISTORY_LIMIT, after=discord.Object(after))
                found = [message async for message in history]  # oldest first (`after`)
        except (TimeoutError, discord.HTTPException) as exc:
            self.metrics["catch_up_failures"] += 1
            log.warning("could not read back a channel of %s: %s", channel.guild.id, _why(exc))
            return
        self.metrics["catch_up_messages"] += len(found)
        for message in found:  # in order, as they arrived
            await self._handle(message)
        if len(found) >= HISTORY_LIMIT:
            self.metrics["catch_up_truncated"] += 1
            log.warning(
                "more than %d messages arrived in a channel of %s while disconnected; only"
                " the first %d were checked",
                HISTORY_LIMIT,
                channel.guild.id,
                HISTORY_LIMIT,
            )

    def begin(self, client: discord.Client) -> None:
        """Run the read-back in the background (READY handling must not wait for it)."""
        self._spawn(self._read_back_guarded(client), "discord-catch-up")

    async def _read_back_guarded(self, client: discord.Client) -> None:
        try:
            await self.read_back(client)
        except Exception:
            self.metrics["catch_up_failures"] += 1
            log.exception("reading back after a new Discord session failed")

    async def idle(self) -> None:
        """Wait until no read-back is running (for tests and a clean stop)."""
        running = [t for t in self._tasks if t.get_name() == "discord-catch-up"]
        if running:
            await asyncio.gather(*running, return_exceptions=True)


def _why(exc: Exception) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}"
    return "Discord did not answer in time"
