"""Reading the files an admin points the bot at (the config, secret files) without crashing.

A config mistake must end in a message, never a traceback. So files are read with a size cap (a
device or a wrong path can neither hang nor exhaust the bot), every way a path can be refused
(missing, a directory, no permission, a NUL byte) gets its own fix, and nesting is bounded before
tomllib's or pydantic's recursion can overflow.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MAX_CONFIG_BYTES = 1024 * 1024
MAX_SECRET_BYTES = 64 * 1024
MAX_DEPTH = 32  # the deepest real setting (methods.oidc.claim_rules[i].values[j]) is 5


class Unusable(Exception):
    """A file cannot be used; the message names it and says what to do."""


def read_text(file: Path, what: str, limit: int) -> str:
    """The UTF-8 text of `file` (at most `limit` bytes); `what` names it in messages."""
    try:
        with file.open("rb") as handle:
            raw = handle.read(limit + 1)
    except (OSError, ValueError) as exc:
        raise Unusable(_unreadable(file, what, exc)) from None
    if len(raw) > limit:
        raise Unusable(
            f"{file} is larger than {limit // 1024} KiB, far more than a {what} holds;"
            " is it the right file?"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unusable(
            f"{file} is not UTF-8 text (byte {exc.start} is not); is it the right file?"
            " If so, save it as UTF-8"
        ) from None


def _unreadable(file: Path, what: str, exc: OSError | ValueError) -> str:
    if isinstance(exc, ValueError):  # an embedded NUL, or a name the file system cannot encode
        return f"{str(file)!r} cannot be a file name ({exc}); check the path of the {what}"
    if isinstance(exc, IsADirectoryError):
        return f"{file} is a directory; give the path of the {what} itself"
    if isinstance(exc, FileNotFoundError):
        return f"{file} does not exist; check the path of the {what}"
    if isinstance(exc, PermissionError):
        return f"{file} cannot be read (permission denied); let the user running verifybot read it"
    return f"{file} cannot be read ({exc.strerror or exc}); check the path of the {what}"


def load_toml(file: Path) -> dict[str, Any]:
    """The parsed config file; raises Unusable naming what is wrong."""
    text = read_text(file, "config file", MAX_CONFIG_BYTES)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Unusable(f"{file}: not valid TOML: {exc}") from None
    except RecursionError:
        raise Unusable(nested_too_deep(f"{file}: {_deep_line(text)}")) from None


def nested_too_deep(where: str) -> str:
    return (
        f"{where}: brackets or braces nested more than {MAX_DEPTH} levels deep; no verifybot"
        " setting nests like that, so check the [ ] and { } pairs"
    )


def _deep_line(text: str) -> str:
    """Where the nesting runs away: the first line opening that many brackets, with its key."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count("[") + line.count("{") > MAX_DEPTH:
            key = line.split("=", 1)[0].strip() if "=" in line else ""
            return f"line {number}" + (f" (key {key[:60]!r})" if key else "")
    return "the file"


def too_deep(data: Mapping[str, Any]) -> str | None:
    """A problem naming the key whose value nests past MAX_DEPTH, found without recursion."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return nested_too_deep(".".join(path[:3]) + (".…" if len(path) > 3 else ""))
        if isinstance(node, Mapping):
            stack.extend((value, (*path, str(key))) for key, value in node.items())
        elif isinstance(node, list | tuple):
            stack.extend((value, (*path, str(i))) for i, value in enumerate(node))
    return None


def read_secret(file: Path) -> str:
    """A secret kept in a file: its UTF-8 text without surrounding whitespace, never empty."""
    text = read_text(file, "secret file", MAX_SECRET_BYTES).strip()
    if not text:
        raise Unusable(f"file {file} is empty; write the secret into it")
    return text
