"""One unreadable gateway event costs that event, not the session.

discord.py parses each dispatch inside `DiscordWebSocket.received_message` with the parser its
`ConnectionState` keeps for the event (`parsers["MESSAGE_CREATE"]` is `parse_message_create`,
and so on). An exception there (a payload without `author`, a `channel_id` that is no snowflake)
leaves `Client.connect`, the client closes, and a restarted one has to IDENTIFY afresh: events in
the gap are never judged and restarts back off up to 60 s. So each parser is wrapped: a failure is
logged (the event's name, the exception's type and where it was raised; never the payload, which
holds content and account ids), counted as `bad_gateway_events`, and the same session reads on.

READY is left alone: a session whose READY cannot be read is broken, and the supervisor's
restart is the right answer to that.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, MutableMapping
from typing import Any

import discord

log = logging.getLogger(__name__)

UNGUARDED = frozenset({"READY"})
LOG_EVERY_SECONDS = 60.0  # per event name: a flood of bad events writes one line a minute

Parser = Callable[[Any], None]


class BadEvents:
    """Counts unreadable events and logs them, briefly and without their content."""

    def __init__(self, metrics: MutableMapping[str, int]) -> None:
        self.metrics = metrics
        self._logged: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}

    def __call__(self, event: str, exc: Exception) -> None:
        self.metrics["bad_gateway_events"] += 1
        now = time.monotonic()
        if now - self._logged.get(event, -LOG_EVERY_SECONDS) < LOG_EVERY_SECONDS:
            self._unlogged[event] = self._unlogged.get(event, 0) + 1
            return
        self._logged[event] = now
        also = self._unlogged.pop(event, 0)
        log.warning(
            "skipped a Discord %s event that could not be read (%s)%s; the session carries on",
            event,
            where(exc),
            f", and {also} more since the last report" if also else "",
        )


def where(exc: BaseException) -> str:
    """`KeyError in discord/message.py:2452`: the type and the innermost frame, no values."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    parts = last.filename.replace("\\", "/").split("/")
    return f"{type(exc).__name__} in {'/'.join(parts[-2:])}:{last.lineno}"


def guard_parsers(client: discord.Client, on_bad: Callable[[str, Exception], None]) -> None:
    """Wrap every event parser of `client` (before it connects) so a failure skips one event.

    discord.py hands the gateway this very dict (`ws._discord_parsers = state.parsers`), so the
    wrappers are what the gateway calls.
    """
    parsers: dict[str, Parser] = client._connection.parsers
    for event, parse in list(parsers.items()):
        if event not in UNGUARDED:
            parsers[event] = _guarded(event, parse, on_bad)


def _guarded(event: str, parse: Parser, on_bad: Callable[[str, Exception], None]) -> Parser:
    def parse_or_skip(data: Any) -> None:
        try:
            parse(data)
        except Exception as exc:
            on_bad(event, exc)

    return parse_or_skip
