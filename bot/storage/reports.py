"""Reports members make about messages or accounts, routed to a community's moderators."""

from __future__ import annotations

from typing import cast

from sqlalchemy import select

from bot.model import CommunityRef, Network
from bot.storage import tables as t
from bot.storage.aggregate import Aggregate, mention, owner
from bot.storage.database import Database
from bot.storage.records import ReportRecord

# a report is its reporter's; the account reported, whoever it was routed to and the moderator
# who closed it are named in it but do not own it
REPORTS = Aggregate(
    "reports",
    tables=(t.Report,),
    accounts=(
        owner(t.Report.reporter_account),
        mention(t.Report.target_account),
        mention(t.Report.routed_to),
        mention(t.Report.resolved_by),
    ),
)


class Reports(Database):
    """The part of `Store` that keeps reports."""

    async def add_report(self, record: ReportRecord) -> int:
        row = t.Report(
            network=record.network,
            community_id=record.community_id,
            channel_id=record.channel_id,
            message_id=record.message_id,
            reporter_account=record.reporter_account,
            target_account=record.target_account,
            category=record.category,
            rule=record.rule,
            details=record.details,
            routed_to=record.routed_to,
            status=record.status,
            created_at=record.created_at,
            answer_due_at=record.answer_due_at,
        )
        async with self._session() as session:
            session.add(row)
            await session.flush()
            return row.id

    async def list_reports(
        self, community: CommunityRef, *, status: str = "open"
    ) -> list[ReportRecord]:
        rows = await self._all(
            select(t.Report)
            .where(
                t.Report.network == community.network,
                t.Report.community_id == community.id,
                t.Report.status == status,
            )
            .order_by(t.Report.created_at)
        )
        return [_report(r) for r in rows]


def _report(row: t.Report) -> ReportRecord:
    return ReportRecord(
        id=row.id,
        network=cast(Network, row.network),
        community_id=row.community_id,
        channel_id=row.channel_id,
        message_id=row.message_id,
        reporter_account=row.reporter_account,
        target_account=row.target_account,
        category=row.category,
        rule=row.rule,
        details=row.details,
        routed_to=row.routed_to,
        status=row.status,
        created_at=row.created_at,
        answer_due_at=row.answer_due_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
    )


__all__ = ["REPORTS", "Reports"]
