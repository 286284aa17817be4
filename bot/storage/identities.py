"""The statements behind `Verifications`: records, identity slots and revocations, kept
consistent by the database itself.

A verification and the identity's place in each community are written in one transaction, and a
unique index lets each of an identity's N places (`slot`) in a community be held by one account
only: two processes racing to verify two accounts with one identity cannot both succeed, and a
crash between the record and its bindings leaves neither. A revocation lives in its own table, so
it outlives the verification it ended until a moderator lifts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import CommunityRef, MemberRef, Network
from bot.storage import tables as t
from bot.storage.records import RevocationRecord, VerificationRecord

Insert = Any  # a dialect INSERT supporting ON CONFLICT (SQLite or PostgreSQL)


@dataclass(frozen=True, slots=True)
class Stored:
    """What became of a verification: stored, or refused for one of two reasons."""

    revoked: RevocationRecord | None = None  # the account or the identity is revoked
    full: tuple[CommunityRef, ...] = field(default=())  # communities where the identity is full

    @property
    def ok(self) -> bool:
        return self.revoked is None and not self.full


def active_revocation(network: str, *, account: str, identity_hash: str) -> Select[Any]:
    """The revocation (not lifted) that bars this account or this identity, if any."""
    bars = [t.Revocation.account_id == account]
    if identity_hash:
        bars.append(t.Revocation.identity_hash == identity_hash)
    return (
        select(t.Revocation)
        .where(t.Revocation.network == network, t.Revocation.lifted_at.is_(None), or_(*bars))
        .order_by(t.Revocation.revoked_at)
        .limit(1)
    )


async def take_slot(
    session: AsyncSession,
    community: CommunityRef,
    member: MemberRef,
    identity_hash: str,
    *,
    limit: int,
    at: datetime,
    insert: Insert,
) -> bool:
    """Give the account one of the identity's `limit` places in the community; False if every
    place is held by another account. The unique index, not this code, is what decides."""
    mine = (
        await session.execute(
            select(t.IdentityBinding).where(
                t.IdentityBinding.network == member.network,
                t.IdentityBinding.community_id == community.id,
                t.IdentityBinding.account_id == member.id,
            )
        )
    ).scalar_one_or_none()
    if mine is not None and mine.identity_hash == identity_hash and mine.slot is not None:
        return True
    held = set(
        (
            await session.execute(
                select(t.IdentityBinding.slot).where(
                    t.IdentityBinding.network == member.network,
                    t.IdentityBinding.community_id == community.id,
                    t.IdentityBinding.identity_hash == identity_hash,
                    t.IdentityBinding.slot.is_not(None),
                )
            )
        ).scalars()
    )
    values = {"identity_hash": identity_hash, "refused": False, "bound_at": at}
    for slot in range(limit):
        if slot in held:
            continue
        statement = insert.values(
            network=member.network,
            community_id=community.id,
            account_id=member.id,
            slot=slot,
            **values,
        ).on_conflict_do_update(
            index_elements=["network", "community_id", "account_id"],
            set_={**values, "slot": slot},
        )
        try:
            async with session.begin_nested():
                await session.execute(statement)
        except IntegrityError:  # another process took this place a moment ago
            continue
        return True
    return False


async def record_refusal(
    session: AsyncSession,
    community: CommunityRef,
    member: MemberRef,
    identity_hash: str,
    *,
    at: datetime,
    insert: Insert,
) -> None:
    """Note that the account arrived with an identity already at its limit (no place held)."""
    values = {"identity_hash": identity_hash, "refused": True, "slot": None, "bound_at": at}
    await session.execute(
        insert.values(
            network=member.network, community_id=community.id, account_id=member.id, **values
        ).on_conflict_do_update(
            index_elements=["network", "community_id", "account_id"], set_=values
        )
    )


def verification_upsert(record: VerificationRecord, insert: Insert) -> Any:
    """Store an account's verification, replacing an earlier one (a revoked one included)."""
    values = {
        "network": record.network,
        "account_id": record.account_id,
        "method": record.method,
        "level": record.level,
        "identity_hash": record.identity_hash,
        "verified_at": record.verified_at,
        "expires_at": record.expires_at,
        "reminded_at": None,
        "revoked_at": None,
        "revoked_by": None,
        "revoke_reason": None,
    }
    return insert.values(**values).on_conflict_do_update(
        index_elements=["network", "account_id"],
        set_={k: v for k, v in values.items() if k not in ("network", "account_id")},
    )


