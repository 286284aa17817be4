"""Stand-ins for the core an adapter is plugged into, for tests of an adapter alone: a sink that
records what the adapter delivers, and the adapter's state store kept in memory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from bot.adapters.base import ChatAdapter
from bot.model import CommandInvocation, Event

T = TypeVar("T")


class MemoryState:
    """The adapter-state store, in memory: what the core's database-backed one does."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.writes: list[tuple[str, str]] = []

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def set(self, key: str, value: str) -> None:
        self.values[key] = value
        self.writes.append((key, value))


class RecordingSink:
    """Stands in for the core: records what the adapter delivers, optionally slowly, or held
    at a `gate` until the test opens it (back-pressure that does not depend on timing)."""

    def __init__(self, *, delay: float = 0.0, gate: asyncio.Event | None = None) -> None:
        self.events: list[Event] = []
        self.commands: list[CommandInvocation] = []
        self.delay = delay
        self.gate = gate
        self._arrived = asyncio.Event()

    async def handle_event(self, adapter: ChatAdapter, event: Event) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow handler, to build back-pressure
        self.events.append(event)
        self._arrived.set()

    async def handle_command(self, adapter: ChatAdapter, invocation: CommandInvocation) -> bool:
        self.commands.append(invocation)
        self._arrived.set()
        return True

    async def wait_for(
        self, kind: type[T], predicate: Callable[[T], bool] = lambda _: True, *, within: float = 10
    ) -> T:
        deadline = time.monotonic() + within
        while True:
            for item in [*self.events, *self.commands]:
                if isinstance(item, kind) and predicate(item):
                    return item
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind.__name__} matching within {within} s")
            self._arrived.clear()
            try:
                async with asyncio.timeout(left):
                    await self._arrived.wait()
            except TimeoutError:
                pass

    def of(self, kind: type[T]) -> list[T]:
        return [item for item in [*self.events, *self.commands] if isinstance(item, kind)]
