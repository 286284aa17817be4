"""Reports members make about messages or accounts, routed to a community's moderators."""

from __future__ import annotations

from datetime import datetime
from typing import Final, cast

from sqlalchemy import delete, select, update

from bot.model import CommunityRef, Network
from bot.storage import tables as t
from bot.storage.aggregate import Aggregate, mention
from bot.storage.database import Database, rowcount
from bot.storage.records import ReportRecord

OPEN: Final = "open"
RESOLVED: Final = "resolved"

# A report is moderation history: erasing the reporter or the reported account keeps it, with
# each id replaced by the community's pseudonym for that person, so moderators can finish the
# case and still see a pattern. The reporter's copy holds the reports they filed, without the
# moderators' private note or who handled it.
REPORTS = Aggregate(
    "reports",
    tables=(t.Report,),
    accounts=(
        mention(t.Report.reporter_account, export=True, pseudonym=True),
        mention(t.Report.target_account, pseudonym=True),
        mention(t.Report.routed_to),
        mention(t.Report.resolved_by, pseudonym=True),
    ),
    quoted=(t.Report.details, t.Report.message_text, t.Report.moderator_note),
    private=(t.Report.moderator_note, t.Report.resolved_by, t.Report.routed_to),
)


class Reports(Database):
    """The part of `Store` that keeps reports: each is written before anyone is told of it, and
    closed once, by one moderator, in one statement."""

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
            urgent=record.urgent,
            message_text=record.message_text,
        )
        async with self._session() as session:
            session.add(row)
            await session.flush()
            return row.id

    async def get_report(self, report_id: int) -> ReportRecord | None:
        rows = await self._all(select(t.Report).where(t.Report.id == report_id))
        return _report(rows[0]) if rows else None

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

    async def resolve_report(
        self,
        report_id: int,
        community: CommunityRef,
        *,
        outcome: str,
        note: str | None,
        by: str,
        at: datetime,
    ) -> bool:
        """Close an open report of this community; False when it is not open there (another
        moderator closed it first, or it belongs elsewhere): only one decision ever lands."""
        statement = (
            update(t.Report)
            .where(
                t.Report.id == report_id,
                t.Report.network == community.network,
                t.Report.community_id == community.id,
                t.Report.status == OPEN,
            )
            .values(
                status=RESOLVED,
                outcome=outcome,
                moderator_note=note,
                resolved_by=by,
                resolved_at=at,
            )
        )
        async with self._session() as session:
            return rowcount(await session.execute(statement)) == 1

    async def reports_past_due(self, network: str, now: datetime) -> list[ReportRecord]:
        """Open reports whose expected answer time has passed, oldest first."""
        rows = await self._all(
            select(t.Report)
            .where(
                t.Report.network == network,
                t.Report.status == OPEN,
                t.Report.answer_due_at <= now,
            )
            .order_by(t.Report.answer_due_at)
        )
        return [_report(r) for r in rows]

    async def mark_raised(self, report_id: int, at: datetime) -> None:
        async with self._session() as session:
            await session.execute(
                update(t.Report).where(t.Report.id == report_id).values(raised_at=at)
            )

    async def purge_closed_reports(self, before: datetime) -> int:
        """Delete reports closed before `before` (retention); open ones always stay."""
        async with self._session() as session:
            result = await session.execute(
                delete(t.Report).where(t.Report.status == RESOLVED, t.Report.resolved_at < before)
            )
            return rowcount(result)


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
        urgent=row.urgent,
        message_text=row.message_text,
        outcome=row.outcome,
        moderator_note=row.moderator_note,
        raised_at=row.raised_at,
    )


__all__ = ["OPEN", "REPORTS", "RESOLVED", "Reports"]
