"""What every part of the static checks shares, the networks' own checks included."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.config import ConfigError, SecretRef


@dataclass
class Findings:
    """Problems stop the bot (exit 2); warnings are shown and the bot starts."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, other: Findings) -> None:
        self.problems += other.problems
        self.warnings += other.warnings


def url_problems(key: str, url: str, schemes: Iterable[str] = ("http", "https")) -> list[str]:
    """What makes `url` unusable as a base address: spaces, a ?query or #fragment, a bad port."""
    allowed = tuple(schemes)
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return [
            f"{key}: {url!r} holds spaces or control characters; write the address without them"
        ]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return [f"{key}: {url!r} is not a usable address ({exc}); check the host and port"]
    if parts.scheme not in allowed or not parts.hostname:
        return [
            f"{key}: {url!r} is not an absolute {' or '.join(allowed)} URL;"
            f" write it like {allowed[-1]}://host.example.org"
        ]
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return [f"{key}: {url!r} has a ?query or #fragment, which cannot be used here; remove it"]
    if port == 0:
        return [f"{key}: {url!r} names port 0; give the real port or none"]
    return []


def these(values: list[str]) -> str:
    """`'a' is` or `'a', 'b' are`: bad values quoted, at most three of them."""
    shown = ", ".join(repr(v) for v in values[:3]) + (", …" if len(values) > 3 else "")
    return f"{shown} {'is' if len(values) == 1 else 'are'}"


def resolved(ref: SecretRef | None, environ: Mapping[str, str]) -> str | None:
    """The secret, or None when it is absent or unreadable (check_secrets reports that)."""
    if ref is None:
        return None
    try:
        return ref.resolve(environ)
    except ConfigError:
        return None


def token_problem(key: str, token: str | None) -> list[str]:
    """A token travels in an HTTP header: whitespace or control characters break it."""
    if token is None or (token.isprintable() and not any(ch.isspace() for ch in token)):
        return []
    return [
        f"{key}: the token holds spaces, line breaks or control characters (not shown);"
        " copy it again, alone on one line"
    ]
