"""Held items: what a member's filter stopped, kept for that member alone to review."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Select, delete, func, select, update

from bot.actions import HoldForMember
from bot.model import MemberRef, Network, Relation
from bot.storage import tables as t
from bot.storage.aggregate import Aggregate, owner
from bot.storage.database import Database, insert_for, rowcount
from bot.storage.records import HeldRecord

# a held item is the recipient's to review and the sender's words: erasing either deletes it
HELD_ITEMS = Aggregate(
    "held items",
    tables=(t.HeldItem,),
    # the member's copy holds what was held for them; what they sent that someone else's filter
    # held is that member's to review, and goes when the sender is erased
    accounts=(owner(t.HeldItem.for_account), owner(t.HeldItem.sender_account, export=False)),
    texts=(t.HeldItem.reason,),
    quoted=(t.HeldItem.content,),
)


HOLD_COLUMNS = (
    "network",
    "community_id",
    "channel_id",
    "message_id",
    "for_account",
    "sender_account",
    "relation",
    "content",
    "reason",
    "status",
    "held_at",
    "expires_at",
)


@cache
def _hold_insert(dialect: str) -> Any:
    """Built once: a redelivered event (same message, member and relation) adds nothing."""
    return insert_for(dialect, t.HeldItem).on_conflict_do_nothing(
        index_elements=["network", "message_id", "for_account", "relation"]
    )


class HeldItems(Database):
    """The part of `Store` that keeps held items; a member only ever reaches their own."""

    async def add_held(
        self, holds: Sequence[HoldForMember], *, at: datetime, expires_at: datetime
    ) -> int:
        """Hold an interaction for each member, all in one transaction; returns how many were
        new (a redelivered event finds them held already)."""
        stmt = _hold_insert(self.dialect)
        rows = [
            dict(
                zip(
                    HOLD_COLUMNS,
                    (
                        hold.message.channel.network,
                        hold.message.channel.community.id,
                        hold.message.channel.id,
                        hold.message.id,
                        hold.for_member.id,
                        hold.sender.id,
                        hold.relation.value,
                        hold.content,
                        hold.reason,
                        "held",
                        at,
                        expires_at,
                    ),
                    strict=True,
                )
            )
            for hold in holds
        ]
        return await self._insert_rows(stmt, HOLD_COLUMNS, rows)

    async def list_held(
        self, member: MemberRef, *, status: str = "held", limit: int = 50, offset: int = 0
    ) -> list[HeldRecord]:
        rows = await self._all(
            _mine(select(t.HeldItem), member, status)
            .order_by(t.HeldItem.held_at, t.HeldItem.id)
            .offset(offset)
            .limit(limit)
        )
        return [_held(r) for r in rows]

    async def get_held(self, member: MemberRef, item_id: int) -> HeldRecord | None:
        """One of the member's own held items (None if not theirs, or no longer held)."""
        row = await self._first(
            _mine(select(t.HeldItem), member, "held").where(t.HeldItem.id == item_id)
        )
        return _held(row) if row is not None else None

    async def dismiss_all_held(self, member: MemberRef, at: datetime) -> int:
        """Every item held for the member, dismissed at once; how many."""
        async with self._session() as session:
            result = await session.execute(
                update(t.HeldItem)
                .where(
                    t.HeldItem.network == member.network,
                    t.HeldItem.for_account == member.id,
                    t.HeldItem.status == "held",
                )
                .values(status="dismissed", resolved_at=at)
            )
            return rowcount(result)

    async def count_held(self, member: MemberRef, *, status: str = "held") -> int:
        return await self._count_of(
            _mine(select(func.count()).select_from(t.HeldItem), member, status)
        )

    async def resolve_held(
        self, member: MemberRef, item_id: int, status: str, at: datetime
    ) -> HeldRecord | None:
        """Release or dismiss one of the member's own held items; None if not theirs or gone.
        Immediate: it reads before it writes (see `DataRights._erase`)."""
        async with self._session(immediate=True) as session:
            row = (
                await session.execute(
                    _mine(select(t.HeldItem), member, "held").where(t.HeldItem.id == item_id)
                )
            ).scalar_one_or_none()
            if row is None:
                return None
            row.status, row.resolved_at = status, at
            return _held(row)

    async def purge_held(self, now: datetime) -> int:
        async with self._session() as session:
            result = await session.execute(delete(t.HeldItem).where(t.HeldItem.expires_at <= now))
            return rowcount(result)


def _mine(query: Select[Any], member: MemberRef, status: str) -> Select[Any]:
    """Only items held for this member, in this state."""
    return query.where(
        t.HeldItem.network == member.network,
        t.HeldItem.for_account == member.id,
        t.HeldItem.status == status,
    )


def _held(row: t.HeldItem) -> HeldRecord:
    return HeldRecord(
        id=row.id,
        network=cast(Network, row.network),
        community_id=row.community_id,
        channel_id=row.channel_id,
        message_id=row.message_id,
        for_account=row.for_account,
        sender_account=row.sender_account,
        relation=Relation(row.relation),
        content=row.content,
        reason=row.reason,
        status=row.status,
        held_at=row.held_at,
        expires_at=row.expires_at,
        resolved_at=row.resolved_at,
    )


__all__ = ["HELD_ITEMS", "HeldItems"]
