"""Moderator review: a member asks from the link page, a moderator approves or denies.

A request is a pending row like any other check; deciding uses it up, so two moderators
answering at once cannot both decide. The moderators are asked in their own channel, once per
open request.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from bot.actions import NotifyModerators
from bot.messages import in_words
from bot.model import Choice, CommunityRef, MemberRef
from bot.storage.records import PendingRecord
from bot.verification.context import OPEN, CheckContext, VerificationUnavailable
from bot.verification.links import LinkClaims
from bot.verification.outcome import Outcome
from bot.verification.providers import VerificationFailed
from bot.verification.providers.moderator import ModeratorReview
from bot.verification.views import Result


class Review:
    """Requests for review and the moderators' decisions on them."""

    def __init__(self, ctx: CheckContext, outcome: Outcome) -> None:
        self.ctx = ctx
        self.outcome = outcome

    def _method(self) -> ModeratorReview:
        if self.ctx.moderator is None:
            raise VerificationUnavailable("moderator review is not configured")
        return self.ctx.moderator

    async def request(self, claims: LinkClaims) -> Result:
        """Ask the community's moderators, unless the member's request there is still open."""
        ctx, method = self.ctx, self._method()
        member, community = claims.member, claims.community
        if await self._open_request(member, community) is None:
            ttl = timedelta(days=method.settings.request_ttl_days)
            record = ctx.pending("review", secrets.token_urlsafe(16), claims, "moderator", {}, ttl)
            await ctx.core.store.create_pending(record)
            text = method.request_text(
                ctx.display(member),
                ctx.prefix(member.network),
                lapses=in_words(record.expires_at, ctx.now()),
            )
            decide = (  # buttons on Discord (Deny asks for the reason), commands on Matrix
                Choice("Approve", "approve", (member.id,)),
                Choice("Deny", "deny", (member.id,)),
            )
            await ctx.core.execute(NotifyModerators(community, text, decide), actor=member)
        return Result(
            True,
            "Your request is with the moderators",
            f"The moderators of {ctx.community_name(community)} will look at your request."
            " You will get a private message with their decision. You can close this page.",
        )

    async def _open_request(
        self, member: MemberRef, community: CommunityRef
    ) -> PendingRecord | None:
        """The member's request in this community that no one has decided and has not lapsed."""
        now = self.ctx.now()
        for record in await self.ctx.core.store.pending_of_member(member):
            if (
                record.method == "moderator"
                and record.community_id == community.id
                and record.status == OPEN
                and record.used_at is None
                and record.expires_at > now
            ):
                return record
        return None

    async def _take_request(self, member: MemberRef, community: CommunityRef) -> PendingRecord:
        """The member's open request in this community, used up; two moderators answering at
        once cannot both decide."""
        request = await self._open_request(member, community)
        if request is None or not await self.ctx.core.store.consume_pending(
            request.id, self.ctx.now()
        ):
            raise VerificationFailed(
                "There is no open review request from them in this community.",
                reason="no_request",
            )
        return request

    async def approve(
        self, member: MemberRef, community: CommunityRef, *, moderator: MemberRef
    ) -> Result:
        """The moderator approves: the request is used up, then the member verifies."""
        method = self._method()
        await self._take_request(member, community)
        await self.ctx.audit(community, moderator, "review_approved", member, "")
        return await self.outcome.complete(member, community, method.approve(member))

    async def deny(
        self, member: MemberRef, community: CommunityRef, *, moderator: MemberRef, reason: str
    ) -> Result:
        """The moderator declines: nothing is stored; the member is told the reason privately."""
        method = self._method()
        request = await self._take_request(member, community)
        await self.ctx.audit(community, moderator, "review_denied", member, reason)
        return await self.ctx.failed(request, method.deny(reason))
