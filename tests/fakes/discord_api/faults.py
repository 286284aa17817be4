"""Discord under strain, on demand: rate-limit buckets with Discord's headers, injected errors
(any status, Discord's error code) and slow answers, applied before a request reaches its route.

`enforce_rate_limits()` makes the fake limit like Discord does, so a client's pacing can be
judged: a global limit (50 requests in any second by default; interaction answers are not bound
by it) and per-route buckets shared by a major parameter (the guild, channel or webhook in the
path), the member-role route (`PUT`/`DELETE /guilds/{g}/members/{u}/roles/{r}`) among them. Every
429 the fake answers is counted (`too_many`).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from .rest import json_response

MEMBER_ROLE = r"/guilds/\d+/members/\d+/roles/\d+"
_MAJOR = re.compile(r"/(?:channels|guilds|webhooks)/\d+")
UNBOUND = ("/interactions/", "/webhooks/")  # interaction answers: outside the global limit


def major(path: str) -> str:
    """What Discord shares a bucket by: the first channel, guild or webhook id in the path."""
    found = _MAJOR.match(path)
    return found.group(0) if found else path


@dataclass
class RateLimit:
    """A bucket: `limit` requests per `window` seconds for matching method (`PUT|DELETE` for
    several) + path, counted per major parameter, as Discord counts them."""

    method: str
    path: re.Pattern[str]
    limit: int
    window: float
    scope: str = "user"
    bucket: str = field(default_factory=lambda: secrets.token_hex(8))
    used: dict[str, tuple[float, int]] = field(default_factory=dict)  # major -> (reset, count)

    def matches(self, method: str, path: str) -> bool:
        return method in self.method.split("|") and self.path.fullmatch(path) is not None


@dataclass
class GlobalLimit:
    """Discord's global limit: at most `per_second` requests in any one second."""

    per_second: int
    arrivals: deque[float] = field(default_factory=deque)

    def take(self, now: float) -> float | None:
        """Count a request arriving now; how long to wait instead when it is one too many."""
        while self.arrivals and self.arrivals[0] <= now - 1.0:
            self.arrivals.popleft()
        if len(self.arrivals) >= self.per_second:
            return self.arrivals[0] + 1.0 - now
        self.arrivals.append(now)
        return None


@dataclass
class Failure:
    method: str
    path: re.Pattern[str]
    status: int
    remaining: int
    retry_after: float
    code: int = 0
    message: str = "injected failure"


@dataclass
class Delay:
    method: str
    path: re.Pattern[str]
    seconds: float
    remaining: int


