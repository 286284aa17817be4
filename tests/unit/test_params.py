"""Commands declared once, in their handlers' signatures (bot/params.py)."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest

from bot.cog import Cog, command
from bot.commands import bind_arguments
from bot.model import (
    Actor,
    ChannelRef,
    CommandContext,
    CommandError,
    CommandInvocation,
    CommunityRef,
    FilterLevel,
    MemberRef,
    ParamKind,
)
from bot.params import Param
from cogs.admin import Admin
from cogs.filters import Filters
from tests.recording import RecordingAdapter

SPACE = CommunityRef("matrix", "!space:hs")


def spec_of(handler: object) -> object:
    return handler.__verifybot_command__  # type: ignore[attr-defined]


def bind(handler: object, *words: str) -> dict[str, object]:
    invocation = CommandInvocation(
        "x", SPACE, None, Actor(MemberRef("matrix", "@a:hs")), positional=words
    )
    return bind_arguments(spec_of(handler), invocation, RecordingAdapter())  # type: ignore[arg-type]


def test_the_signature_is_the_declaration() -> None:
    spec = spec_of(Filters.set_filter)
    (level,) = spec.params  # type: ignore[attr-defined]
    assert (level.name, level.kind, level.required) == ("level", ParamKind.CHOICE, False)
    assert level.choices == ("off", "replies", "all") and level.enum is FilterLevel
    policy = spec_of(Admin.set_policy)
    assert [p.kind for p in policy.params] == [ParamKind.CHANNEL, ParamKind.CHOICE]  # type: ignore[attr-defined]


def test_the_handler_gets_typed_values() -> None:
    assert bind(Filters.set_filter, "Replies") == {"level": FilterLevel.REPLIES}
    bound = bind(Admin.set_policy, "!room", "read_only")
    assert bound["channel"] == ChannelRef(SPACE, "!room") and str(bound["level"]) == "read_only"
    with pytest.raises(CommandError, match="is not one of the choices"):
        bind(Filters.set_filter, "sometimes")


def test_a_signature_that_cannot_be_a_command_fails_when_the_class_is_defined() -> None:
    with pytest.raises(TypeError, match="Annotated"):

        class Plain(Cog):
            @command("plain", help="h")
            async def plain(self, ctx: CommandContext, word: str) -> None: ...

    with pytest.raises(TypeError, match="optional parameter"):

        class Defaults(Cog):
            @command("d", help="h")
            async def d(
                self, ctx: CommandContext, word: Annotated[str, Param("w")] = "x"
            ) -> None: ...

    with pytest.raises(TypeError, match="must come last"):

        class Rest(Cog):
            @command("r", help="h")
            async def r(
                self,
                ctx: CommandContext,
                why: Annotated[str, Param("w", rest=True)],
                who: Annotated[MemberRef, Param("m")],
            ) -> None: ...

    with pytest.raises(TypeError, match="not <class 'float'>"):

        class Odd(Cog):
            @command("o", help="h")
            async def o(self, ctx: CommandContext, x: Annotated[float, Param("x")]) -> None: ...


def test_words_and_bounded_numbers() -> None:
    class Pages(Cog):
        @command("page", help="h")
        async def page(
            self,
            ctx: CommandContext,
            what: Annotated[Literal["list", "show"], Param("what")],
            number: Annotated[int | None, Param("n", minimum=1, maximum=50)] = None,
        ) -> None: ...

    assert bind(Pages.page, "show", "7") == {"what": "show", "number": 7}
    with pytest.raises(CommandError, match="must be from 1 to 50, not 99"):
        bind(Pages.page, "show", "99")
