"""Pacing the bot's own bulk requests (re-badging) inside the limits Discord advertises.

discord.py waits out a 429 after Discord has sent it; re-badging thousands of members should
never be told to slow down at all. The `Pacer` reads each answer's X-RateLimit-* headers (limit,
remaining, reset, bucket) and asks only while the bucket has room, and keeps its requests under
Discord's global limit (50 a second, documented rather than sent with each answer), leaving a
share of it for everything else the bot does. `MemberRoles` gives or takes one role with one
such request, on discord.py's own connection pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import discord

from bot.adapters.base import AdapterError
from bot.adapters.discord.failures import PACED

log = logging.getLogger(__name__)

GLOBAL_PER_SECOND = 50  # Discord's global limit for a bot
GLOBAL_SHARE = 0.9  # what re-badging may use of it; the rest is for answers and removals
UNLIMITED = 1_000_000  # a route whose answers advertise no bucket
TRIES = 4  # one request, and a few more only if Discord still said 429 or had an outage
TIMEOUT = aiohttp.ClientTimeout(total=30)
MEMBER_ROLE = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"


@dataclass
class Bucket:
    """One bucket as the answers describe it; `remaining` already counts requests sent."""

    limit: int = 1
    remaining: int = 1  # an unknown bucket: one request at a time until an answer tells
    reset_at: float | None = None  # monotonic; None until an answer of this window tells
    window: float = 0.0  # X-RateLimit-Reset of the window the figures belong to


class Pacer:
    """Admits a request only when its bucket and the global limit have room for it."""

    def __init__(
        self,
        *,
        global_per_second: int = GLOBAL_PER_SECOND,
        share: float = GLOBAL_SHARE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_second = max(1, int(global_per_second * share))
        self._clock = clock
        self._sent: deque[float] = deque()  # send times within the last second
        self._global_until = 0.0  # a global 429 said to wait until then
        self._global_lock = asyncio.Lock()
        self._buckets: dict[str, Bucket] = {}
        self._route_bucket: dict[str, str] = {}  # route + major -> bucket hash + major
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._in_flight: Counter[str] = Counter()  # per major parameter
        self._answered = asyncio.Event()
        self.requests = 0
        self.too_many = 0

    def _bucket(self, route: str) -> Bucket:
        return self._buckets.setdefault(self._route_bucket.get(route, route), Bucket())

    async def acquire(self, route: str, major: str) -> None:
        """Wait until one more request on `route` (with its major parameter) fits; then it
        counts as sent. Pair with `learn` (an answer came) or `release` (none came)."""
        key = f"{route}:{major}"
        async with self._locks[key]:
            while True:
                bucket, now = self._bucket(key), self._clock()
                if bucket.reset_at is not None and now >= bucket.reset_at:
                    bucket.remaining = bucket.limit - self._in_flight[major]
                    bucket.reset_at = None  # the new window's reset comes with its answers
                if bucket.reset_at is None and not self._in_flight[major]:
                    bucket.remaining = max(bucket.remaining, bucket.limit)  # nothing out, no wait
                if bucket.remaining > 0:
                    bucket.remaining -= 1
                    self._in_flight[major] += 1
                    break
                await self._wait(None if bucket.reset_at is None else bucket.reset_at - now)
        await self._take_global()
        self.requests += 1

    async def _take_global(self) -> None:
        async with self._global_lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - 1.0:
                    self._sent.popleft()
                wait = self._global_until - now
                if wait <= 0 and len(self._sent) >= self._per_second:
                    wait = self._sent[0] + 1.0 - now
                if wait <= 0:
                    self._sent.append(now)
                    return
                await asyncio.sleep(wait)

    def note_other(self) -> None:
        """Another request of the bot's went out: it counts in the global window too."""
        now = self._clock()
        sent = self._sent
        while sent and sent[0] <= now - 1.0:
            sent.popleft()
        sent.append(now)

    async def _wait(self, seconds: float | None) -> None:
        """Until the next answer arrives, or `seconds` pass (a window resets)."""
        answered = self._answered
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(answered.wait(), seconds)

    def _woken(self) -> None:
        self._answered.set()
        self._answered = asyncio.Event()

    def release(self, route: str, major: str) -> None:
        """No answer came (the request failed or was cancelled): give its place back."""
        self._in_flight[major] -= 1
        self._bucket(f"{route}:{major}").remaining += 1
        self._woken()

    def learn(
        self, route: str, major: str, status: int, headers: Mapping[str, str], body: Any
    ) -> None:
        """Take in an answer: its bucket's figures, or a 429's order to wait."""
        self._in_flight[major] -= 1
        key, now = f"{route}:{major}", self._clock()
        try:
            if status == 429:
                self._told_to_wait(key, now, headers, body)
            else:
                self._update(key, major, now, headers)
        finally:
            self._woken()

    def _update(self, key: str, major: str, now: float, headers: Mapping[str, str]) -> None:
        try:
            limit = int(headers["X-RateLimit-Limit"])
            remaining = int(headers["X-RateLimit-Remaining"])
            window = float(headers["X-RateLimit-Reset"])
            reset_after = float(headers["X-RateLimit-Reset-After"])
            bucket_hash = headers["X-RateLimit-Bucket"]
        except (KeyError, ValueError):
            bucket = self._bucket(key)  # no bucket on this route: only the global limit
            bucket.limit = bucket.remaining = UNLIMITED
            return
        self._route_bucket[key] = f"{bucket_hash}:{major}"
        bucket = self._bucket(key)
        left = remaining - self._in_flight[major]  # those still out may count already
        if window > bucket.window:  # the first answer of a new window
            bucket.window, bucket.remaining = window, left
        elif window < bucket.window or bucket.reset_at is None:
            return  # late news from a window already over
        else:
            bucket.remaining = min(bucket.remaining, left)
        bucket.limit = limit
        bucket.reset_at = max(bucket.reset_at or 0.0, now + reset_after)

    def _told_to_wait(self, key: str, now: float, headers: Mapping[str, str], body: Any) -> None:
        self.too_many += 1
        details = body if isinstance(body, dict) else {}
        try:
            retry_after = float(details.get("retry_after") or headers.get("Retry-After") or 1)
        except ValueError:
            retry_after = 1.0
        if details.get("global") or headers.get("X-RateLimit-Global"):
            self._global_until = max(self._global_until, now + retry_after)
        else:
            bucket = self._bucket(key)
            bucket.remaining, bucket.reset_at = 0, now + retry_after
        log.warning("Discord said 429 to a paced request; waiting %.2f s", retry_after)


