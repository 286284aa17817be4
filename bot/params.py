"""A command's parameters, declared once: in its handler's signature.

    @command("filter", help="…")
    async def set_filter(
        self, ctx: CommandContext, level: Annotated[FilterLevel | None, Param("…")] = None
    ) -> None: ...

The type says what the parser hands over (an enum member, a `MemberRef`, a `ChannelRef`, a
bounded `int`, a word, or with `Param(rest=True)` the rest of the line); `| None` with a default
of None makes it optional. The signature is read when the class is defined, so a parameter that
cannot be a command's is a TypeError at import, not a surprise in chat. Both networks build their
command surface (slash-command options with choices; `!` usage lines) from the `CommandSpec`
this produces.
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from bot.model import ChannelRef, MemberRef, ParamKind, ParamSpec


@dataclass(frozen=True, slots=True)
class Param:
    """What a person is told about a parameter, and its limits."""

    help: str
    rest: bool = False  # the rest of the line (only the last parameter)
    minimum: int | None = None
    maximum: int | None = None


def params_of(handler: Callable[..., Any]) -> tuple[ParamSpec, ...]:
    """The handler's parameters after `self` and `ctx`, as the parser and adapters see them."""
    hints = typing.get_type_hints(handler, include_extras=True)
    signature = inspect.signature(handler)
    names = list(signature.parameters)[2:]  # self, ctx
    specs = [_spec(handler, signature.parameters[name], hints.get(name)) for name in names]
    for spec in specs[:-1]:
        if spec.kind is ParamKind.TEXT:
            raise TypeError(
                f"{handler.__qualname__}: {spec.name} takes the rest of the line, so it must"
                " come last"
            )
    return tuple(specs)


def _spec(handler: Callable[..., Any], parameter: inspect.Parameter, hint: Any) -> ParamSpec:
    where = f"{handler.__qualname__}({parameter.name})"
    if get_origin(hint) is not Annotated:
        raise TypeError(f"{where}: annotate it as Annotated[<type>, Param('help')]")
    kind_type, *extras = get_args(hint)
    param = next((e for e in extras if isinstance(e, Param)), None)
    if param is None:
        raise TypeError(f"{where}: the Annotated type needs a Param('help') to describe it")
    base, optional = _unwrap_optional(kind_type)
    has_default = parameter.default is not inspect.Parameter.empty
    if optional != has_default or (has_default and parameter.default is not None):
        raise TypeError(
            f"{where}: an optional parameter is `<type> | None = None`; a required one has no"
            " default"
        )
    kind, choices, enum_type = _kind(where, base, param)
    return ParamSpec(
        name=parameter.name,
        kind=kind,
        help=param.help,
        required=not optional,
        choices=choices,
        enum=enum_type,
        minimum=param.minimum,
        maximum=param.maximum,
    )


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1 and len(get_args(annotation)) == 2:
            return members[0], True
    return annotation, False


def _kind(
    where: str, base: Any, param: Param
) -> tuple[ParamKind, tuple[str, ...], type[enum.Enum] | None]:
    if base is MemberRef:
        return ParamKind.MEMBER, (), None
    if base is ChannelRef:
        return ParamKind.CHANNEL, (), None
    if base is int:
        return ParamKind.INTEGER, (), None
    if base is str:
        return (ParamKind.TEXT if param.rest else ParamKind.WORD), (), None
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return ParamKind.CHOICE, tuple(str(member.value) for member in base), base
    if get_origin(base) is Literal and all(isinstance(a, str) for a in get_args(base)):
        return ParamKind.CHOICE, tuple(get_args(base)), None
    raise TypeError(
        f"{where}: a command parameter is a MemberRef, ChannelRef, int, str, an Enum or a"
        f" Literal of words, not {base!r}"
    )
