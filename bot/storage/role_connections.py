"""The one thing kept for a member's Discord profile badge: a sealed refresh token, so the badge
can be cleared when their verification ends (and only what that needs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from bot.model import MemberRef
from bot.storage import tables as t
from bot.storage.aggregate import Aggregate, owner
from bot.storage.database import Database

ROLE_CONNECTIONS = Aggregate(
    "profile badge",
    tables=(t.RoleConnection,),
    accounts=(owner(t.RoleConnection.account_id),),
    private=(t.RoleConnection.sealed_token,),  # a credential, useless to them and to anyone
)


class RoleConnections(Database):
    """The part of `Store` that keeps each member's sealed Discord refresh token."""

    async def sealed_token(self, member: MemberRef) -> str | None:
        value = await self._first(
            select(t.RoleConnection.sealed_token).where(
                t.RoleConnection.network == member.network,
                t.RoleConnection.account_id == member.id,
            )
        )
        return str(value) if value is not None else None

    async def keep_sealed_token(self, member: MemberRef, sealed: str, at: datetime) -> None:
        """Store (or replace: Discord's refresh tokens change with every use) the token."""
        stmt = self._insert(t.RoleConnection).values(
            network=member.network, account_id=member.id, sealed_token=sealed, updated_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["network", "account_id"],
            set_={"sealed_token": sealed, "updated_at": at},
        )
        async with self._session() as session:
            await session.execute(stmt)

    async def drop_sealed_token(self, member: MemberRef) -> None:
        async with self._session() as session:
            await session.execute(
                delete(t.RoleConnection).where(
                    t.RoleConnection.network == member.network,
                    t.RoleConnection.account_id == member.id,
                )
            )


__all__ = ["ROLE_CONNECTIONS", "RoleConnections"]
