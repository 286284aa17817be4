"""Pydantic's validation errors as lines an admin can act on: the key, the bad value, the fix.

A bad value is shown cut short, and never when it is (or may be) a secret's.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from bot.config.root import Config
from bot.config.secret import SecretRef


def format_error(error: Mapping[str, Any]) -> list[str]:
    parts = tuple(error.get("loc", ()))
    loc = ".".join(str(part) for part in parts)
    message = str(error.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    value = error.get("input")
    lines = message.split("\n")
    if error.get("type") == "extra_forbidden":
        return [f"{loc}: unknown setting; check the spelling against config.example.toml"]
    if error.get("type") == "missing":
        return [f"{loc}: required setting is missing; see config.example.toml"]
    if len(lines) > 1 or not loc:
        # cross-field messages already name their keys
        return [line if not loc else f"{loc}: {line}" for line in lines]
    hidden = isinstance(value, dict | list) or value is None or _is_secret_value(parts)
    return [f"{loc}: {message}{'' if hidden else f' (got {_short_repr(value)})'}"]


def _short_repr(value: Any, limit: int = 80) -> str:
    """A bad value as the user wrote it, cut short so a huge value cannot flood the output."""
    shown = repr(value)
    return shown if len(shown) <= limit else f"{shown[: limit - 1]}…"


def _is_secret_value(loc: tuple[Any, ...]) -> bool:
    """Whether an error is about a secret's own value, whose input must never be echoed."""
    current: Any = Config
    for index, part in enumerate(loc):
        if _holds_secret(current):
            return loc[index:] == ("value",)
        current = _field_type(current, part)
        if current is None:
            return False
    return _holds_secret(current)


def _holds_secret(annotation: Any) -> bool:
    """SecretRef itself, or an optional SecretRef."""
    return annotation is SecretRef or (
        get_origin(annotation) in _UNIONS and SecretRef in get_args(annotation)
    )


def _field_type(container: Any, part: Any) -> Any:
    """The type found at `part` inside `container` (a model, list or dict type), or None."""
    for option in get_args(container) if get_origin(container) in _UNIONS else (container,):
        origin = get_origin(option)
        if isinstance(option, type) and issubclass(option, BaseModel) and isinstance(part, str):
            field = option.model_fields.get(part)
            if field is not None:
                return field.annotation
        elif origin is list and isinstance(part, int):
            return get_args(option)[0]
        elif origin is dict and isinstance(part, str):
            return get_args(option)[1]
    return None


_UNIONS = (Union, UnionType)
