"""The per-message hot path reads facts from here, never from the database.

Facts are loaded on first use and kept in bounded LRU maps. Every write of a cached fact goes to
the database first and then reaches the cache: the `Store` method that writes it announces the
change once committed (`bot.storage.changes`) and every cache watching that store applies it, so a
crash between the two loses nothing (the next load reads the database), a reader never sees a
value the database does not hold, and no write can bypass the cache. Callers outside storage
write cached facts through this class all the same (`CACHED_WRITES`), so there is one API. With
several bot processes on one PostgreSQL database, each change is also published as an
invalidation that the other processes' caches apply (see `bot.storage.invalidation`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from bot.model import CommunityRef, FilterLevel, MemberRef, UnverifiedPolicy
from bot.storage.changes import (
    Change,
    Erased,
    FilterSet,
    Noticed,
    Placed,
    PolicySet,
    Unverified,
    VerificationTouched,
    Verified,
)
from bot.storage.identities import Stored
from bot.storage.memory import LRU, MISSING, LoadAbandoned, RateWindow
from bot.storage.records import CommunityPolicies, VerificationRecord
from bot.storage.repo import Store

Invalidate = Callable[[str, tuple[str, ...]], Awaitable[None]]

# `Store` methods that write a fact this cache keeps. Outside bot/storage they are called on the
# cache (`set_notice` is `note_notice` there), never on the store.
CACHED_WRITES = frozenset(
    {
        "save_verification",
        "store_verification",
        "take_identity_place",
        "revoke_verification",
        "delete_verification",
        "mark_reminded",
        "set_filter",
        "set_policy",
        "set_notice",
    }
)


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
        store.watch(self._apply)

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

    # --- writes: the store writes, then announces the change to `_apply` ----------------------

    async def take_identity_place(
        self,
        community: CommunityRef,
        member: MemberRef,
        identity_hash: str,
        *,
        limit: int,
        at: datetime,
    ) -> bool:
        return await self.store.take_identity_place(
            community, member, identity_hash, limit=limit, at=at
        )

    async def store_verification(
        self,
        record: VerificationRecord,
        communities: Sequence[CommunityRef],
        *,
        limit: int,
        bind: bool,
    ) -> Stored:
        return await self.store.store_verification(record, communities, limit=limit, bind=bind)

    async def save_verification(self, record: VerificationRecord) -> None:
        await self.store.save_verification(record)

    async def revoke_verification(
        self,
        member: MemberRef,
        *,
        by: str,
        reason: str,
        at: datetime,
        community: CommunityRef | None = None,
    ) -> VerificationRecord | None:
        return await self.store.revoke_verification(
            member, by=by, reason=reason, at=at, community=community
        )

    async def delete_verification(self, member: MemberRef) -> bool:
        return await self.store.delete_verification(member)  # and its identity places

    async def mark_reminded(self, member: MemberRef, at: datetime) -> None:
        """The member was told their verification runs out soon."""
        await self.store.mark_reminded(member, at)

    async def set_filter(
        self, community: CommunityRef, member: MemberRef, level: FilterLevel, at: datetime
    ) -> None:
        await self.store.set_filter(community, member, level, at)

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

    async def note_notice(self, community: CommunityRef, member: MemberRef, at: datetime) -> None:
        await self.store.set_notice(community, member, at)

    def forget_member(self, member: MemberRef) -> None:
        """Drop everything cached about an account (after erasure)."""
        self._verifications.drop((member.network, member.id))
        for lru in (self._filters, self._notices, self._refusals):
            self._drop_member_keys(lru, member)

    @staticmethod
    def _drop_member_keys(lru: LRU[tuple[str, str, str], Any], member: MemberRef) -> None:
        for key in [k for k in lru.snapshot() if k[0] == member.network and k[2] == member.id]:
            lru.drop(key)

    async def _apply(self, change: Change) -> None:
        """Bring the cache in line with a write the database has committed, then tell the other
        processes what to forget."""
        match change:
            case Verified(record=record, places=places):
                self._verifications.put((record.network, record.account_id), record)
                for community in places:
                    self._refusals.put((record.network, community.id, record.account_id), False)
                await self._publish("verification", record.network, record.account_id)
            case VerificationTouched(member=member):
                self._verifications.drop((member.network, member.id))
                await self._publish("verification", member.network, member.id)
            case Unverified(member=member):
                self._verifications.put((member.network, member.id), None)
                self._drop_member_keys(self._refusals, member)
                await self._publish("verification", member.network, member.id)
            case Placed(community=community, member=member, placed=placed):
                self._refusals.put((member.network, community.id, member.id), not placed)
                await self._publish("binding", member.network, community.id, member.id)
            case FilterSet(community=community, member=member, level=level):
                self._filters.put((member.network, community.id, member.id), level)
                await self._publish("filter", member.network, community.id, member.id)
            case PolicySet(community=community):
                self._policies.drop((community.network, community.id))
                await self._publish("policy", community.network, community.id)
            case Noticed(community=community, member=member, at=at):
                self._notices.put((member.network, community.id, member.id), at)
            case Erased(member=member):
                self.forget_member(member)
                await self._publish("member", member.network, member.id)

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
        elif kind == "member" and len(key) == 2:
            self.forget_member(MemberRef(key[0], key[1]))  # type: ignore[arg-type]
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


__all__ = ["CACHED_WRITES", "LRU", "MISSING", "LoadAbandoned", "RateWindow", "ReadCache"]
