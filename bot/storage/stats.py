"""Figures for the admins' dashboard: counts per community, never a member's own rows.

Every query here answers with numbers (or, for the verified trend, dates without accounts), so
the page that shows them cannot leak who chose a filter or who had something held. Days are UTC
calendar days, cut in the database so a busy community's held items are not read row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, exists, func, select

from bot.model import CommunityRef
from bot.storage import tables as t
from bot.storage.database import Database
from bot.storage.reports import OPEN

CHUNK: Final = 500  # accounts per IN (...) list: well under every backend's parameter limit


@dataclass(frozen=True, slots=True)
class ReportCounts:
    """A community's open reports, how many are past their expected answer, how many urgent."""

    open: int
    overdue: int
    urgent: int


class Stats(Database):
    """The part of `Store` that counts what the dashboard shows."""

    def _day(self, column: Any) -> ColumnElement[str]:
        """The UTC calendar day of a timestamp column as YYYY-MM-DD, on either backend (SQLite
        keeps UTC timestamps as text, PostgreSQL as timestamptz)."""
        if self.dialect == "postgresql":
            return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
        return func.substr(column, 1, 10)

    async def verified_dates(
        self,
        community: CommunityRef,
        accounts: Sequence[str],
        accepted: frozenset[str],
        now: datetime,
    ) -> list[datetime]:
        """When each of `accounts` who is verified here now verified (their latest check).

        "Verified here" as `policy.verified_here` has it: a record neither revoked nor expired,
        at a level the community accepts, of an account not refused by the identity limit here.
        The accounts come from the network (who carries the badge): the verification table
        knows no community, and moderator reviews bind no identity, so neither alone says who
        is here."""
        refused = exists().where(
            t.IdentityBinding.network == t.Verification.network,
            t.IdentityBinding.community_id == community.id,
            t.IdentityBinding.account_id == t.Verification.account_id,
            t.IdentityBinding.refused.is_(True),
        )
        found: list[datetime] = []
        wanted = sorted(set(accounts))
        for start in range(0, len(wanted), CHUNK):
            query = select(t.Verification.verified_at).where(
                t.Verification.network == community.network,
                t.Verification.account_id.in_(wanted[start : start + CHUNK]),
                t.Verification.revoked_at.is_(None),
                (t.Verification.expires_at.is_(None)) | (t.Verification.expires_at > now),
                t.Verification.level.in_(sorted(accepted)),
                ~refused,
            )
            found += [when for when in await self._all(query)]
        return sorted(found)

    async def filter_counts(self, community: CommunityRef) -> dict[str, int]:
        """How many members chose each filter level here (members who never chose are not in
        it: they have the configured default)."""
        query = (
            select(t.MemberFilter.level, func.count())
            .where(
                t.MemberFilter.network == community.network,
                t.MemberFilter.community_id == community.id,
            )
            .group_by(t.MemberFilter.level)
        )
        async with self._reading() as session:
            rows = (await session.execute(query)).all()
        return {str(level): int(count) for level, count in rows}

    async def held_per_day(self, community: CommunityRef, since: datetime) -> dict[date, int]:
        """Items members' filters held here, per UTC day, from `since` on (days with none are
        left out)."""
        day = self._day(t.HeldItem.held_at)
        query = (
            select(day, func.count())
            .where(
                t.HeldItem.network == community.network,
                t.HeldItem.community_id == community.id,
                t.HeldItem.held_at >= since,
            )
            .group_by(day)
        )
        async with self._reading() as session:
            rows = (await session.execute(query)).all()
        return {date.fromisoformat(str(when)): int(count) for when, count in rows}

    async def report_counts(self, community: CommunityRef, now: datetime) -> ReportCounts:
        """Open reports here; overdue: past their expected answer; urgent: in an urgent
        category."""
        mine = (
            t.Report.network == community.network,
            t.Report.community_id == community.id,
            t.Report.status == OPEN,
        )
        query = select(
            func.count(),
            func.count().filter(t.Report.answer_due_at <= now),
            func.count().filter(t.Report.urgent.is_(True)),
        ).where(*mine)
        async with self._reading() as session:
            opened, overdue, urgent = (await session.execute(query)).one()
        return ReportCounts(int(opened), int(overdue or 0), int(urgent or 0))


__all__ = ["ReportCounts", "Stats"]
