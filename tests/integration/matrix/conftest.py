"""A community on the test homeserver and the Matrix adapter serving it.

`matrix_community` gives each test its own admin, bot account, space and room (the bot already
in both with power level 100, given by the admin, as a real deployment would have it), so tests
share one Synapse without sharing state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from bot.adapters.base import ChatAdapter
from bot.adapters.matrix import MatrixAdapter
from bot.config import CommunitySettings, Config, MatrixSettings, SecretRef
from bot.model import CommandInvocation, CommandSpec, Event, ParamKind, ParamSpec
from tests.fixtures.synapse import MemberFactory
from tests.matrix_helpers import MatrixMember, SynapseServer, register_user

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
    """Stands in for the core: records what the adapter delivers, optionally slowly."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.events: list[Event] = []
        self.commands: list[CommandInvocation] = []
        self.delay = delay
        self._arrived = asyncio.Event()

    async def handle_event(self, adapter: ChatAdapter, event: Event) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow handler, to build back-pressure
        self.events.append(event)
        self._arrived.set()

    async def handle_command(self, adapter: ChatAdapter, invocation: CommandInvocation) -> None:
        self.commands.append(invocation)
        self._arrived.set()

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


@dataclass
class MatrixCommunity:
    synapse: SynapseServer
    admin: MatrixMember
    bot: MatrixMember  # the bot's account, driven directly for set-up only
    space: str
    room: str
    make_member: MemberFactory
    adapters: list[MatrixAdapter] = field(default_factory=list)

    def config(self, **community: Any) -> Config:
        settings = {"network": "matrix", "id": self.space, **community}
        return Config(
            matrix=self.settings(),
            communities=[CommunitySettings(**settings)],
        )

    def settings(self, **overrides: Any) -> MatrixSettings:
        values: dict[str, Any] = {
            "homeserver": self.synapse.base_url,
            "user_id": self.bot.user_id,
            "access_token": SecretRef(env="TEST_MATRIX_TOKEN"),
            "allowed_inviters": [self.admin.user_id],
        }
        values.update(overrides)
        return MatrixSettings(**values)

    async def start(
        self,
        *,
        sink: RecordingSink | None = None,
        state: MemoryState | None = None,
        config: Config | None = None,
        settings: MatrixSettings | None = None,
    ) -> tuple[MatrixAdapter, RecordingSink, MemoryState]:
        config = config or self.config()
        sink = sink or RecordingSink()
        state = state or MemoryState()
        adapter = MatrixAdapter(
            settings or config.matrix or self.settings(),
            config,
            state,
            environ={"TEST_MATRIX_TOKEN": self.bot.access_token},
            long_poll_ms=5_000,
        )
        await adapter.start(sink)
        await adapter.register_commands(COMMANDS)
        self.adapters.append(adapter)
        return adapter, sink, state

    async def stop(self, adapter: MatrixAdapter) -> None:
        await adapter.stop()
        self.adapters.remove(adapter)

    async def member_in_room(self, name: str) -> MatrixMember:
        member = await self.make_member(name)
        await member.join(self.room)
        return member


COMMANDS = (
    CommandSpec(
        "filter",
        "Limit replies from unverified accounts",
        (ParamSpec("level", ParamKind.CHOICE, "level", False, ("off", "replies", "all")),),
    ),
    CommandSpec("badge", "Show a badge", (ParamSpec("member", ParamKind.MEMBER, "who", False),)),
    CommandSpec("held", "Held items", direct_ok=True),
)


@pytest.fixture
async def matrix_community(
    synapse: SynapseServer, matrix_member: MemberFactory
) -> AsyncIterator[MatrixCommunity]:
    admin = await matrix_member("admin")
    account = await register_user(synapse, f"verifybot-{time.time_ns() % 10**9}")
    bot = MatrixMember(synapse, account.user_id, account.access_token, account.password)
    power = {bot.user_id: 100}
    space = await admin.create_room(space=True, name="Community", power_users=power)
    room = await admin.create_room(name="general", power_users=power)
    await admin.add_child(space, room)
    await bot.join(space)
    await bot.join(room)
    community = MatrixCommunity(synapse, admin, bot, space, room, matrix_member)
    try:
        yield community
    finally:
        for adapter in list(community.adapters):
            await adapter.stop()
        await bot.close()
