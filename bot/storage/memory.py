"""Bounded in-memory maps for the read cache, and loads shared by callers missing one key."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
MISSING = object()


class LoadAbandoned(Exception):
    """The load another caller was waiting for did not finish (it was cancelled)."""


class SharedLoads(Generic[K, V]):
    """One load per key at a time: callers missing the same key wait for it (a burst from one
    sender costs one query). `overtake` marks a key written meanwhile, so the load's answer is
    returned but not kept."""

    def __init__(self) -> None:
        self._loading: dict[K, asyncio.Future[V]] = {}

    async def load(self, key: K, fetch: Callable[[], Awaitable[V]], keep: Callable[[V], None]) -> V:
        pending = self._loading.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except LoadAbandoned:
                return await self.load(key, fetch, keep)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await fetch()
        except BaseException as exc:
            error = LoadAbandoned() if isinstance(exc, asyncio.CancelledError) else exc
            future.set_exception(error)
            future.exception()  # waiters, if any, get it; nobody has to
            raise
        finally:
            fresh = self._loading.get(key) is future
            if fresh:
                del self._loading[key]
        if fresh:
            keep(value)
        future.set_result(value)
        return value

    def overtake(self, key: K) -> None:
        self._loading.pop(key, None)

    def overtake_all(self, matches: Callable[[K], bool] | None = None) -> None:
        for key in [k for k in self._loading if matches is None or matches(k)]:
            del self._loading[key]


class LRU(Generic[K, V]):
    """A bounded map that forgets the least recently used entry first.

    Loads are shared: callers missing the same key at the same time wait for one load instead
    of each sending a query (a burst of events from one sender costs one query, not thousands)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._loads: SharedLoads[K, V] = SharedLoads()
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
        return await self._loads.load(key, load, lambda value: self.put(key, value))

    def put(self, key: K, value: V) -> None:
        self._loads.overtake(key)  # a load under way may read what this replaces
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def drop(self, key: K) -> None:
        self._loads.overtake(key)
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def snapshot(self) -> list[K]:
        """The keys now held, safe to iterate while dropping some."""
        return list(self._data)

    def __len__(self) -> int:
        return len(self._data)


__all__ = ["LRU", "MISSING", "LoadAbandoned", "SharedLoads"]