async def store_verification(
    session: AsyncSession,
    record: VerificationRecord,
    communities: Sequence[CommunityRef],
    *,
    limit: int,
    bind: bool,
    inserts: tuple[Insert, Insert],
) -> Stored:
    """In the caller's transaction: refuse a revoked account or identity; take the identity's
    place in each community (in a fixed order, so racing processes cannot deadlock); then the
    record. The caller rolls back when this returns a refusal."""
    found = (
        await session.execute(
            active_revocation(
                record.network, account=record.account_id, identity_hash=record.identity_hash
            )
        )
    ).scalar_one_or_none()
    if found is not None:
        return Stored(revoked=revocation_record(found))
    binding_insert, verification_insert = inserts
    full: list[CommunityRef] = []
    if bind:
        member = record.member
        for community in sorted(communities, key=lambda c: c.id):
            if not await take_slot(
                session,
                community,
                member,
                record.identity_hash,
                limit=limit,
                at=record.verified_at,
                insert=binding_insert,
            ):
                full.append(community)
    if full:
        return Stored(full=tuple(full))
    await session.execute(verification_upsert(record, verification_insert))
    return Stored()


async def revoke(
    session: AsyncSession,
    member: MemberRef,
    *,
    by: str,
    reason: str,
    at: datetime,
    community: CommunityRef | None,
) -> VerificationRecord | None:
    """Mark the live verification revoked and bar the account and its identity; None when the
    account holds no live verification."""
    row = (
        await session.execute(
            select(t.Verification).where(
                t.Verification.network == member.network,
                t.Verification.account_id == member.id,
                t.Verification.revoked_at.is_(None),
            )
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    row.revoked_at, row.revoked_by, row.revoke_reason = at, by, reason
    already = (
        await session.execute(
            active_revocation(member.network, account=member.id, identity_hash="")
        )
    ).scalar_one_or_none()
    if already is None:
        session.add(
            t.Revocation(
                network=member.network,
                account_id=member.id,
                identity_hash=row.identity_hash,
                community_id=community.id if community else None,
                revoked_by=by,
                reason=reason,
                revoked_at=at,
            )
        )
    return verification_record(row)


async def lift(session: AsyncSession, member: MemberRef, *, by: str, at: datetime) -> bool:
    """End the account's revocation (and so its identity's); False when there is none."""
    result = await session.execute(
        update(t.Revocation)
        .where(
            t.Revocation.network == member.network,
            t.Revocation.account_id == member.id,
            t.Revocation.lifted_at.is_(None),
        )
        .values(lifted_at=at, lifted_by=by)
    )
    return bool(getattr(result, "rowcount", 0))


def revocation_record(row: t.Revocation) -> RevocationRecord:
    return RevocationRecord(
        network=row.network,
        account_id=row.account_id,
        community_id=row.community_id,
        revoked_by=row.revoked_by,
        reason=row.reason,
        revoked_at=row.revoked_at,
    )


def verification_record(row: t.Verification) -> VerificationRecord:
    """A stored verification as a plain value (the one place this mapping is written)."""
    return VerificationRecord(
        network=cast(Network, row.network),
        account_id=row.account_id,
        method=row.method,
        level=row.level,
        identity_hash=row.identity_hash,
        verified_at=row.verified_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        revoke_reason=row.revoke_reason,
        reminded_at=row.reminded_at,
    )
