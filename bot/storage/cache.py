"""The per-message hot path reads facts from here, never from the database.

Facts are loaded on first use and kept in bounded LRU maps. Every write goes through this class:
the database first, then the cache, so a crash between the two loses nothing (the next load reads
the database) and a reader never sees a value the database does not hold. With several bot
processes on one PostgreSQL database, each write also publishes an invalidation that the other
processes' caches apply (see `bot.storage.invalidation`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from bot.model import CommunityRef, FilterLevel, MemberRef, UnverifiedPolicy
from bot.storage.identities import Stored
from bot.storage.records import CommunityPolicies, VerificationRecord
from bot.storage.repo import Store

K = TypeVar("K")
V = TypeVar("V")
_MISSING = object()

Invalidate = Callable[[str, tuple[str, ...]], Awaitable[None]]


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
            return _MISSING
        self._data.move_to_end(key)
        self.hits += 1
        return value

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or (on a miss) the loaded one, remembered; absence is cached too."""
        found = self.get(key)
        if found is not _MISSING:
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


class ReadCache:
    """Cached facts (verification, filter levels, policies, last notices) in front of `Store`."""

    def __init__(self, store: Store, size: int = 100_000) -> None:
        self.store = store
        self._verifications: LRU[tuple[str, str], VerificationRecord | None] = LRU(size)
        self._filters: LRU[tuple[str, str, str], FilterLevel | None] = LRU(size)
        self._policies: LRU[tuple[str, str], CommunityPolicies] = LRU(max(1000, size // 100))
        self._notices: LRU[tuple[str, str, str], datetime | None] = LRU(size)
        self._refusals: LRU[tuple[str, str, str], bool] = LRU(size)
        self.rates = RateWindow()
        self.publish: Invalidate | None = None  # set when cross-process invalidation runs

    # --- reads (hot path) ---------------------------------------------------------------------

    async def verification(self, member: MemberRef) -> VerificationRecord | None:
        return await self._verifications.get_or_load(
            (member.network, member.id), lambda: self.store.get_verification(member)
        )

    async def filter_level(self, community: CommunityRef, member: MemberRef) -> FilterLevel | None:
        return await self._filters.get_or_load(
            (member.network, community.id, member.id),
            lambda: self.store.get_filter(community, member),
        )

    async def policies(self, community: CommunityRef) -> CommunityPolicies:
        return await self._policies.get_or_load(
            (community.network, community.id), lambda: self.store.get_policies(community)
        )

    async def last_notice(self, community: CommunityRef, member: MemberRef) -> datetime | None:
        return await self._notices.get_or_load(
            (member.network, community.id, member.id),
            lambda: self.store.get_notice(community, member),
        )

    async def refused(self, community: CommunityRef, member: MemberRef) -> bool:
        """Whether the account's identity already held its limit when it came to `community`."""
        return await self._refusals.get_or_load(
            (member.network, community.id, member.id),
            lambda: self.store.is_refused(community, member),
        )

    # --- writes: database first, then cache ---------------------------------------------------

    async def take_identity_place(
        self,
        community: CommunityRef,
        member: MemberRef,
        identity_hash: str,
        *,
        limit: int,
        at: datetime,
    ) -> bool:
        placed = await self.store.take_identity_place(
            community, member, identity_hash, limit=limit, at=at
        )
        self._refusals.put((member.network, community.id, member.id), not placed)
        await self._publish("binding", member.network, community.id, member.id)
        return placed

    async def store_verification(
        self,
        record: VerificationRecord,
        communities: Sequence[CommunityRef],
        *,
        limit: int,
        bind: bool,
    ) -> Stored:
        stored = await self.store.store_verification(record, communities, limit=limit, bind=bind)
        if stored.ok:
            self._verifications.put((record.network, record.account_id), record)
            for community in communities if bind else ():
                self._refusals.put((record.network, community.id, record.account_id), False)
            await self._publish("verification", record.network, record.account_id)
        return stored

    async def save_verification(self, record: VerificationRecord) -> None:
        await self.store.save_verification(record)
        self._verifications.put((record.network, record.account_id), record)
        await self._publish("verification", record.network, record.account_id)

    async def revoke_verification(
        self,
        member: MemberRef,
        *,
        by: str,
        reason: str,
        at: datetime,
        community: CommunityRef | None = None,
    ) -> VerificationRecord | None:
        record = await self.store.revoke_verification(
            member, by=by, reason=reason, at=at, community=community
        )
        self._verifications.drop((member.network, member.id))
        await self._publish("verification", member.network, member.id)
        return record

    async def delete_verification(self, member: MemberRef) -> bool:
        removed = await self.store.delete_verification(member)  # and its bindings
        self._verifications.put((member.network, member.id), None)
        self._drop_member_keys(self._refusals, member)
        await self._publish("verification", member.network, member.id)
        return removed

    async def set_filter(
        self, community: CommunityRef, member: MemberRef, level: FilterLevel, at: datetime
    ) -> None:
        await self.store.set_filter(community, member, level, at)
        self._filters.put((member.network, community.id, member.id), level)
        await self._publish("filter", member.network, community.id, member.id)

    async def set_policy(
        self,
        community: CommunityRef,
        channel_id: str | None,
        policy: UnverifiedPolicy,
        *,
        by: str | None,
        at: datetime,
    ) -> None:
        await self.store.set_policy(community, channel_id, policy, by=by, at=at)
        self._policies.drop((community.network, community.id))
        await self._publish("policy", community.network, community.id)

    async def note_notice(self, community: CommunityRef, member: MemberRef, at: datetime) -> None:
        await self.store.set_notice(community, member, at)
        self._notices.put((member.network, community.id, member.id), at)

    def forget_member(self, member: MemberRef) -> None:
        """Drop everything cached about an account (after erasure)."""
        self._verifications.drop((member.network, member.id))
        for lru in (self._filters, self._notices, self._refusals):
            self._drop_member_keys(lru, member)

    @staticmethod
    def _drop_member_keys(lru: LRU[tuple[str, str, str], Any], member: MemberRef) -> None:
        for key in [k for k in lru.snapshot() if k[0] == member.network and k[2] == member.id]:
            lru.drop(key)

    # --- invalidation -------------------------------------------------------------------------

    def apply_invalidation(self, kind: str, key: tuple[str, ...]) -> None:
        """Forget a fact another process changed; the next read reloads it."""
        if kind == "verification" and len(key) == 2:
            self._verifications.drop((key[0], key[1]))
        elif kind == "filter" and len(key) == 3:
            self._filters.drop((key[0], key[1], key[2]))
        elif kind == "binding" and len(key) == 3:
            self._refusals.drop((key[0], key[1], key[2]))
        elif kind == "policy" and len(key) == 2:
            self._policies.drop((key[0], key[1]))
        elif kind == "all":
            self.clear()

    def clear(self) -> None:
        for lru in (
            self._verifications,
            self._filters,
            self._policies,
            self._notices,
            self._refusals,
        ):
            lru.clear()

    async def _publish(self, kind: str, *key: str) -> None:
        if self.publish is not None:
            await self.publish(kind, key)

    def stats(self) -> dict[str, int]:
        return {
            "verifications": len(self._verifications),
            "filters": len(self._filters),
            "policies": len(self._policies),
            "hits": sum(
                lru.hits
                for lru in (self._verifications, self._filters, self._policies, self._notices)
            ),
            "misses": sum(
                lru.misses
                for lru in (self._verifications, self._filters, self._policies, self._notices)
            ),
        }
