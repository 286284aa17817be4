"""The end of a successful check: store it (or refuse to), show the badge, tell the member.

The verification record is stored before any badge is shown or message sent (write, then
answer). Where the proved level counts is `policy.standing`'s decision; what storage refuses —
a revoked account or identity, an identity already at its limit of accounts — is told to the
member and the community's moderators or admins, without ever naming the other account.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot import policy
from bot.actions import NotifyAdmins, NotifyModerators
from bot.messages import accepted_words, date_words, each, either, method_words
from bot.model import CommunityRef, MemberRef
from bot.storage.records import RevocationRecord, VerificationRecord
from bot.verification.context import CheckContext, RefreshBadges
from bot.verification.providers import Proof
from bot.verification.views import Result

log = logging.getLogger(__name__)


class Outcome:
    """Turns a proof into a stored verification and the words the member reads."""

    def __init__(self, ctx: CheckContext, refresh: RefreshBadges) -> None:
        self.ctx = ctx
        self._refresh = refresh

    async def complete(self, member: MemberRef, origin: CommunityRef, proof: Proof) -> Result:
        """Store the verification, bind the identity, show the badge, tell the member.

        Only communities that accept the proved level count: the identity is bound there (and
        only there may it exceed its limit), the badge shows there. If none of the member's
        communities accepts the level, nothing is stored and the member is told what would.

        An identity may hold at most N accounts per community; if this account would exceed it
        in any community it shares with the bot, nothing is stored, the member is told why, and
        each such community's moderator log records the attempt (without naming the other
        account, which would reveal that the two belong to one person).
        """
        ctx = self.ctx
        joined = list(await ctx.core.adapter(member.network).member_communities(member))
        shared = joined if origin in joined else [*joined, origin]
        previous = await ctx.core.cache.verification(member)
        accepted = {community: ctx.accepted(community) for community in shared}
        stands = policy.standing(proof.level, accepted, origin, previous, ctx.now())
        if not stands.worth_storing:
            return await self._not_enough(member, origin, proof, kept=stands.keeps_previous)
        now = ctx.now()
        days = ctx.config.identity.expiry_days
        record = VerificationRecord(
            network=member.network,
            account_id=member.id,
            method=proof.method,
            level=proof.level,
            identity_hash=proof.identity_hash or "",
            verified_at=now,
            expires_at=now + timedelta(days=days) if days else None,
        )
        stored = await ctx.core.cache.store_verification(
            record,
            list(stands.counts),
            limit=ctx.config.identity.max_accounts_per_identity,
            bind=proof.identity_hash is not None and proof.method != "moderator",
        )
        if stored.revoked is not None:
            return await self._refuse_revoked(member, origin, proof, stored.revoked)
        if stored.full:
            return await self._refuse_second_account(member, proof, stored.full)
        log.info("a member verified in %s (%s)", origin.id, proof.method)
        ctx.core.metrics.check(proof.method, "completed")
        await ctx.audit(origin, member, "verified", member, f"{proof.method} {proof.level}")
        shown = list(await self._refresh(member))
        message = self._success_text(
            proof, origin, stands, shown, shared, joined, record.expires_at
        )
        await ctx.tell(member, message)
        if stands.here:
            return Result(True, "You are verified", message, member)
        return Result(True, f"Not enough for {ctx.community_name(origin)}", message, member)

    async def _not_enough(
        self, member: MemberRef, origin: CommunityRef, proof: Proof, *, kept: bool
    ) -> Result:
        """The check worked but proved less than the community asks: say what it needs."""
        ctx = self.ctx
        name = ctx.community_name(origin)
        done = method_words(ctx.config, proof.method, proof.level)
        needs = accepted_words(ctx.config, ctx.accepted(origin))
        message = (
            f"Your check worked ({done}), but {name} gives the Verified badge only to members"
            f" who {needs}. Nothing was stored"
            + (", and your earlier verification stays as it was" if kept else "")
            + f". To get the badge there, run {ctx.prefix(member.network)}verify again and"
            " choose that way."
        )
        log.info("a check in %s proved less than it needs (%s)", origin.id, proof.method)
        ctx.core.metrics.check(proof.method, "refused")
        await ctx.tell(member, message)
        return Result(False, f"Not enough for {name}", message)

    async def _refuse_revoked(
        self,
        member: MemberRef,
        origin: CommunityRef,
        proof: Proof,
        revocation: RevocationRecord,
    ) -> Result:
        """A revoked account, or another account with a revoked identity, stays unverified
        until a moderator lifts the revocation. The other account is never named."""
        ctx = self.ctx
        own = revocation.account_id == member.id
        ctx.core.metrics.check(proof.method, "refused")
        await ctx.audit(origin, member, "revoked_identity_refused", member, proof.method)
        if not own:
            done = method_words(ctx.config, proof.method, proof.level)
            await ctx.core.execute(
                NotifyModerators(
                    origin,
                    f"{ctx.display(member)} tried to verify ({done}) with an identity whose"
                    " verification a moderator revoked. Nothing was stored.",
                ),
                actor=member,
            )
        message = (
            "A moderator revoked your verification, so you cannot verify again until a"
            " moderator lifts the revocation. Nothing was stored."
            if own
            else "A moderator revoked the verification of this identity, so it cannot verify"
            " another account until a moderator lifts that. Nothing was stored."
        )
        await ctx.tell(member, message)
        return Result(False, "Verification revoked", message)

    async def _refuse_second_account(
        self, member: MemberRef, proof: Proof, conflicts: Sequence[CommunityRef]
    ) -> Result:
        ctx = self.ctx
        limit = ctx.config.identity.max_accounts_per_identity
        names = either([ctx.community_name(c) for c in conflicts])
        others = "another account" if limit == 1 else f"{limit} other accounts"
        done = method_words(ctx.config, proof.method, proof.level)
        ctx.core.metrics.check(proof.method, "refused")
        for community in conflicts:
            await ctx.audit(community, member, "second_account_refused", member, proof.method)
            await ctx.core.execute(
                NotifyAdmins(
                    community,
                    f"{ctx.display(member)} tried to verify ({done}) with an identity that"
                    f" already verifies {others} here. Nothing was stored.",
                ),
                actor=member,
            )
        accounts = "one account" if limit == 1 else f"{limit} accounts"
        message = (
            f"This identity already verifies {others} in {names}, and one person may verify"
            f" at most {accounts} per community, so nothing was stored. To move the badge to"
            f" this account, run {ctx.prefix(member.network)}unverify from the other account"
            " first, or ask a moderator."
        )
        await ctx.tell(member, message)
        return Result(False, "Already used for another account", message)

    def _success_text(
        self,
        proof: Proof,
        origin: CommunityRef,
        stands: policy.Standing,
        shown: Sequence[CommunityRef],
        shared: Sequence[CommunityRef],
        joined: Sequence[CommunityRef],
        expires_at: datetime | None,
    ) -> str:
        """What the member is told: first about the community they verified for."""
        ctx = self.ctx
        done = method_words(ctx.config, proof.method, proof.level)
        if stands.here:
            parts = [f"You are verified ({done})."]
        else:
            needs = accepted_words(ctx.config, ctx.accepted(origin))
            parts = [
                f"Your check worked ({done}), but {ctx.community_name(origin)} gives the"
                f" Verified badge only to members who {needs}."
            ]
            shared = [c for c in shared if c != origin]
        if shown:
            names = each([ctx.community_name(c) for c in shown])
            parts.append(f"Your Verified badge now shows in {names}.")
        stuck = [c for c in joined if c not in shown and c in stands.counts]
        if stuck:
            names = each([ctx.community_name(c) for c in stuck])
            parts.append(
                f"I could not show your badge in {names} yet; its admins were told what to fix."
            )
        for community in shared:
            if community not in stands.counts:
                needs = accepted_words(ctx.config, ctx.accepted(community))
                parts.append(
                    f"{ctx.community_name(community)} gives the badge only to members who"
                    f" {needs}, so it does not show there."
                )
        if expires_at is not None:
            parts.append(
                f"Your verification lasts until {date_words(expires_at)}; you will get a"
                " reminder before then."
            )
        return " ".join(parts)
