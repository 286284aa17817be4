"""Whatever someone types after a command, they get the command run or a usage answer they can read.

`bind_arguments` is fed the real commands of every cog, with words as a Matrix member types them
and named options as Discord hands them over. The only exception allowed out is CommandError,
whose text is sent as the answer, so it must fit in one chat message: Discord refuses answers
over 2,000 characters, which once silenced the answer to a long mistyped word.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, cast

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import cogs
from bot.adapters.base import Capabilities, ChatAdapter
from bot.adapters.discord import events as ev
from bot.adapters.matrix import translate as tr
from bot.cog import Cog
from bot.commands import bind_arguments
from bot.model import (
    Actor,
    ChannelRef,
    CommandError,
    CommandInvocation,
    CommandSpec,
    CommunityRef,
    MemberRef,
    Network,
    ParamKind,
    ParamSpec,
)
from tests.unit.fuzz_strategies import member_text

DISCORD_ANSWER_LIMIT = 2000


def cog_commands() -> list[CommandSpec]:
    """Every command the cogs declare, found the way the core finds them."""
    specs = []
    for info in pkgutil.iter_modules(cogs.__path__):
        module = importlib.import_module(f"cogs.{info.name}")
        for cog in vars(module).values():
            if isinstance(cog, type) and issubclass(cog, Cog) and cog is not Cog:
                for name in dir(cog):
                    spec = getattr(getattr(cog, name), "__verifybot_command__", None)
                    if isinstance(spec, CommandSpec):
                        specs.append(spec)
    return sorted(specs, key=lambda spec: spec.name)


SPECS = cog_commands()
OPTION_NAMES = st.sampled_from(sorted({param.name for spec in SPECS for param in spec.params}))


class MatrixWords:
    """Reads members and rooms as the Matrix adapter does (ids, addresses, pills)."""

    capabilities = Capabilities(command_prefix="!", channel_word="room", direct_commands=True)
    network: Network = "matrix"

    def parse_member(self, text: str) -> MemberRef | None:
        user = tr.parse_user_id(text)
        return None if user is None else MemberRef("matrix", user)

    def parse_channel(self, text: str, community: CommunityRef) -> ChannelRef | None:
        room = tr.parse_room_ref(text)
        return None if room is None else ChannelRef(community, room)


class DiscordOptions:
    """Reads members and channels as the Discord adapter does (mentions and snowflakes)."""

    capabilities = Capabilities(command_prefix="/", ephemeral_replies=True)
    network: Network = "discord"

    def parse_member(self, text: str) -> MemberRef | None:
        user = ev.parse_member_id(text)
        return None if user is None else ev.member_ref(user)

    def parse_channel(self, text: str, community: CommunityRef) -> ChannelRef | None:
        channel = ev.parse_channel_id(text)
        return None if channel is None else ChannelRef(community, str(channel))


def invocation(
    spec: CommandSpec,
    adapter: MatrixWords | DiscordOptions,
    *,
    in_community: bool,
    args: tuple[tuple[str, str], ...] = (),
    positional: tuple[str, ...] = (),
) -> CommandInvocation:
    community = CommunityRef(adapter.network, "community") if in_community else None
    invoker = Actor(MemberRef(adapter.network, "invoker"))
    return CommandInvocation(spec.name, community, None, invoker, args=args, positional=positional)


def check_bound(spec: CommandSpec, call: CommandInvocation, adapter: Any) -> None:
    """Either the values fit the spec, or a CommandError short enough to send."""
    try:
        values = bind_arguments(spec, call, cast(ChatAdapter, adapter))
    except CommandError as exc:
        assert "Usage:" in str(exc) and len(str(exc)) <= DISCORD_ANSWER_LIMIT
        return
    params = {param.name: param for param in spec.params}
    assert set(values) <= set(params)
    for name, value in values.items():
        kind = params[name].kind
        if kind is ParamKind.CHOICE:
            assert value in params[name].choices
        elif kind is ParamKind.MEMBER:
            assert isinstance(value, MemberRef)
        elif kind is ParamKind.CHANNEL:
            assert isinstance(value, ChannelRef)
        elif kind is ParamKind.INTEGER:
            assert isinstance(value, int) and 0 <= value < 10**12  # fits any database integer
        else:
            assert isinstance(value, str) and value


@given(st.sampled_from(SPECS), member_text, st.booleans())
@example(SPECS[0], "x" * 6000, True)
def test_any_words_after_a_matrix_command(
    spec: CommandSpec, typed: str, in_community: bool
) -> None:
    adapter = MatrixWords()
    parsed = tr.parse_command(f"!{spec.name} {typed}", "!")
    assert parsed is not None and parsed.name == spec.name
    call = invocation(spec, adapter, in_community=in_community, positional=parsed.positional)
    check_bound(spec, call, adapter)


@given(
    st.sampled_from(SPECS),
    st.dictionaries(OPTION_NAMES | st.text(max_size=8), member_text, max_size=4),
    st.booleans(),
)
def test_any_discord_options(
    spec: CommandSpec, options: dict[str, str], in_community: bool
) -> None:
    adapter = DiscordOptions()
    call = invocation(spec, adapter, in_community=in_community, args=tuple(options.items()))
    check_bound(spec, call, adapter)


@pytest.mark.parametrize("adapter", [MatrixWords(), DiscordOptions()])
@pytest.mark.parametrize("spec", [s for s in SPECS if s.params], ids=lambda spec: spec.name)
def test_an_answer_to_a_long_mistyped_word_fits_in_one_message(
    spec: CommandSpec, adapter: MatrixWords | DiscordOptions
) -> None:
    word = "é" * 6000  # Discord lets an option carry 6,000 characters
    calls = [
        invocation(spec, adapter, in_community=True, positional=(word,) * 3),
        invocation(spec, adapter, in_community=True, args=((spec.params[0].name, word),)),
        invocation(spec, adapter, in_community=True, args=((word, "x"),)),
    ]
    for call in calls:
        try:
            bind_arguments(spec, call, cast(ChatAdapter, adapter))
        except CommandError as exc:
            answer = str(exc)
            assert len(answer) <= DISCORD_ANSWER_LIMIT
            assert "é" not in answer or "é" * 60 + "…" in answer  # recognisable, cut short


def test_a_number_too_large_for_any_list_is_a_usage_error() -> None:
    spec = CommandSpec("page", "Show a page", (ParamSpec("number", ParamKind.INTEGER, "page"),))
    adapter = MatrixWords()
    for typed in ("99999999999999999999", "٣", "-1", "#12"):
        call = invocation(spec, adapter, in_community=True, positional=(typed,))
        if typed == "#12":
            assert bind_arguments(spec, call, cast(ChatAdapter, adapter)) == {"number": 12}
            continue
        with pytest.raises(CommandError) as refused:
            bind_arguments(spec, call, cast(ChatAdapter, adapter))
        assert "must be a whole number" in str(refused.value)
