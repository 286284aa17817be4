"""Bounded in-memory maps for the read cache, and the per-minute message counts of `limited`."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from bot.model import CommunityRef, MemberRef

K = TypeVar("K")
V = TypeVar("V")
MISSING = object()


class LoadAbandoned(Exception):
    """The load another caller was waiting for did not finish (it was cancelled)."""


class LRU(Generic[K, V]):
    """A bounded map that forgets the least recently used entry first.

    Loads are shared: callers missing the same key at the same time wait for one load instead
    of each sending a query (a burst of events from one sender costs one query, not thousands)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._loading: dict[K, asyncio.Future[V]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | object:
        try:
            value = self._data[key]
        except KeyError:
            self.misses += 1
            return MISSING
        self._data.move_to_end(key)
        self.hits += 1
        return value

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or (on a miss) the loaded one, remembered; absence is cached too."""
        found = self.get(key)
        if found is not MISSING:
            return found  # type: ignore[return-value]
        pending = self._loading.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except LoadAbandoned:
                return await self.get_or_load(key, load)
        return await self._load(key, load)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            error = LoadAbandoned() if isinstance(exc, asyncio.CancelledError) else exc
            future.set_exception(error)
            future.exception()  # waiters, if any, get it; nobody has to
            raise
        finally:
            fresh = self._loading.get(key) is future  # not overtaken by a write meanwhile
            if fresh:
                del self._loading[key]
        if fresh:
            self.put(key, value)
        future.set_result(value)
        return value

    def put(self, key: K, value: V) -> None:
        self._loading.pop(key, None)  # a load under way may read what this replaces
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def drop(self, key: K) -> None:
        self._loading.pop(key, None)
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def snapshot(self) -> list[K]:
        """The keys now held, safe to iterate while dropping some."""
        return list(self._data)

    def __len__(self) -> int:
        return len(self._data)


class RateWindow:
    """Messages per member in the last minute, for the `limited` policy. In memory on purpose:
    a restart forgetting a minute of counts is harmless, and a write per message is not."""

    def __init__(self, window_seconds: float = 60.0, max_tracked: int = 100_000) -> None:
        self.window = window_seconds
        self._seen: OrderedDict[tuple[str, str, str], deque[float]] = OrderedDict()
        self._max = max_tracked

    def hit(self, community: CommunityRef, member: MemberRef, now: float) -> int:
        """Count one message and return how many the member sent within the window."""
        key = (community.network, community.id, member.id)
        times = self._seen.get(key)
        if times is None:
            times = deque()
            self._seen[key] = times
            if len(self._seen) > self._max:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(key)
        while times and now - times[0] >= self.window:
            times.popleft()
        times.append(now)
        return len(times)


__all__ = ["LRU", "MISSING", "LoadAbandoned", "RateWindow"]
