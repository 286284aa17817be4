"""Handing Discord's work to the core: each event and command guarded, counted, awaited at stop.

Every piece of work the adapter takes on from discord.py runs through `Handover.guard`: a
failure is logged with its traceback and counted (`handler_errors`), and the next event is
handled as usual. `drained()` returns once nothing is in progress, so a stop lets what people
are owed be written first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, MutableMapping
from typing import Any

from bot.adapters.base import ChatAdapter, EventSink
from bot.model import CommandInvocation, Event

log = logging.getLogger(__name__)


class Handover:
    """The way from discord.py's handlers into the core's `EventSink`, for one adapter."""

    def __init__(self, adapter: ChatAdapter, metrics: MutableMapping[str, int]) -> None:
        self.adapter = adapter  # what the core is told the events came from
        self.metrics = metrics
        self.sink: EventSink | None = None  # set at start
        self._in_flight = 0
        self._drained = asyncio.Event()
        self._drained.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def guard(self, what: str, work: Awaitable[Any]) -> None:
        """Run `work`; nothing but a cancellation escapes, and `drained()` waits for it."""
        self.enter()
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            self.failed(what)
        finally:
            self.leave()

    # `guard` in three calls, for the message hot path (one coroutine fewer per message)
    def enter(self) -> None:
        self._in_flight += 1
        if self._in_flight == 1:
            self._drained.clear()

    def failed(self, what: str) -> None:
        self.metrics["handler_errors"] += 1
        log.exception("handling Discord %s failed; carrying on", what)

    def leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._drained.set()

    async def push(self, event: Event) -> None:
        """Hand a neutral event to the core, in the caller's task (the core acts before this
        returns, so a message that must go is deleted while its own event is handled)."""
        if self.sink is not None:
            self.metrics["events"] += 1
            await self.sink.handle_event(self.adapter, event)

    async def command(self, invocation: CommandInvocation) -> bool:
        """True when the core ran the command to the end."""
        if self.sink is None:
            return False
        return await self.sink.handle_command(self.adapter, invocation)

    async def drained(self) -> None:
        await self._drained.wait()