class MemberRoles:
    """Gives or takes one role of one member with one paced request (the member-role route)."""

    def __init__(self, pacer: Pacer | None = None) -> None:
        self.pacer = pacer or Pacer()
        self._sessions: weakref.WeakKeyDictionary[discord.Client, aiohttp.ClientSession] = (
            weakref.WeakKeyDictionary()
        )

    def _session(self, client: discord.Client) -> aiohttp.ClientSession:
        """A session on the client's own connection pool: it closes when discord.py closes it."""
        http = client.http
        if http.connector is discord.utils.MISSING or http.connector.closed:
            raise AdapterError("not connected to Discord")
        session = self._sessions.get(client)
        if session is None or session.closed:
            session = aiohttp.ClientSession(
                connector=http.connector,
                connector_owner=False,
                trace_configs=None if http.http_trace is None else [http.http_trace],
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=TIMEOUT,
            )
            self._sessions[client] = session
        return session

    async def change(
        self,
        client: discord.Client,
        guild_id: int,
        user_id: int,
        role_id: int,
        *,
        on: bool,
        reason: str,
    ) -> None:
        """PUT (on) or DELETE (off) the role; Discord's refusals raise as discord.py's do."""
        method = "PUT" if on else "DELETE"
        route, major = f"{method} {MEMBER_ROLE}", f"guild_id={guild_id}"
        url = discord.http.Route.BASE + MEMBER_ROLE.format(
            guild_id=guild_id, user_id=user_id, role_id=role_id
        )
        headers = {
            "User-Agent": client.http.user_agent,
            "Authorization": f"Bot {client.http.token}",
            "X-Audit-Log-Reason": quote(reason, safe="/ "),
        }
        for attempt in range(1, TRIES + 1):
            session = self._session(client)
            await self.pacer.acquire(route, major)
            try:
                async with session.request(
                    method,
                    url,
                    headers=headers,
                    proxy=client.http.proxy,
                    proxy_auth=client.http.proxy_auth,
                    trace_request_ctx=PACED,
                ) as response:
                    body = _parsed(await response.text())
            except BaseException:
                self.pacer.release(route, major)
                raise
            self.pacer.learn(route, major, response.status, response.headers, body)
            if 200 <= response.status < 300:
                return
            if attempt < TRIES and response.status in (429, 500, 502, 504):
                if response.status >= 500:
                    await asyncio.sleep(attempt)
                continue
            if response.status == 404:
                raise discord.NotFound(response, body)
            if response.status == 403:
                raise discord.Forbidden(response, body)
            raise discord.HTTPException(response, body)


def _parsed(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text
