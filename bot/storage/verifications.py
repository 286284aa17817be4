"""Verifications, the identity places they take and the revocations that outlive them.

The consistency rules (all or nothing, one account per identity place, sticky revocations) live in
`bot.storage.identities`, each inside the caller's transaction; this part of `Store` opens the
transactions, and tells the read cache what each write changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String as SqlString
from sqlalchemy import cast, delete, select, update

from bot.model import CommunityRef, MemberRef, Network
from bot.storage import identities
from bot.storage import tables as t
from bot.storage.aggregate import ERASED, Aggregate, mention, owner
from bot.storage.changes import Placed, Unverified, VerificationTouched, Verified
from bot.storage.database import Database, rowcount
from bot.storage.records import RevocationRecord, VerificationRecord

VERIFICATIONS = Aggregate(
    "verifications",
    tables=(t.Verification, t.IdentityBinding, t.Revocation),
    accounts=(
        owner(t.Verification.account_id),
        mention(t.Verification.revoked_by),
        owner(t.IdentityBinding.account_id),
        # a revocation keeps barring the identity (a keyed hash) but no longer names the account;
        # each erased one stays distinct, as only one revocation in force may name an account
        mention(
            t.Revocation.account_id,
            export=True,
            erased_as=ERASED + "-" + cast(t.Revocation.id, SqlString),
        ),
        mention(t.Revocation.revoked_by),
        mention(t.Revocation.lifted_by),
    ),
    # nor is the keyed hash, which means nothing without the server's key
    private=(
        t.Verification.revoked_by,  # moderators are not named to the member they acted on
        t.Revocation.revoked_by,
        t.Revocation.lifted_by,
        t.Verification.identity_hash,
        t.IdentityBinding.identity_hash,
        t.Revocation.identity_hash,
    ),
)


class Verifications(Database):
    """The part of `Store` that keeps verifications, identity places and revocations."""

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
        await self._changed(Verified(record))

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
        if stored.ok:
            await self._changed(Verified(record, tuple(communities) if bind else ()))
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
        await self._changed(Placed(community, member, placed))
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
            record = await identities.revoke(
                session, member, by=by, reason=reason, at=at, community=community
            )
        await self._changed(VerificationTouched(member))
        return record

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
        """The member's own `unverify`: the record and its identity places go (a revocation
        stays)."""
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
        await self._changed(Unverified(member))
        return rowcount(result) > 0

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
        await self._changed(VerificationTouched(member))

    # --- identity places ----------------------------------------------------------------------

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


__all__ = ["VERIFICATIONS", "Verifications"]
