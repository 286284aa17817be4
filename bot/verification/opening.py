"""The way into a check: the member's link, the page of choices, and starting one of them.

The link row exists before the `verify` reply carries it (write, then answer). Opening the page
does not use the link up (chat clients fetch URLs for previews); starting a method does — after
the input was checked, so a typo in an address costs nothing.
"""

from __future__ import annotations

from datetime import datetime

from bot.model import CommunityRef, MemberRef
from bot.storage.records import PendingRecord
from bot.verification.context import LINK, CheckContext, VerificationUnavailable, row_id
from bot.verification.email_check import EmailCheck
from bot.verification.oidc_check import OidcCheck
from bot.verification.providers import VerificationFailed
from bot.verification.review import Review
from bot.verification.views import LinkPage, MethodChoice, Started


class Opening:
    """Links (issued, shown, redeemed once) and the start of the method a member chose.

    It is also the `LinkLedger` the link signer redeems links against."""

    def __init__(
        self, ctx: CheckContext, *, oidc: OidcCheck, email: EmailCheck, review: Review
    ) -> None:
        self.ctx = ctx
        self.oidc = oidc
        self.email = email
        self.review = review

    def methods_for(self, community: CommunityRef) -> tuple[MethodChoice, ...]:
        """The methods this community accepts, in plain words: what each shares and keeps."""
        ctx = self.ctx
        accepted = ctx.config.accepted_methods(community.network, community.id)
        choices: list[MethodChoice] = []
        if "oidc" in accepted and ctx.oidc is not None:
            name = ctx.oidc.display_name
            choices.append(
                MethodChoice(
                    "oidc",
                    f"Sign in with {name}",
                    f"{name} tells the bot a fixed account number for you and, where it does,"
                    " how thoroughly it checked who you are.",
                    "A scrambled code made from that number, which cannot be turned back into"
                    " it; how you verified; and the dates. No name, e-mail address or document.",
                )
            )
        if "email_code" in accepted and ctx.email is not None:
            choices.append(
                MethodChoice(
                    "email_code",
                    f"Get a code at your {ctx.email.domains_text} e-mail address",
                    "You type your address; the bot mails a 6-digit code to it.",
                    "A scrambled code made from the address (not the address itself), which"
                    " cannot be turned back into it; how you verified; and the dates.",
                    needs_address=True,
                )
            )
        if "moderator" in accepted and ctx.moderator is not None:
            choices.append(
                MethodChoice(
                    "moderator",
                    "Ask a moderator to review your account",
                    "The moderators of this community see your account and decide.",
                    "Only the decision and the dates.",
                )
            )
        return tuple(choices)

    def link_url(self, token: str) -> str:
        """The address of a link's page."""
        return f"{self.ctx.config.web.base_url}/verify/{token}"

    async def issue_link(self, member: MemberRef, community: CommunityRef) -> str:
        """A fresh single-use link, recorded before it is handed out."""
        if not self.methods_for(community):
            raise VerificationUnavailable("this community accepts no configured method")
        ctx = self.ctx
        token, claims = ctx.links.issue(member, community)
        await ctx.core.store.create_pending(
            PendingRecord(
                id=row_id(LINK, claims.link_id),
                network=member.network,
                account_id=member.id,
                community_id=community.id,
                method=None,
                status=LINK,
                state={},
                created_at=ctx.now(),
                expires_at=claims.expires_at,
            )
        )
        return self.link_url(token)

    async def redeem_link(self, link_id: str, expires_at: datetime) -> bool:
        """LinkLedger: use up a link exactly once."""
        return await self.ctx.core.store.consume_pending(row_id(LINK, link_id), self.ctx.now())

    async def link_redeemed(self, link_id: str) -> bool:
        """LinkLedger: a link whose row is gone (purged, or never issued here) counts as used."""
        row = await self.ctx.core.store.get_pending(row_id(LINK, link_id))
        return row is None or row.used_at is not None

    async def open_link(self, token: str) -> LinkPage:
        """What the link's page shows. Does not use up the link (chat previews fetch URLs)."""
        claims = await self.ctx.links.check_unused(token, self)
        community = claims.community
        return LinkPage(claims, self.ctx.community_name(community), self.methods_for(community))

    async def start(
        self, token: str, method: str, *, browser: str, address: str | None = None
    ) -> Started:
        """Begin `method` for the link's account. Input is checked before the link is used up,
        so a typo in an address costs nothing; then the link is redeemed (single use)."""
        claims = self.ctx.links.read(token)
        offered = {m.name for m in self.methods_for(claims.community)}
        if method not in offered:
            raise VerificationFailed(
                "That method is not available in this community. Choose one from the list.",
                reason="method_not_offered",
            )
        if method == "email_code":
            await self.email.admit(claims.member, address or "")
        elif method == "oidc":
            await self.oidc.reachable()  # an unreachable provider should not burn the link
        claims = await self.ctx.links.redeem(token, self)
        self.ctx.core.metrics.check(method, "started")
        if method == "oidc":
            return await self.oidc.start(claims, browser)
        if method == "email_code":
            return await self.email.start(claims, browser, address or "")
        return await self.review.request(claims)
