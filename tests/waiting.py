"""Waiting in tests for something to become true: poll it, never sleep a fixed time."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def wait_until(
    check: Callable[[], bool | Awaitable[bool]],
    *,
    within: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
) -> None:
    """Poll a condition until it holds; fail loudly after `within` s (no bare sleeps)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not hold within {within} s")
        await asyncio.sleep(interval)
