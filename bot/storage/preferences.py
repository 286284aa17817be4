"""Member filters and community policies: the choices the hot path reads (through the cache)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from bot.model import CommunityRef, FilterLevel, MemberRef, UnverifiedPolicy
from bot.storage import tables as t
from bot.storage.aggregate import Aggregate, mention, owner
from bot.storage.changes import FilterSet, PolicySet
from bot.storage.database import Database
from bot.storage.records import CommunityPolicies, FilterRecord

MEMBER_PREFERENCES = Aggregate(
    "member preferences",
    tables=(t.MemberFilter, t.ScopePolicy),
    accounts=(owner(t.MemberFilter.account_id), mention(t.ScopePolicy.set_by)),
)


class Preferences(Database):
    """The part of `Store` that keeps each member's filter and each community's policies."""

    async def get_filter(self, community: CommunityRef, member: MemberRef) -> FilterLevel | None:
        level = await self._first(
            select(t.MemberFilter.level).where(
                t.MemberFilter.network == member.network,
                t.MemberFilter.community_id == community.id,
                t.MemberFilter.account_id == member.id,
            )
        )
        return FilterLevel(level) if level else None

    async def set_filter(
        self, community: CommunityRef, member: MemberRef, level: FilterLevel, at: datetime
    ) -> None:
        stmt = self._insert(t.MemberFilter).values(
            network=member.network,
            community_id=community.id,
            account_id=member.id,
            level=level.value,
            updated_at=at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["network", "community_id", "account_id"],
            set_={"level": level.value, "updated_at": at},
        )
        async with self._session() as session:
            await session.execute(stmt)
        await self._changed(FilterSet(community, member, level))

    async def filters_in(self, community: CommunityRef) -> list[FilterRecord]:
        """Members of a community who chose a filter other than off (for native pre-send rules)."""
        rows = await self._all(
            select(t.MemberFilter).where(
                t.MemberFilter.network == community.network,
                t.MemberFilter.community_id == community.id,
                t.MemberFilter.level != FilterLevel.OFF.value,
            )
        )
        return [_filter_record(row, community) for row in rows]

    async def get_policies(self, community: CommunityRef) -> CommunityPolicies:
        rows = await self._all(
            select(t.ScopePolicy).where(
                t.ScopePolicy.network == community.network,
                t.ScopePolicy.community_id == community.id,
            )
        )
        return _policies(rows)

    async def set_policy(
        self,
        community: CommunityRef,
        channel_id: str | None,
        policy: UnverifiedPolicy,
        *,
        by: str | None,
        at: datetime,
    ) -> None:
        stmt = self._insert(t.ScopePolicy).values(
            network=community.network,
            community_id=community.id,
            channel_id=channel_id or "",
            policy=policy.value,
            set_by=by,
            set_at=at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["network", "community_id", "channel_id"],
            set_={"policy": policy.value, "set_by": by, "set_at": at},
        )
        async with self._session() as session:
            await session.execute(stmt)
        await self._changed(PolicySet(community))


def _filter_record(row: t.MemberFilter, community: CommunityRef) -> FilterRecord:
    return FilterRecord(
        MemberRef(community.network, row.account_id), community, FilterLevel(row.level)
    )


def _policies(rows: Sequence[t.ScopePolicy]) -> CommunityPolicies:
    """A community's policy rows as its own policy (channel '') and its channels' overrides."""
    own = next((UnverifiedPolicy(r.policy) for r in rows if r.channel_id == ""), None)
    channels = {r.channel_id: UnverifiedPolicy(r.policy) for r in rows if r.channel_id != ""}
    return CommunityPolicies(own, channels)


__all__ = ["MEMBER_PREFERENCES", "Preferences"]
