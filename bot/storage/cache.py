"""The per-message hot path reads facts from here, never from the database.

Facts are loaded on first use and kept in bounded maps; what decisions read about a member is
packed into one int per account (`bot.storage.packed`), read synchronously when warm. Every
write of a cached fact goes to the database first and then reaches the cache: the `Store`
method that writes it announces the change once committed (`bot.storage.changes`) and every
cache watching that store applies it, so a crash between the two loses nothing (the next load
reads the database), a reader never sees a value the database does not hold, and no write can
bypass the cache. Callers outside storage write cached facts through this class all the same
(`CACHED_WRITES`), so there is one API. With several bot processes on one PostgreSQL database,
each change is also published as an invalidation that the other processes' caches apply (see
`bot.storage.invalidation`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

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
from bot.storage.memory import LRU, MISSING, LoadAbandoned, SharedLoads
from bot.storage.packed import UNKNOWN, Live, MemberFacts, RateCounts, Unknown
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
    """Cached facts (verification, filter levels, policies, last notices) in front of `Store`.

    The hot path reads with the `known_*` methods, synchronously, and awaits a load only when
    they answer UNKNOWN; the async methods do both in one call."""

    def __init__(self, store: Store, size: int = 100_000) -> None:
        self.store = store
        self._members = MemberFacts(size)
        self._records: SharedLoads[tuple[str, str], VerificationRecord | None] = SharedLoads()
        self._filter_loads: SharedLoads[tuple[str, str, str], FilterLevel | None] = SharedLoads()
        self._refusal_loads: SharedLoads[tuple[str, str, str], bool] = SharedLoads()
        self._policies: LRU[tuple[str, str], CommunityPolicies] = LRU(max(1000, size // 100))
        self._notices: LRU[tuple[str, str, str], datetime | None] = LRU(size)
        self.rates = RateCounts()
        self.publish: Invalidate | None = None  # set when cross-process invalidation runs
        # told of each member whose standing another process changed (a badge to refresh)
        self.changed_elsewhere: list[Callable[[MemberRef], None]] = []
        self.hits = self.misses = 0
        store.watch(self._apply)

    # --- reads (hot path): synchronous when warm ----------------------------------------------

    def known_verification(self, member: MemberRef) -> Live | Unknown | None:
        """The level and expiry of the member's verification in force, None, or UNKNOWN."""
        found = self._members.verification(member)
        if found is UNKNOWN:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def known_filter(
        self, community: CommunityRef, member: MemberRef
    ) -> FilterLevel | Unknown | None:
        found = self._members.filter(community, member)
        if found is UNKNOWN:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def known_refused(self, community: CommunityRef, member: MemberRef) -> bool | Unknown:
        found = self._members.refused(community, member)
        if found is UNKNOWN:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def known_policies(self, community: CommunityRef) -> CommunityPolicies | Unknown:
        found = self._policies.get((community.network, community.id))
        return UNKNOWN if found is MISSING else found  # type: ignore[return-value]

    def known_notice(self, community: CommunityRef, member: MemberRef) -> datetime | Unknown | None:
        found = self._notices.get((member.network, community.id, member.id))
        return UNKNOWN if found is MISSING else found  # type: ignore[return-value]

    # --- reads that load on a miss ------------------------------------------------------------

    async def verification(self, member: MemberRef) -> VerificationRecord | None:
        """The member's whole record, from storage (the cache keeps only what decisions read);
        the hot path's facts are refreshed from it."""
        return await self._records.load(
            (member.network, member.id),
            lambda: self.store.get_verification(member),
            lambda record: self._members.set_verification(member, record),
        )

    async def live_verification(self, member: MemberRef) -> Live | None:
        """What the hot path needs of the member's verification, loaded on a miss."""
        found = self.known_verification(member)
        if found is not UNKNOWN:
            return found
        record = await self.verification(member)
        if record is None or record.revoked_at is not None:
            return None
        return record.level, record.expires_at

    async def filter_level(self, community: CommunityRef, member: MemberRef) -> FilterLevel | None:
        found = self.known_filter(community, member)
        if found is not UNKNOWN:
            return found
        return await self._filter_loads.load(
            (member.network, community.id, member.id),
            lambda: self.store.get_filter(community, member),
            lambda level: self._members.set_filter(community, member, level),
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
        found = self.known_refused(community, member)
        if found is not UNKNOWN:
            return found
        return await self._refusal_loads.load(
            (member.network, community.id, member.id),
            lambda: self.store.is_refused(community, member),
            lambda refused: self._members.set_refused(community, member, refused),
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
        self._members.forget_member(member)
        self._records.overtake((member.network, member.id))
        for loads in (self._filter_loads, self._refusal_loads):
            loads.overtake_all(lambda key: key[0] == member.network and key[2] == member.id)
        for key in self._notices.snapshot():
            if key[0] == member.network and key[2] == member.id:
                self._notices.drop(key)

    async def _apply(self, change: Change) -> None:
        """Bring the cache in line with a write the database has committed, then tell the other
        processes what to forget."""
        facts, records = self._members, self._records
        match change:
            case Verified(record=record, places=places):
                member = record.member
                records.overtake((member.network, member.id))
                facts.set_verification(member, record)
                for community in places:
                    self._refusal_loads.overtake((member.network, community.id, member.id))
                    facts.set_refused(community, member, False)
                await self._publish("verification", record.network, record.account_id)
            case VerificationTouched(member=member):
                records.overtake((member.network, member.id))
                facts.forget_verification(member)
                await self._publish("verification", member.network, member.id)
            case Unverified(member=member):
                records.overtake((member.network, member.id))
                self._refusal_loads.overtake_all(
                    lambda key: key[0] == member.network and key[2] == member.id
                )
                facts.set_verification(member, None)
                facts.forget_refusals(member)
                await self._publish("verification", member.network, member.id)
            case Placed(community=community, member=member, placed=placed):
                self._refusal_loads.overtake((member.network, community.id, member.id))
                facts.set_refused(community, member, not placed)
                await self._publish("binding", member.network, community.id, member.id)
            case FilterSet(community=community, member=member, level=level):
                self._filter_loads.overtake((member.network, community.id, member.id))
                facts.set_filter(community, member, level)
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
        standing: MemberRef | None = None  # whose badge may have to change here
        if kind == "verification" and len(key) == 2:
            member = MemberRef(key[0], key[1])  # type: ignore[arg-type]
            self._records.overtake((key[0], key[1]))
            self._members.forget_verification(member)
            standing = member
        elif kind in ("filter", "binding") and len(key) == 3:
            community = CommunityRef(key[0], key[1])  # type: ignore[arg-type]
            member = MemberRef(key[0], key[2])  # type: ignore[arg-type]
            if kind == "filter":
                self._filter_loads.overtake((key[0], key[1], key[2]))
                self._members.set_filter(community, member, UNKNOWN)
            else:
                self._refusal_loads.overtake((key[0], key[1], key[2]))
                self._members.set_refused(community, member, None)
                standing = member
        elif kind == "policy" and len(key) == 2:
            self._policies.drop((key[0], key[1]))
        elif kind == "member" and len(key) == 2:
            standing = MemberRef(key[0], key[1])  # type: ignore[arg-type]
            self.forget_member(standing)
        elif kind == "all":
            self.clear()
        if standing is not None:
            for listener in list(self.changed_elsewhere):
                listener(standing)

    def clear(self) -> None:
        self._members.clear()
        for loads in (self._records, self._filter_loads, self._refusal_loads):
            loads.overtake_all()
        self._policies.clear()
        self._notices.clear()

    async def _publish(self, kind: str, *key: str) -> None:
        if self.publish is not None:
            await self.publish(kind, key)

    def stats(self) -> dict[str, int]:
        accounts = len(self._members)  # verification and filters are kept per account, packed
        return {
            "verifications": accounts,
            "filters": accounts,
            "policies": len(self._policies),
            "hits": self.hits + self._policies.hits + self._notices.hits,
            "misses": self.misses + self._policies.misses + self._notices.misses,
        }


__all__ = ["CACHED_WRITES", "LRU", "MISSING", "UNKNOWN", "LoadAbandoned", "ReadCache", "Unknown"]
