"""When each sender was last told how to verify, so notices keep to their cooldown."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import select

from bot.model import CommunityRef, MemberRef
from bot.storage import tables as t
from bot.storage.aggregate import Aggregate, owner
from bot.storage.changes import Noticed
from bot.storage.database import Database

SENDER_NOTICES = Aggregate(
    "sender notices", tables=(t.SenderNotice,), accounts=(owner(t.SenderNotice.account_id),)
)


class SenderNotices(Database):
    """The part of `Store` that remembers the last notice to each sender."""

    async def get_notice(self, community: CommunityRef, member: MemberRef) -> datetime | None:
        value = await self._first(
            select(t.SenderNotice.noticed_at).where(
                t.SenderNotice.network == member.network,
                t.SenderNotice.community_id == community.id,
                t.SenderNotice.account_id == member.id,
            )
        )
        return cast(datetime | None, value)

    async def set_notice(self, community: CommunityRef, member: MemberRef, at: datetime) -> None:
        stmt = self._insert(t.SenderNotice).values(
            network=member.network, community_id=community.id, account_id=member.id, noticed_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["network", "community_id", "account_id"], set_={"noticed_at": at}
        )
        async with self._session() as session:
            await session.execute(stmt)
        await self._changed(Noticed(community, member, at))


__all__ = ["SENDER_NOTICES", "SenderNotices"]
