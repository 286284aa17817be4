"""A plain discord.py client for tests of the loopback Discord itself: it files every event it
is dispatched into an inbox by name, with a bounded wait for the next one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import discord


class Inbox:
    """What a client's handlers saw for one event name, with a bounded wait for the next one."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._arrived = asyncio.Event()

    def put(self, item: Any) -> None:
        self.items.append(item)
        self._arrived.set()

    async def next(self, within: float = 5.0) -> Any:
        async with asyncio.timeout(within):
            while not self.items:
                self._arrived.clear()
                await self._arrived.wait()
        return self.items.pop(0)


class LoopbackClient(discord.Client):
    """A plain discord.py client that files every dispatched event into an `Inbox` by name."""

    def __init__(self, **options: Any) -> None:
        if "intents" not in options:
            options["intents"] = discord.Intents.default()
            options["intents"].members = options["intents"].message_content = True
        options.setdefault("guild_ready_timeout", 0.05)
        super().__init__(**options)
        self.inboxes: dict[str, Inbox] = {}

    def inbox(self, event: str) -> Inbox:
        """Events named like `message`, `raw_reaction_add` (without `on_`), from now on."""
        return self.inboxes.setdefault(event, Inbox())

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        super().dispatch(event, *args, **kwargs)
        if event in self.inboxes:
            self.inboxes[event].put(args[0] if len(args) == 1 else args)