class FaultControls:
    """What a test switches on; mixed into `FakeDiscord`, which applies it to every request."""

    _limits: list[RateLimit]
    _failures: list[Failure]
    _delays: list[Delay]
    global_limit: GlobalLimit | None
    too_many: int  # every 429 answered: limits and injected failures alike

    def enforce_rate_limits(
        self,
        *,
        global_per_second: int = 50,
        member_roles: tuple[int, float] = (10, 1.0),
    ) -> RateLimit:
        """Limit as Discord does: the global limit and the member-role bucket (`limit` per
        `window` seconds per guild, PUT and DELETE alike); returns that bucket."""
        self.global_limit = GlobalLimit(global_per_second)
        limit, window = member_roles
        return self.rate_limit("PUT|DELETE", MEMBER_ROLE, limit=limit, window=window)

    def ceiling(self, method: str, path: str) -> float:
        """The most requests per second the advertised limits allow on one route of one guild."""
        rates = [r.limit / r.window for r in self._limits if r.matches(method, path)]
        if self.global_limit is not None:
            rates.append(float(self.global_limit.per_second))
        return min(rates, default=float("inf"))

    def most_allowed(self, method: str, path: str, seconds: float) -> float:
        """The most requests the advertised limits let through in a span of `seconds` (first
        to last request): a window's worth for every window the span touches."""
        counts = [
            r.limit * (int(seconds / r.window) + 1) for r in self._limits if r.matches(method, path)
        ]
        if self.global_limit is not None:
            counts.append(self.global_limit.per_second * (int(seconds) + 1))
        return float(min(counts, default=float("inf")))

    def rate_limit(
        self, method: str, path: str, *, limit: int, window: float, scope: str = "user"
    ) -> RateLimit:
        """Switch on a bucket for matching requests; responses then carry X-RateLimit-* headers."""
        rule = RateLimit(method, re.compile(path), limit, window, scope)
        self._limits.append(rule)
        return rule

    def fail_next(
        self,
        method: str,
        path: str,
        *,
        status: int = 429,
        count: int = 1,
        retry_after: float = 0.2,
        code: int = 0,
        message: str = "injected failure",
    ) -> None:
        """Answer the next `count` matching requests with `status` (429: with Discord's headers;
        others with Discord's JSON error body, `code` and `message`)."""
        failure = Failure(method, re.compile(path), status, count, retry_after, code, message)
        self._failures.append(failure)

    def recover(self) -> None:
        """Discord is back: injected failures and slow answers still pending are dropped."""
        self._failures.clear()
        self._delays.clear()

    def delay_next(self, method: str, path: str, *, seconds: float, count: int = 1) -> None:
        """Answer the next `count` matching requests only after `seconds` (a slow Discord)."""
        self._delays.append(Delay(method, re.compile(path), seconds, count))

    def _limit_headers(self, rule: RateLimit, path: str) -> tuple[dict[str, str], float | None]:
        now = time.time()
        key = major(path)
        reset, count = rule.used.get(key, (now + rule.window, 0))
        if now >= reset:
            reset, count = now + rule.window, 0
        over = count >= rule.limit
        if not over:
            count += 1
        rule.used[key] = (reset, count)
        headers = {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(max(rule.limit - count, 0)),
            "X-RateLimit-Reset": f"{reset:.3f}",
            "X-RateLimit-Reset-After": f"{max(reset - now, 0):.3f}",
            "X-RateLimit-Bucket": rule.bucket,
        }
        return headers, (reset - now if over else None)

    @staticmethod
    def _too_many(
        retry_after: float, headers: dict[str, str], scope: str, *, is_global: bool = False
    ) -> web.Response:
        headers = {
            **headers,
            "X-RateLimit-Scope": scope,
            "Retry-After": str(max(1, round(retry_after))),
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(retry_after, 3),
            "global": is_global,
        }
        return json_response(429, body, headers)

    async def _injected(self, request: web.Request, path: str) -> web.Response | None:
        """Wait out a slow answer, then answer an injected failure instead of the route."""
        for delay in self._delays:
            if delay.remaining and request.method == delay.method and delay.path.fullmatch(path):
                delay.remaining -= 1
                await asyncio.sleep(delay.seconds)
                break
        for failure in self._failures:
            if (
                failure.remaining
                and request.method == failure.method
                and failure.path.fullmatch(path)
            ):
                failure.remaining -= 1
                if failure.status == 429:
                    return self._too_many(
                        failure.retry_after, {"X-RateLimit-Remaining": "0"}, "shared"
                    )
                body = {"message": failure.message, "code": failure.code}
                return json_response(failure.status, body)
        return None

    def _rate_limited(
        self, request: web.Request, path: str
    ) -> tuple[dict[str, str], web.Response | None]:
        """The bucket's headers for this request, and a 429 when the bucket (or the global
        limit, checked first) is spent."""
        headers: dict[str, str] = {}
        if self.global_limit is not None and not path.startswith(UNBOUND):
            wait = self.global_limit.take(time.monotonic())
            if wait is not None:
                return headers, self._too_many(wait, headers, "global", is_global=True)
        for rule in self._limits:
            if rule.matches(request.method, path):
                headers, retry_after = self._limit_headers(rule, path)
                if retry_after is not None:
                    return headers, self._too_many(retry_after, headers, rule.scope)
        return headers, None
