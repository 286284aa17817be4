"""The audit trail: what the bot did, or in a dry run would have done, and who asked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select

from bot.storage import tables as t
from bot.storage.aggregate import Aggregate, mention
from bot.storage.database import Database, insert_for, rowcount
from bot.storage.records import AuditDraft, AuditRecord

# erasure keeps the fact that an action happened, so moderators' history stays coherent, but
# not who took part (a per-community pseudonym); the member's copy holds what was done about them
AUDIT = Aggregate(
    "audit",
    tables=(t.AuditEntry,),
    accounts=(
        mention(t.AuditEntry.actor, pseudonym=True),
        mention(t.AuditEntry.target, export=True, pseudonym=True),
    ),
    texts=(t.AuditEntry.detail,),
)


AUDIT_COLUMNS = (
    "network",
    "community_id",
    "actor",
    "action",
    "target",
    "detail",
    "at",
    "dry_run",
)


class AuditLog(Database):
    """The part of `Store` that writes and reads the audit trail."""

    async def audit(
        self,
        *,
        network: str,
        community_id: str | None,
        actor: str | None,
        action: str,
        target: str | None,
        detail: str,
        at: datetime,
        dry_run: bool = False,
    ) -> None:
        await self.audit_many(
            [AuditDraft(network, community_id, actor, action, target, detail, at, dry_run)]
        )

    async def audit_many(self, drafts: Sequence[AuditDraft]) -> None:
        """Write a batch of audit entries in one transaction."""
        stmt = insert_for(self.dialect, t.AuditEntry)
        rows = [
            {
                "network": d.network,
                "community_id": d.community_id,
                "actor": d.actor,
                "action": d.action,
                "target": d.target,
                "detail": d.detail,
                "at": d.at,
                "dry_run": d.dry_run,
            }
            for d in drafts
        ]
        await self._insert_rows(stmt, AUDIT_COLUMNS, rows, count_new=False)

    async def list_audit(
        self,
        *,
        community_id: str | None = None,
        network: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """The newest entries first, narrowed to a community, an account acted on, a time."""
        query = select(t.AuditEntry)
        if community_id is not None:
            query = query.where(t.AuditEntry.community_id == community_id)
        if network is not None:
            query = query.where(t.AuditEntry.network == network)
        if target is not None:
            query = query.where(t.AuditEntry.target == target)
        if since is not None:
            query = query.where(t.AuditEntry.at >= since)
        rows = await self._all(query.order_by(t.AuditEntry.id.desc()).limit(limit))
        return [_audit_record(r) for r in rows]

    async def purge_audit(self, before: datetime) -> int:
        """Delete audit entries older than `before` (retention)."""
        async with self._session() as session:
            result = await session.execute(delete(t.AuditEntry).where(t.AuditEntry.at < before))
            return rowcount(result)


def _audit_record(row: t.AuditEntry) -> AuditRecord:
    return AuditRecord(
        row.id,
        row.at,
        row.network,
        row.community_id,
        row.actor,
        row.action,
        row.target,
        row.detail,
        row.dry_run,
    )


__all__ = ["AUDIT", "AuditLog"]
