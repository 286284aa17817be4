"""The async repository: every query verifybot makes lives here, and nowhere else.

Methods take and return neutral values (bot.model, bot.storage.records). Writes commit before they
return, so a caller that answers a person afterwards has made what it promised durable first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, String, delete, event, func, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.actions import HoldForMember
from bot.model import (
    CommunityRef,
    FilterLevel,
    MemberRef,
    Network,
    Relation,
    UnverifiedPolicy,
)
from bot.storage import budgets, identities
from bot.storage import tables as t
from bot.storage.records import (
    AuditDraft,
    AuditRecord,
    CommunityPolicies,
    FilterRecord,
    HeldRecord,
    PendingRecord,
    ReportRecord,
    RevocationRecord,
    VerificationRecord,
)

log = logging.getLogger(__name__)


SQLITE_BEGIN = "verifybot_sqlite_begin"


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; foreign keys are off by default in SQLite.

    The driver's own transaction handling is switched off (isolation_level None) and BEGIN is
    sent by `_begin_sqlite` instead, so savepoints work and DDL is transactional: a migration
    cut short is rolled back rather than left half done."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    dbapi_connection.isolation_level = None


def _pool_capacity(engine: AsyncEngine) -> int:
    """How many connections the pool can hand out at once (its size plus overflow)."""
    pool = engine.pool
    size = getattr(pool, "size", lambda: 5)()
    overflow = max(0, int(getattr(pool, "_max_overflow", 0)))
    return max(1, int(size) + overflow)


def _begin_sqlite(connection: Any) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


class Store:
    """Owns the engine. `statements` counts every SQL statement sent (tests use it to prove the
    hot path issues none once the cache is warm).

    Work waits for a free connection here, in an unbounded asyncio queue, never in the
    connection pool (whose wait times out after 30 s): a burst of thousands of events on a cold
    cache is then slow for a moment, not dropped."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.statements = 0
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._connections = asyncio.Semaphore(_pool_capacity(engine))
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)

    @classmethod
    def open(cls, url: str, *, pool_size: int = 10) -> Store:
        if url.startswith("sqlite"):
            engine = create_async_engine(url)
            event.listen(engine.sync_engine, "connect", _enable_sqlite_pragmas)
            event.listen(engine.sync_engine, "begin", _begin_sqlite)
        else:
            engine = create_async_engine(url, pool_size=pool_size, pool_pre_ping=True)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _count(self, *_args: Any) -> None:
        self.statements += 1

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> bool:
        """True when the database answers; used by /healthz."""
        try:
            async with self._connections, self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            log.warning("database ping failed", exc_info=True)
            return False

    @asynccontextmanager
    async def _session(self, *, immediate: bool = False) -> AsyncIterator[AsyncSession]:
        """One transaction. `immediate`: on SQLite, take the write lock at the start, so a
        transaction that reads before it writes waits its turn instead of failing midway."""
        async with self._connections, self._sessions() as session, session.begin():
            if immediate:
                await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
            yield session

    def _insert(self, table: type[t.Base]) -> Any:
        """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table)

    async def _first(self, query: Select[Any]) -> Any:
        async with self._connections, self._sessions() as session:
            return (await session.execute(query)).scalars().first()

    async def _all(self, query: Select[Any]) -> Sequence[Any]:
        async with self._connections, self._sessions() as session:
            rows: Sequence[Any] = (await session.execute(query)).scalars().all()
            return rows

    # --- verifications ------------------------------------------------------------------------

    async def get_verification(self, member: MemberRef) -> VerificationRecord | None:
        row = await self._first(
            select(t.Verification).where(
                t.Verification.network == member.network,
                t.Verification.account_id == member.id,
            )
        )
        return identities.verification_record(row) if row else None

    async def save_verification(self, record: VerificationRecord) -> None:
        """Write a verification as given, with no identity places and no revocation check (an
        import or a test's grant); checks made by people go through `store_verification`."""
        async with self._session() as session:
            await session.execute(
                identities.verification_upsert(record, self._insert(t.Verification))
            )

    async def store_verification(
        self,
        record: VerificationRecord,
        communities: Sequence[CommunityRef],
        *,
        limit: int,
        bind: bool,
    ) -> identities.Stored:
        """The record and the identity's place in each community, all or nothing, in one
        transaction; refused when the account or identity is revoked or a community is full."""
        async with self._session(immediate=True) as session:
            stored = await identities.store_verification(
                session,
                record,
                communities,
                limit=limit,
                bind=bind,
                inserts=(self._insert(t.IdentityBinding), self._insert(t.Verification)),
            )
            if not stored.ok:
                await session.rollback()
            return stored

    async def take_identity_place(
        self,
        community: CommunityRef,
        member: MemberRef,
        identity_hash: str,
        *,
        limit: int,
        at: datetime,
    ) -> bool:
        """A verified account arriving in a community takes its identity's place there; when
        every place is held by other accounts it is recorded as refused. True when placed."""
        async with self._session(immediate=True) as session:
            insert = self._insert(t.IdentityBinding)
            placed = await identities.take_slot(
                session, community, member, identity_hash, limit=limit, at=at, insert=insert
            )
            if not placed:
                await identities.record_refusal(
                    session, community, member, identity_hash, at=at, insert=insert
                )
            return placed

    async def revoke_verification(
        self,
        member: MemberRef,
        *,
        by: str,
        reason: str,
        at: datetime,
        community: CommunityRef | None = None,
    ) -> VerificationRecord | None:
        """Revoke the live verification and bar the account and its identity until a
        moderator lifts it; returns the record as it now stands, None if none was live."""
        async with self._session(immediate=True) as session:
            return await identities.revoke(
                session, member, by=by, reason=reason, at=at, community=community
            )

    async def spend(
        self,
        kind: str,
        holders: Sequence[budgets.Holder],
        *,
        limit: int,
        window: timedelta,
        now: datetime,
    ) -> bool:
        """One unit of a daily allowance for each holder, all or nothing; False when any
        holder has none left (then nothing is spent)."""
        async with self._session(immediate=True) as session:
            within = await budgets.spend(
                session,
                self._insert(t.Budget),
                kind,
                holders,
                limit=limit,
                window=window,
                now=now,
            )
            if not within:
                await session.rollback()
            return within

    async def lift_revocation(self, member: MemberRef, *, by: str, at: datetime) -> bool:
        async with self._session() as session:
            return await identities.lift(session, member, by=by, at=at)

    async def active_revocation(
        self, member: MemberRef, identity_hash: str = ""
    ) -> RevocationRecord | None:
        """The revocation barring this account (or, given, this identity), if any."""
        row = await self._first(
            identities.active_revocation(
                member.network, account=member.id, identity_hash=identity_hash
            )
        )
        return identities.revocation_record(row) if row is not None else None

    async def delete_verification(self, member: MemberRef) -> bool:
        async with self._session() as session:
            result = await session.execute(
                delete(t.Verification).where(
                    t.Verification.network == member.network,
                    t.Verification.account_id == member.id,
                )
            )
            await session.execute(
                delete(t.IdentityBinding).where(
                    t.IdentityBinding.network == member.network,
                    t.IdentityBinding.account_id == member.id,
                )
            )
            return _rowcount(result) > 0

    async def list_verifications(self, network: Network) -> list[VerificationRecord]:
        rows = await self._all(select(t.Verification).where(t.Verification.network == network))
        return [identities.verification_record(r) for r in rows]

    async def verifications_due_reminder(
        self, *, remind_before: datetime, now: datetime
    ) -> list[VerificationRecord]:
        """Live verifications expiring before `remind_before` whose holder was not reminded."""
        rows = await self._all(
            select(t.Verification).where(
                t.Verification.revoked_at.is_(None),
                t.Verification.reminded_at.is_(None),
                t.Verification.expires_at.is_not(None),
                t.Verification.expires_at > now,
                t.Verification.expires_at <= remind_before,
            )
        )
        return [identities.verification_record(r) for r in rows]

    async def verifications_expired(
        self, *, now: datetime, since: datetime
    ) -> list[VerificationRecord]:
        """Verifications that ran out between `since` and `now` (badges to take down)."""
        rows = await self._all(
            select(t.Verification).where(
                t.Verification.revoked_at.is_(None),
                t.Verification.expires_at.is_not(None),
                t.Verification.expires_at <= now,
                t.Verification.expires_at > since,
            )
        )
        return [identities.verification_record(r) for r in rows]

    async def mark_reminded(self, member: MemberRef, at: datetime) -> None:
        async with self._session() as session:
            await session.execute(
                update(t.Verification)
                .where(
                    t.Verification.network == member.network,
                    t.Verification.account_id == member.id,
                )
                .values(reminded_at=at)
            )

    # --- identity bindings --------------------------------------------------------------------

    async def accounts_for_identity(
        self, network: Network, community_id: str, identity_hash: str
    ) -> list[str]:
        rows = await self._all(
            select(t.IdentityBinding.account_id).where(
                t.IdentityBinding.network == network,
                t.IdentityBinding.community_id == community_id,
                t.IdentityBinding.identity_hash == identity_hash,
                t.IdentityBinding.refused.is_(False),
            )
        )
        return [str(r) for r in rows]

    async def is_refused(self, community: CommunityRef, member: MemberRef) -> bool:
        refused = await self._first(
            select(t.IdentityBinding.refused).where(
                t.IdentityBinding.network == member.network,
                t.IdentityBinding.community_id == community.id,
                t.IdentityBinding.account_id == member.id,
            )
        )
        return bool(refused)

    # --- member filters -----------------------------------------------------------------------

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

    async def filters_in(self, community: CommunityRef) -> list[FilterRecord]:
        """Members of a community who chose a filter other than off (for native pre-send rules)."""
        rows = await self._all(
            select(t.MemberFilter).where(
                t.MemberFilter.network == community.network,
                t.MemberFilter.community_id == community.id,
                t.MemberFilter.level != FilterLevel.OFF.value,
            )
        )
        return [
            FilterRecord(
                MemberRef(community.network, r.account_id), community, FilterLevel(r.level)
            )
            for r in rows
        ]

    # --- policies -----------------------------------------------------------------------------

    async def get_policies(self, community: CommunityRef) -> CommunityPolicies:
        rows = await self._all(
            select(t.ScopePolicy).where(
                t.ScopePolicy.network == community.network,
                t.ScopePolicy.community_id == community.id,
            )
        )
        own = next((UnverifiedPolicy(r.policy) for r in rows if r.channel_id == ""), None)
        channels = {r.channel_id: UnverifiedPolicy(r.policy) for r in rows if r.channel_id != ""}
        return CommunityPolicies(own, channels)

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

    # --- pending checks -----------------------------------------------------------------------

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
            result = await session.execute(
                update(t.PendingCheck)
                .where(
                    t.PendingCheck.id == check_id,
                    t.PendingCheck.used_at.is_(None),
                    t.PendingCheck.expires_at > at,
                )
                .values(used_at=at, status="used")
            )
            return _rowcount(result) == 1

    async def count_attempt(self, check_id: str, at: datetime) -> int | None:
        """Count one attempt at an open check and return the new total, atomically, so parallel
        guesses from several processes cannot slip past a limit; None if the check is not open."""
        async with self._session() as session:
            result = await session.execute(
                update(t.PendingCheck)
                .where(
                    t.PendingCheck.id == check_id,
                    t.PendingCheck.used_at.is_(None),
                    t.PendingCheck.expires_at > at,
                )
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
            return _rowcount(result)

    # --- held items ---------------------------------------------------------------------------

    async def add_held(
        self, holds: Sequence[HoldForMember], *, at: datetime, expires_at: datetime
    ) -> int:
        """Hold an interaction for each member, all in one transaction; returns how many were
        new (a redelivered event finds them held already)."""
        added = 0
        async with self._session() as session:
            for hold in holds:
                channel = hold.message.channel
                stmt = (
                    self._insert(t.HeldItem)
                    .values(
                        network=channel.network,
                        community_id=channel.community.id,
                        channel_id=channel.id,
                        message_id=hold.message.id,
                        for_account=hold.for_member.id,
                        sender_account=hold.sender.id,
                        relation=hold.relation.value,
                        content=hold.content,
                        reason=hold.reason,
                        status="held",
                        held_at=at,
                        expires_at=expires_at,
                    )
                    .on_conflict_do_nothing(
                        index_elements=["network", "message_id", "for_account", "relation"]
                    )
                )
                added += _rowcount(await session.execute(stmt))
        return added

    async def list_held(
        self, member: MemberRef, *, status: str = "held", limit: int = 50, offset: int = 0
    ) -> list[HeldRecord]:
        rows = await self._all(
            select(t.HeldItem)
            .where(
                t.HeldItem.network == member.network,
                t.HeldItem.for_account == member.id,
                t.HeldItem.status == status,
            )
            .order_by(t.HeldItem.held_at, t.HeldItem.id)
            .offset(offset)
            .limit(limit)
        )
        return [_held(r) for r in rows]

    async def get_held(self, member: MemberRef, item_id: int) -> HeldRecord | None:
        """One of the member's own held items (None if not theirs, or no longer held)."""
        row = await self._first(
            select(t.HeldItem).where(
                t.HeldItem.id == item_id,
                t.HeldItem.network == member.network,
                t.HeldItem.for_account == member.id,
                t.HeldItem.status == "held",
            )
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
            return _rowcount(result)

    async def count_held(self, member: MemberRef, *, status: str = "held") -> int:
        async with self._connections, self._sessions() as session:
            return int(
                (
                    await session.execute(
                        select(func.count())
                        .select_from(t.HeldItem)
                        .where(
                            t.HeldItem.network == member.network,
                            t.HeldItem.for_account == member.id,
                            t.HeldItem.status == status,
                        )
                    )
                ).scalar_one()
            )

    async def resolve_held(
        self, member: MemberRef, item_id: int, status: str, at: datetime
    ) -> HeldRecord | None:
        """Release or dismiss one of the member's own held items; None if not theirs or gone."""
        async with self._session() as session:
            row = (
                await session.execute(
                    select(t.HeldItem).where(
                        t.HeldItem.id == item_id,
                        t.HeldItem.network == member.network,
                        t.HeldItem.for_account == member.id,
                        t.HeldItem.status == "held",
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                return None
            row.status, row.resolved_at = status, at
            return _held(row)

    async def purge_held(self, now: datetime) -> int:
        async with self._session() as session:
            result = await session.execute(delete(t.HeldItem).where(t.HeldItem.expires_at <= now))
            return _rowcount(result)

    # --- reports ------------------------------------------------------------------------------

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

    # --- audit log ----------------------------------------------------------------------------

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
        async with self._session() as session:
            session.add_all(
                t.AuditEntry(
                    network=d.network,
                    community_id=d.community_id,
                    actor=d.actor,
                    action=d.action,
                    target=d.target,
                    detail=d.detail,
                    at=d.at,
                    dry_run=d.dry_run,
                )
                for d in drafts
            )

    async def list_audit(
        self, *, community_id: str | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        query = select(t.AuditEntry)
        if community_id is not None:
            query = query.where(t.AuditEntry.community_id == community_id)
        rows = await self._all(query.order_by(t.AuditEntry.id.desc()).limit(limit))
        return [
            AuditRecord(
                r.id,
                r.at,
                r.network,
                r.community_id,
                r.actor,
                r.action,
                r.target,
                r.detail,
                r.dry_run,
            )
            for r in rows
        ]

    # --- adapter state, event idempotency, sender notices -------------------------------------

    async def get_state(self, network: str, key: str) -> str | None:
        value = await self._first(
            select(t.AdapterStateEntry.value).where(
                t.AdapterStateEntry.network == network, t.AdapterStateEntry.key == key
            )
        )
        return str(value) if value is not None else None

    async def set_state(self, network: str, key: str, value: str, at: datetime) -> None:
        stmt = self._insert(t.AdapterStateEntry).values(
            network=network, key=key, value=value, updated_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["network", "key"], set_={"value": value, "updated_at": at}
        )
        async with self._session() as session:
            await session.execute(stmt)

    async def claim_event(self, network: str, event_id: str, at: datetime) -> bool:
        """Record an event as handled; False if it already was (a redelivery to ignore)."""
        stmt = (
            self._insert(t.ProcessedEvent)
            .values(network=network, event_id=event_id, at=at)
            .on_conflict_do_nothing(index_elements=["network", "event_id"])
        )
        async with self._session() as session:
            return _rowcount(await session.execute(stmt)) == 1

    async def purge_processed_events(self, before: datetime) -> int:
        async with self._session() as session:
            result = await session.execute(
                delete(t.ProcessedEvent).where(t.ProcessedEvent.at < before)
            )
            return _rowcount(result)

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

    # --- data rights: export and erase one member ---------------------------------------------

    async def export_member(self, member: MemberRef) -> dict[str, list[dict[str, Any]]]:
        """Everything stored about an account, as plain data (the member's copy)."""
        exported: dict[str, list[dict[str, Any]]] = {}
        async with self._connections, self._sessions() as session:
            for table, column in _MEMBER_COLUMNS:
                rows = (
                    await session.execute(
                        select(table).where(
                            table.network == member.network,  # type: ignore[attr-defined]
                            getattr(table, column) == member.id,
                        )
                    )
                ).scalars()
                exported[table.__tablename__] = [_row_dict(r) for r in rows]
        return exported

    async def erase_member(self, member: MemberRef, *, tables: Sequence[str] | None = None) -> int:
        """Delete an account's rows (all tables, or the named ones); returns rows removed.

        Audit entries about the member lose the account id but keep the fact that an action
        happened, so moderators' history stays coherent without identifying anyone."""
        removed = 0
        async with self._session() as session:
            for table, column in _MEMBER_COLUMNS:
                if tables is not None and table.__tablename__ not in tables:
                    continue
                if table in (t.AuditEntry, t.Revocation):
                    continue  # anonymised below, not deleted
                result = await session.execute(
                    delete(table).where(
                        table.network == member.network,  # type: ignore[attr-defined]
                        getattr(table, column) == member.id,
                    )
                )
                removed += _rowcount(result)
            if tables is None or t.Revocation.__tablename__ in tables:
                # a revocation keeps barring the identity (a keyed hash), but no longer names
                # the account
                result = await session.execute(
                    update(t.Revocation)
                    .where(
                        t.Revocation.network == member.network,
                        t.Revocation.account_id == member.id,
                    )
                    .values(account_id="erased-" + cast_text(t.Revocation.id))
                )
                removed += _rowcount(result)
            if tables is None or t.AuditEntry.__tablename__ in tables:
                for column in ("actor", "target"):
                    result = await session.execute(
                        update(t.AuditEntry)
                        .where(
                            t.AuditEntry.network == member.network,
                            getattr(t.AuditEntry, column) == member.id,
                        )
                        .values({column: "erased"})
                    )
                    removed += _rowcount(result)
        return removed

    async def count_rows(self, table_name: str) -> int:
        """Row count of one table (health output and tests)."""
        table = t.Base.metadata.tables[table_name]
        async with self._connections, self._sessions() as session:
            return int(
                (await session.execute(select(func.count()).select_from(table))).scalar_one()
            )


_MEMBER_COLUMNS: tuple[tuple[type[t.Base], str], ...] = (
    (t.Verification, "account_id"),
    (t.IdentityBinding, "account_id"),
    (t.MemberFilter, "account_id"),
    (t.PendingCheck, "account_id"),
    (t.HeldItem, "for_account"),
    (t.HeldItem, "sender_account"),
    (t.Report, "reporter_account"),
    (t.SenderNotice, "account_id"),
    (t.Revocation, "account_id"),
    (t.Budget, "holder"),
    (t.AuditEntry, "actor"),
)


def cast_text(column: Any) -> Any:
    """A column as text in SQL (to build a value from a row's own id)."""
    return sql_cast(column, String)


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _row_dict(row: t.Base) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in row.__table__.columns:
        value = getattr(row, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return values


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


__all__ = ["Store"]
