"""When each sender was last told how to verify, so notices keep to their cooldown."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import select

from bot.model import CommunityRef, MemberRef
from bot.storage import tables as t
from bot.storage.aggregate import Aggregate, owner
from bot.storage.changes import Noticed
from bot.storage.database import Database, insert_for

SENDER_NOTICES = Aggregate(
    "sender notices", tables=(t.SenderNotice,), accounts=(owner(t.SenderNotice.account_id),)
)


NOTICE_COLUMNS = ("network", "community_id", "account_id", "noticed_at")


@cache
def _notice_upsert(dialect: str) -> Any:
    """Built once: the sender's one row takes the latest time (a notice goes on the hot path)."""
    stmt = insert_for(dialect, t.SenderNotice)
    return stmt.on_conflict_do_update(
        index_elements=["network", "community_id", "account_id"],
        set_={"noticed_at": stmt.excluded.noticed_at},
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
        stmt = _notice_upsert(self.dialect)
        row = {
            "network": member.network,
            "community_id": community.id,
            "account_id": member.id,
            "noticed_at": at,
        }
        await self._insert_rows(stmt, NOTICE_COLUMNS, [row], count_new=False)
        await self._changed(Noticed(community, member, at))


__all__ = ["SENDER_NOTICES", "SenderNotices"]
