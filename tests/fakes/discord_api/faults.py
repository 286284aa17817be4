"""Discord under strain, on demand: rate-limit buckets with Discord's headers, injected errors
(any status, Discord's error code) and slow answers, applied before a request reaches its route.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web

from .rest import json_response


@dataclass
class RateLimit:
    """A bucket: `limit` requests per `window` seconds for matching method + path."""

    method: str
    path: re.Pattern[str]
    limit: int
    window: float
    scope: str = "user"
    bucket: str = field(default_factory=lambda: secrets.token_hex(8))
    used: dict[str, tuple[float, int]] = field(default_factory=dict)  # path -> (reset, count)


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
        reset, count = rule.used.get(path, (now + rule.window, 0))
        if now >= reset:
            reset, count = now + rule.window, 0
        over = count >= rule.limit
        if not over:
            count += 1
        rule.used[path] = (reset, count)
        headers = {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(max(rule.limit - count, 0)),
            "X-RateLimit-Reset": f"{reset:.3f}",
            "X-RateLimit-Reset-After": f"{max(reset - now, 0):.3f}",
            "X-RateLimit-Bucket": rule.bucket,
        }
        return headers, (reset - now if over else None)

    @staticmethod
    def _too_many(retry_after: float, headers: dict[str, str], scope: str) -> web.Response:
        headers = {
            **headers,
            "X-RateLimit-Scope": scope,
            "Retry-After": str(max(1, round(retry_after))),
            "Via": "1.1 google",
        }
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
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
        """The bucket's headers for this request, and a 429 when the bucket is empty."""
        headers: dict[str, str] = {}
        for rule in self._limits:
            if rule.method == request.method and rule.path.fullmatch(path):
                headers, retry_after = self._limit_headers(rule, path)
                if retry_after is not None:
                    return headers, self._too_many(retry_after, headers, rule.scope)
        return headers, None
