"""Any configuration, however broken, ends in a list of problems (ConfigError), never a traceback.

`parse_config` gets TOML-shaped data built from the settings model itself (every section and
key, right and wrong types, unknown keys, deep nesting), so the fuzzer reaches each validator;
`load_config` gets arbitrary bytes in a file: TOML fragments, broken UTF-8, anything.
"""

from __future__ import annotations

import datetime as dt
import enum
import tempfile
import typing
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel

from bot.config import Config, ConfigError, LoadedConfig, load_config, parse_config

toml_scalars = st.one_of(
    st.text(max_size=30),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.booleans(),
    st.datetimes(timezones=st.none() | st.timezones()),
    st.dates(),
    st.times(),
)
toml_values: st.SearchStrategy[Any] = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The settings tables a field can hold (`X`, `X | None`, `list[X]`, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [found for arg in typing.get_args(annotation) for found in models_in(arg)]


def choices_in(annotation: Any) -> list[Any]:
    """Values a Literal or enum field accepts, so the fuzzer gets past them often."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [member.value for member in annotation]
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    return [found for arg in typing.get_args(annotation) for found in choices_in(arg)]


def tables(model: type[BaseModel], depth: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """A TOML table for `model`: some of its keys with fitting or wrong values, some unknown."""
    keys: dict[str, st.SearchStrategy[Any]] = {}
    for name, field in model.model_fields.items():
        options = [toml_values]
        if choices := choices_in(field.annotation):
            options.append(st.sampled_from(choices))
        if depth:
            for inner in models_in(field.annotation):
                options += [
                    tables(inner, depth - 1),
                    st.lists(tables(inner, depth - 1), max_size=2),
                ]
        keys[name] = st.one_of(*options)
    known = st.fixed_dictionaries({}, optional=keys)
    unknown = st.dictionaries(st.text(max_size=10), toml_values, max_size=2)
    return st.builds(lambda k, u: {**u, **k}, known, unknown)


def deep(levels: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for _ in range(levels):
        data = {"x": [data]}
    return {"database": data}


def check(load: typing.Callable[[], LoadedConfig]) -> None:
    try:
        loaded = load()
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return
    assert isinstance(loaded.config, Config) and isinstance(loaded.warnings, list)


@given(tables(Config) | st.dictionaries(st.text(max_size=10), toml_values, max_size=4))
@example({"communities": [{"network": "matrix", "id": "!a:b", "rules": {"x": dt.time(1, 2)}}]})
def test_any_config_data_is_accepted_or_listed_as_problems(data: dict[str, Any]) -> None:
    check(lambda: parse_config(data))


TOML_FRAGMENTS = [
    "[database]\n",
    "[web]\n",
    "[identity]\n",
    "[[communities]]\n",
    "[matrix]\n",
    "[discord]\n",
    "[methods.email_code]\n",
    'url = "sqlite+aiosqlite:///x.db"\n',
    "hash_key = { env = 'K' }\n",
    'network = "matrix"\n',
    "id = ",
    "pool_size = 10\n",
    "x = ",
    '"',
    "'''",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    "\n",
    "1979-05-27T07:32:00Z",
    "inf",
    "nan",
    "[" * 40,
    "{ a = " * 40,
    "\ufeff",
    "\x00",
]
toml_bytes = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(TOML_FRAGMENTS) | st.text(max_size=5), max_size=30).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
)


@given(toml_bytes)
@example(b"x = " + b"[" * 5000)
@example(b"\xff\xfe")
def test_any_config_file_is_loaded_or_listed_as_problems(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_bytes(raw)
        check(lambda: load_config(path))


def test_config_data_nested_past_any_setting_is_a_problem_not_a_crash() -> None:
    check(lambda: parse_config(deep(5000)))  # (deep data cannot be a Hypothesis example)
