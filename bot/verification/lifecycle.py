"""A verification after it was stored: badges kept in line, expiry, unverify, revoke, lift.

Each change is written first (the record deleted, marked revoked, the revocation lifted, the
reminder marked), then badges follow and the member is told.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from bot.actions import SetBadge, TakeOffProfileBadge
from bot.messages import in_words
from bot.model import CommunityRef, MemberRef
from bot.verification.context import CheckContext, RefreshBadges

SWEEP_STATE_KEY: Final = "expiry_swept_at"
SWEEP_NETWORK: Final = "verification"


class Lifecycle:
    """What happens to verifications over time and by choice: the member's, a moderator's."""

    def __init__(self, ctx: CheckContext, refresh: RefreshBadges | None = None) -> None:
        self.ctx = ctx
        # The Badges cog, when loaded, keeps badges in line for the whole bot; else our own.
        self._refresh = refresh or self.refresh_badges

    async def refresh_badges(self, member: MemberRef) -> list[CommunityRef]:
        """Show or take down the member's badge in every community shared with the bot.
        Whether it shows is the core's one answer to "verified here" (bot/policy/verified.py)."""
        core = self.ctx.core
        shown: list[CommunityRef] = []
        for community in await core.adapter(member.network).member_communities(member):
            on = await core.verified_in(member, community)
            if await core.execute(SetBadge(member, community, on)) and on:
                shown.append(community)
        return shown

    async def unverify(self, member: MemberRef) -> bool:
        """The member's own choice: the record and its identity bindings go, badges come off."""
        removed = await self.ctx.core.cache.delete_verification(member)
        await self._refresh(member)
        await self.ctx.core.execute(TakeOffProfileBadge(member))
        if removed:
            await self.ctx.audit(None, member, "unverified", member, "")
        return removed

    async def revoke(
        self, member: MemberRef, *, by: MemberRef, reason: str, community: CommunityRef
    ) -> bool:
        """A moderator's decision. The record stays, marked revoked, and a revocation bars the
        account and its identity from verifying again until a moderator lifts it."""
        ctx = self.ctx
        record = await ctx.core.cache.revoke_verification(
            member, by=by.id, reason=reason, at=ctx.now(), community=community
        )
        if record is None:
            return False
        await ctx.audit(community, by, "revoked", member, reason)
        await self._refresh(member)
        await ctx.core.execute(TakeOffProfileBadge(member))
        await ctx.tell(
            member,
            f"A moderator of {ctx.community_name(community)} revoked your verification:"
            f" {reason}. Your Verified badge was removed, and you cannot verify again"
            " unless a moderator lifts the revocation.",
        )
        return True

    async def lift(self, member: MemberRef, *, by: MemberRef, community: CommunityRef) -> bool:
        """End a revocation: the member (and their identity) may verify again."""
        ctx = self.ctx
        if not await ctx.core.store.lift_revocation(member, by=by.id, at=ctx.now()):
            return False
        await ctx.audit(community, by, "revocation_lifted", member, "")
        await ctx.tell(
            member,
            f"A moderator of {ctx.community_name(community)} lifted the revocation of"
            f" your verification. You may verify again with {ctx.prefix(member.network)}verify.",
        )
        return True

    async def sweep(self) -> tuple[int, int]:
        """Remind members whose verification ends soon; take down expired badges.

        Returns (reminded, expired). Safe to run often: reminders are marked, and expiry picks
        up where the last sweep (stored) stopped.
        """
        ctx = self.ctx
        store = ctx.core.store
        now = ctx.now()
        reminded = await self._remind(now)
        last = await store.get_state(SWEEP_NETWORK, SWEEP_STATE_KEY)
        # On the very first sweep, older expiries are left to the badge reconciliation at start.
        since = datetime.fromisoformat(last) if last else now - timedelta(days=1)
        expired = await store.verifications_expired(now=now, since=since)
        for record in expired:
            if record.network not in ctx.core.adapters:
                continue
            await self._refresh(record.member)
            await ctx.core.execute(TakeOffProfileBadge(record.member))
            await ctx.tell(
                record.member,
                f"Your verification has ended, so your Verified badge was removed. Run"
                f" {ctx.prefix(record.network)}verify to verify again.",
            )
        await store.set_state(SWEEP_NETWORK, SWEEP_STATE_KEY, now.isoformat(), now)
        await store.purge_pending(now)
        return reminded, len(expired)

    async def _remind(self, now: datetime) -> int:
        """Tell each member whose verification ends within the reminder window, once."""
        ctx = self.ctx
        identity = ctx.config.identity
        if not identity.expiry_days:
            return 0
        due = await ctx.core.store.verifications_due_reminder(
            remind_before=now + timedelta(days=identity.reminder_days), now=now
        )
        for record in due:
            prefix = ctx.prefix(record.network)
            assert record.expires_at is not None
            await ctx.core.cache.mark_reminded(record.member, now)
            await ctx.tell(
                record.member,
                f"Your verification ends {in_words(record.expires_at, now)}. Run"
                f" {prefix}verify in a community before then to keep your badge.",
            )
        return len(due)
