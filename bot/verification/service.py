"""The identity check from start to badge: link -> method -> proof -> record -> badge.

`VerificationService` is the one entry point the cogs, the web pages and the app use. It is a
façade over parts that each do one job, all standing on one `CheckContext` (context.py):

* opening.py — links: issued, shown, redeemed once; the choice of methods; starting one;
* oidc_check.py, email_check.py, review.py — each method's check, started and finished;
  budgets.py — the daily budgets of e-mail codes;
* outcome.py — a proof stored (or refused) and the words told to the member; whether it is
  worth storing is `rules.standing`'s decision;
* lifecycle.py — badges kept in line, expiry and reminders, unverify, revoke, lift;
* views.py — what the pages show.

Everything a person is owed is written before they are told (write, then answer); failure
stores no verification; the only identity kept is the keyed hash a method proved.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.model import CommunityRef, MemberRef
from bot.verification.context import (
    CheckContext,
    RefreshBadges,
    ServiceCore,
    VerificationUnavailable,
)
from bot.verification.email_check import EmailCheck
from bot.verification.identity import ServerKey
from bot.verification.lifecycle import Lifecycle
from bot.verification.links import LinkError, LinkProblem
from bot.verification.oidc_check import OidcCheck
from bot.verification.opening import Opening
from bot.verification.outcome import Outcome
from bot.verification.providers import Proof, VerificationFailed
from bot.verification.review import Review
from bot.verification.views import (
    CodeSent,
    LinkPage,
    MethodChoice,
    Redirect,
    Result,
    StaleCheck,
    Started,
)

log = logging.getLogger(__name__)


class VerificationService:
    """Identity checks for every configured community, on every network."""

    def __init__(
        self,
        core: ServiceCore,
        *,
        refresh_badges: RefreshBadges | None = None,
        key: ServerKey | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        ctx = CheckContext(core, key=key, environ=environ)
        self.core = core
        self.config = ctx.config
        self.key = ctx.key
        self.links = ctx.links
        self.oidc = ctx.oidc
        self.email = ctx.email
        self.moderator = ctx.moderator
        self._ctx = ctx
        self._lifecycle = Lifecycle(ctx, refresh_badges)
        self._outcome = Outcome(ctx, refresh_badges or self._lifecycle.refresh_badges)
        self._oidc_check = OidcCheck(ctx, self._outcome)
        self._email_check = EmailCheck(ctx, self._outcome)
        self._review = Review(ctx, self._outcome)
        self._opening = Opening(
            ctx, oidc=self._oidc_check, email=self._email_check, review=self._review
        )

    @classmethod
    def maybe(cls, core: ServiceCore, **kwargs: Any) -> VerificationService | None:
        """The service, or None (with a log line saying why) when no method is configured.

        A configured but unusable set-up (a missing or weak key, an unset secret) raises
        ConfigError instead: starting half-configured would hide the mistake."""
        try:
            return cls(core, **kwargs)
        except VerificationUnavailable as exc:
            log.warning("identity checks are off: %s", exc)
            return None

    async def close(self) -> None:
        """Release the provider's HTTP session."""
        if self.oidc is not None:
            await self.oidc.close()

    # --- plain facts ------------------------------------------------------------------------

    def now(self) -> datetime:
        """The core's clock (tests shift it)."""
        return self._ctx.now()

    def community_name(self, community: CommunityRef) -> str:
        """The configured name, else the name the network knows (a space's, a server's)."""
        return self._ctx.community_name(community)

    def methods_for(self, community: CommunityRef) -> tuple[MethodChoice, ...]:
        """The methods this community accepts, in plain words: what each shares and keeps."""
        return self._opening.methods_for(community)

    def link_url(self, token: str) -> str:
        """The address of a link's page."""
        return self._opening.link_url(token)

    # --- links and starting a method (opening.py) -------------------------------------------

    async def issue_link(self, member: MemberRef, community: CommunityRef) -> str:
        """A fresh single-use link, recorded before it is handed out."""
        return await self._opening.issue_link(member, community)

    async def redeem_link(self, link_id: str, expires_at: datetime) -> bool:
        """LinkLedger: use up a link exactly once."""
        return await self._opening.redeem_link(link_id, expires_at)

    async def link_redeemed(self, link_id: str) -> bool:
        """LinkLedger: a link whose row is gone (purged, or never issued here) counts as used."""
        return await self._opening.link_redeemed(link_id)

    async def open_link(self, token: str) -> LinkPage:
        """What the link's page shows. Does not use up the link (chat previews fetch URLs)."""
        return await self._opening.open_link(token)

    async def start(
        self, token: str, method: str, *, browser: str, address: str | None = None
    ) -> Started:
        """Begin `method` for the link's account; the link is used up once input is checked."""
        return await self._opening.start(token, method, browser=browser, address=address)

    # --- finishing a method (oidc_check.py, email_check.py) ---------------------------------

    async def oidc_callback(self, params: Mapping[str, str], *, browser: str) -> Result:
        """The provider sent the browser back; the check is used up before the code is used."""
        return await self._oidc_check.callback(params, browser=browser)

    async def submit_code(self, check_id: str, code: str, *, browser: str) -> Result | CodeSent:
        """Check a code. The attempt is counted (durably) before the comparison."""
        return await self._email_check.submit_code(check_id, code, browser=browser)

    async def resend_code(self, check_id: str, address: str, *, browser: str) -> CodeSent:
        """Send a new code. The address is asked for again because it was never kept."""
        return await self._email_check.resend_code(check_id, address, browser=browser)

    async def code_page_open(self, check_id: str, browser: str) -> bool:
        """Whether the code page may show: an open check, started in this browser."""
        return await self._email_check.code_page_open(check_id, browser)

    # --- moderator review (review.py) -------------------------------------------------------

    async def approve(
        self, member: MemberRef, community: CommunityRef, *, moderator: MemberRef
    ) -> Result:
        """A moderator approves the member's open request here."""
        return await self._review.approve(member, community, moderator=moderator)

    async def deny(
        self, member: MemberRef, community: CommunityRef, *, moderator: MemberRef, reason: str
    ) -> Result:
        """A moderator declines the member's open request here, with a reason."""
        return await self._review.deny(member, community, moderator=moderator, reason=reason)

    # --- success (outcome.py) ---------------------------------------------------------------

    async def complete(self, member: MemberRef, origin: CommunityRef, proof: Proof) -> Result:
        """Store the verification, bind the identity, show the badge, tell the member."""
        return await self._outcome.complete(member, origin, proof)

    # --- after it was stored (lifecycle.py) -------------------------------------------------

    async def refresh_badges(self, member: MemberRef) -> list[CommunityRef]:
        """Show or take down the member's badge in every community shared with the bot."""
        return await self._lifecycle.refresh_badges(member)

    async def unverify(self, member: MemberRef) -> bool:
        """The member's own choice: the record and its identity bindings go, badges come off."""
        return await self._lifecycle.unverify(member)

    async def revoke(
        self, member: MemberRef, *, by: MemberRef, reason: str, community: CommunityRef
    ) -> bool:
        """A moderator's decision; it bars the account and its identity until lifted."""
        return await self._lifecycle.revoke(member, by=by, reason=reason, community=community)

    async def lift(self, member: MemberRef, *, by: MemberRef, community: CommunityRef) -> bool:
        """End a revocation: the member (and their identity) may verify again."""
        return await self._lifecycle.lift(member, by=by, community=community)

    async def sweep(self) -> tuple[int, int]:
        """Remind members whose verification ends soon; take down expired badges."""
        return await self._lifecycle.sweep()


__all__ = [
    "CodeSent",
    "LinkError",
    "LinkPage",
    "LinkProblem",
    "MethodChoice",
    "Redirect",
    "Result",
    "StaleCheck",
    "Started",
    "VerificationFailed",
    "VerificationService",
    "VerificationUnavailable",
]
