"""The Cog base: features declare commands and listeners; the core finds and routes them.

A cog sees neutral types only, and of the core only `CoreView`: the few things features use
(act, read facts, find an adapter, the clock), as Red's `MixinMeta` gives its mixins. So this
module does not import the core, and the core is free to change behind that view. Each cog says
what it stores about a member in `stores` (parts of storage, typed, not table names), so "export
my data" and "forget me" are complete by construction: the core gathers every declaration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

from bot.actions import Action
from bot.adapters.base import ChatAdapter
from bot.audit import AuditTrail
from bot.config import Config
from bot.metrics import Metrics
from bot.model import (
    Access,
    ChannelRef,
    CommandContext,
    CommandSpec,
    CommunityRef,
    Event,
    MemberRef,
    Network,
)
from bot.params import params_of
from bot.policy import PolicySettings, PolicySources
from bot.storage import Aggregate
from bot.storage.cache import ReadCache, Unknown
from bot.storage.repo import Store

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
L = TypeVar("L", bound=Callable[..., Awaitable[Any] | None])

CommandHandler = Callable[..., Awaitable[None]]
# An async method, or a plain one that returns the work still to await, or None when it is done
# (the hot path's listeners: a warm message is decided without a coroutine of its own).
Listener = Callable[[Any], Awaitable[None] | None]


def command(
    name: str,
    *,
    help: str,
    access: Access = Access.MEMBER,
    direct_ok: bool = False,
    message_menu: str | None = None,
    user_menu: str | None = None,
) -> Callable[[F], F]:
    """Mark a cog method as the handler of a command. Its parameters after `ctx` are the
    command's, declared once in the signature (see `bot.params`); a signature that cannot be a
    command's raises TypeError when the class is defined. `message_menu`: the label of an entry
    on a message's own menu that runs the command about that message, where the network has one;
    `user_menu`: likewise on a member's own menu, naming that member."""

    def mark(func: F) -> F:
        func.__verifybot_command__ = CommandSpec(  # type: ignore[attr-defined]
            name=name,
            help=help,
            params=params_of(func),
            access=access,
            direct_ok=direct_ok,
            message_menu=message_menu,
            user_menu=user_menu,
        )
        return func

    return mark


def listener(*event_types: type[Event]) -> Callable[[L], L]:
    """Mark a cog method to receive events of the given neutral types (see `Listener`)."""

    def mark(func: L) -> L:
        func.__verifybot_listens__ = event_types  # type: ignore[attr-defined]
        return func

    return mark


class CoreView(Protocol):
    """What a feature may use of the core. The `known_*` reads answer from cached facts
    without suspending (UNKNOWN on a miss, then await the plain one): the hot path's way."""

    config: Config
    store: Store
    cache: ReadCache
    metrics: Metrics
    clock: Callable[[], datetime]
    dry_run: bool
    audit: AuditTrail

    @property
    def adapters(self) -> Mapping[Network, ChatAdapter]: ...

    def adapter(self, network: Network) -> ChatAdapter: ...

    monotonic: Callable[[], float]

    async def execute(self, action: Action, *, actor: MemberRef | None = None) -> bool: ...

    async def execute_all(
        self, actions: Sequence[Action], *, actor: MemberRef | None = None
    ) -> None: ...

    async def verified_in(self, member: MemberRef, community: CommunityRef) -> bool: ...

    def known_verified_in(
        self, member: MemberRef, community: CommunityRef, now: datetime | None = None
    ) -> bool | Unknown: ...

    async def policy_sources(self, community: CommunityRef) -> PolicySources: ...

    def known_policy_sources(self, community: CommunityRef) -> PolicySources | Unknown: ...

    def policy_settings(self, community: CommunityRef) -> PolicySettings: ...

    def moderator_channel(self, community: CommunityRef) -> ChannelRef | None: ...

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]: ...

    def command_specs(self) -> list[CommandSpec]: ...

    async def export_member(self, member: MemberRef) -> dict[str, Any]: ...

    async def erase_member(self, member: MemberRef) -> int: ...


class Cog:
    """A feature module. Subclasses get `self.core`, declare commands and listeners, and say in
    `stores` which parts of storage keep what they know about members: export and erasure
    follow from those declarations (a test checks every part has an owner)."""

    stores: ClassVar[tuple[Aggregate, ...]] = ()

    def __init__(self, core: CoreView) -> None:
        self.core = core

    @property
    def name(self) -> str:
        return type(self).__name__

    def commands(self) -> list[tuple[CommandSpec, CommandHandler]]:
        found: list[tuple[CommandSpec, CommandHandler]] = []
        for attr in dir(type(self)):
            func = getattr(type(self), attr, None)
            spec = getattr(func, "__verifybot_command__", None)
            if isinstance(spec, CommandSpec):
                found.append((spec, getattr(self, attr)))
        return found

    def listeners(self) -> list[tuple[type[Event], Listener]]:
        found: list[tuple[type[Event], Listener]] = []
        for attr in dir(type(self)):
            func = getattr(type(self), attr, None)
            for event_type in getattr(func, "__verifybot_listens__", ()):
                found.append((event_type, getattr(self, attr)))
        return found

    async def on_ready(self) -> None:
        """Called once every adapter is connected (reconcile, schedule housekeeping)."""


__all__ = ["Cog", "CommandContext", "CoreView", "command", "listener"]
