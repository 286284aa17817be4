"""Discord's refusals and outages: counted as they happen, and put in words people can act on.

discord.py waits out a 429 (`retry_after`) and retries 500, 502, 504 and 524 itself, up to five
tries; what still fails reaches the adapter as an exception. Every response is counted here as
it arrives (`http_401`, `http_403`, `http_429`, `http_5xx`), so a rising count shows an admin's
to-do (401/403) or Discord's trouble (429/5xx) on /metrics even when a retry succeeded.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, MutableMapping
from types import SimpleNamespace

import aiohttp
import discord

log = logging.getLogger(__name__)

_SNOWFLAKE = re.compile(r"\d{15,21}")
# the `trace_request_ctx` of a request the pacer sends (and so already counts) itself
PACED: dict[str, bool] = {"paced": True}


def redact(path: str) -> str:
    """A request path without its ids (user ids among them): `/guilds/{id}/members/{id}`."""
    return _SNOWFLAKE.sub("{id}", path)


def counting_trace(
    metrics: MutableMapping[str, int], on_start: Callable[[], None] | None = None
) -> aiohttp.TraceConfig:
    """An aiohttp trace that counts 401/403/429/5xx answers; 401/403/5xx are logged too.
    `on_start`: told of every request sent but those the pacer sends itself (marked `PACED`),
    so its global window counts everything the bot asks of Discord."""

    async def on_request_start(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if on_start is not None and getattr(context, "trace_request_ctx", None) is not PACED:
            on_start()

    async def on_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        status = params.response.status
        if status in (401, 403, 429):
            metrics[f"http_{status}"] += 1
        elif status >= 500:
            metrics["http_5xx"] += 1
        else:
            return
        if status != 429:
            log.warning(
                "Discord answered %s to %s %s", status, params.method, redact(params.url.path)
            )

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    trace.on_request_end.append(on_end)
    return trace


def failure_text(exc: discord.HTTPException, doing: str) -> str:
    """Why `doing` ("remove the message") did not happen, in plain words.

    Outages and rate limits say so and when to try again; other refusals carry Discord's own
    message (never an HTML error page).
    """
    if exc.status >= 500:
        return (
            f"Discord had a server problem (HTTP {exc.status}), so I could not {doing}."
            " Nothing else was changed; please try again in a few minutes."
        )
    if exc.status == 429:
        return (
            f"Discord asked me to slow down, so I could not {doing}. Please try again in a minute."
        )
    detail = exc.text if exc.text and not exc.text.lstrip().startswith("<") else str(exc.status)
    return f"Discord refused to let me {doing}: {detail}"
