"""Checks under way (links, codes, review requests): single use, counted, and gone once expired."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Update, delete, select, update

from bot.model import MemberRef, Network
from bot.storage import tables as t
from bot.storage.aggregate import Aggregate, owner
from bot.storage.database import Database, rowcount
from bot.storage.records import PendingRecord

PENDING_CHECKS = Aggregate(
    "pending checks", tables=(t.PendingCheck,), accounts=(owner(t.PendingCheck.account_id),)
)


class PendingChecks(Database):
    """The part of `Store` that keeps verifications under way across restarts."""

    async def create_pending(self, record: PendingRecord) -> None:
        async with self._session() as session:
            session.add(
                t.PendingCheck(
                    id=record.id,
                    network=record.network,
                    account_id=record.account_id,
                    community_id=record.community_id,
                    method=record.method,
                    status=record.status,
                    state=dict(record.state),
                    created_at=record.created_at,
                    expires_at=record.expires_at,
                    used_at=record.used_at,
                )
            )

    async def get_pending(self, check_id: str) -> PendingRecord | None:
        row = await self._first(select(t.PendingCheck).where(t.PendingCheck.id == check_id))
        return _pending(row) if row else None

    async def update_pending(
        self,
        check_id: str,
        *,
        state: dict[str, Any] | None = None,
        status: str | None = None,
        method: str | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if state is not None:
            values["state"] = dict(state)
        if status is not None:
            values["status"] = status
        if method is not None:
            values["method"] = method
        if not values:
            return
        async with self._session() as session:
            await session.execute(
                update(t.PendingCheck).where(t.PendingCheck.id == check_id).values(**values)
            )

    async def consume_pending(self, check_id: str, at: datetime) -> bool:
        """Mark a check used; True only for the one caller that got there first (single use)."""
        async with self._session() as session:
            result = await session.execute(_open(check_id, at).values(used_at=at, status="used"))
            return rowcount(result) == 1

    async def count_attempt(self, check_id: str, at: datetime) -> int | None:
        """Count one attempt at an open check and return the new total, atomically, so parallel
        guesses from several processes cannot slip past a limit; None if the check is not open."""
        async with self._session() as session:
            result = await session.execute(
                _open(check_id, at)
                .values(attempts=t.PendingCheck.attempts + 1)
                .returning(t.PendingCheck.attempts)
            )
            attempts = result.scalar_one_or_none()
            return None if attempts is None else int(attempts)

    async def pending_for(
        self, *, network: Network, community_id: str | None, method: str, status: str
    ) -> list[PendingRecord]:
        query = select(t.PendingCheck).where(
            t.PendingCheck.network == network,
            t.PendingCheck.method == method,
            t.PendingCheck.status == status,
        )
        if community_id is not None:
            query = query.where(t.PendingCheck.community_id == community_id)
        rows = await self._all(query.order_by(t.PendingCheck.created_at))
        return [_pending(r) for r in rows]

    async def pending_of_member(self, member: MemberRef) -> list[PendingRecord]:
        rows = await self._all(
            select(t.PendingCheck).where(
                t.PendingCheck.network == member.network,
                t.PendingCheck.account_id == member.id,
            )
        )
        return [_pending(r) for r in rows]

    async def purge_pending(self, now: datetime) -> int:
        async with self._session() as session:
            result = await session.execute(
                delete(t.PendingCheck).where(t.PendingCheck.expires_at <= now)
            )
            return rowcount(result)


def _open(check_id: str, at: datetime) -> Update:
    """An update of the check, if it is still open: not used, not expired."""
    return update(t.PendingCheck).where(
        t.PendingCheck.id == check_id,
        t.PendingCheck.used_at.is_(None),
        t.PendingCheck.expires_at > at,
    )


def _pending(row: t.PendingCheck) -> PendingRecord:
    return PendingRecord(
        id=row.id,
        network=cast(Network, row.network),
        account_id=row.account_id,
        community_id=row.community_id,
        method=row.method,
        status=row.status,
        state=dict(row.state or {}),
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        attempts=row.attempts or 0,
    )


__all__ = ["PENDING_CHECKS", "PendingChecks"]
