"""The Cog base: features declare commands and listeners; the core finds and routes them.

A cog sees neutral types only. Each cog says what it stores about a member through
`export_member_data` and `erase_member_data`, so "export my data" and "forget me" are complete
by construction: the core asks every cog.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bot.model import Access, CommandContext, CommandSpec, Event, MemberRef, ParamSpec

if TYPE_CHECKING:
    from bot.core import BotCore

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

CommandHandler = Callable[..., Awaitable[None]]
Listener = Callable[[Any], Awaitable[None]]


def command(
    name: str,
    *,
    help: str,
    params: tuple[ParamSpec, ...] = (),
    access: Access = Access.MEMBER,
    direct_ok: bool = False,
) -> Callable[[F], F]:
    """Mark a cog method as the handler of a command; its keyword arguments are the params."""

    def mark(func: F) -> F:
        func.__verifybot_command__ = CommandSpec(  # type: ignore[attr-defined]
            name=name, help=help, params=params, access=access, direct_ok=direct_ok
        )
        return func

    return mark


def listener(*event_types: type[Event]) -> Callable[[F], F]:
    """Mark a cog method to receive events of the given neutral types."""

    def mark(func: F) -> F:
        func.__verifybot_listens__ = event_types  # type: ignore[attr-defined]
        return func

    return mark


class Cog:
    """A feature module. Subclasses get `self.core` and declare commands and listeners."""

    def __init__(self, core: BotCore) -> None:
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

    async def export_member_data(self, member: MemberRef) -> dict[str, Any]:
        """What this cog keeps about the member, for their copy. Empty when nothing."""
        return {}

    async def erase_member_data(self, member: MemberRef) -> int:
        """Forget the member in this cog's data; returns how many records went."""
        return 0


__all__ = ["Cog", "CommandContext", "command", "listener"]
