"""Sign-in at an OpenID provider, as a check: send the browser there, take the answer back.

The state, nonce and PKCE verifier are stored (under a hash of the state) before the browser is
sent on; the callback uses that row up before the code is redeemed, so a replayed callback finds
nothing, and one from another browser burns the check.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.verification.context import CheckContext, browser_tag, row_id
from bot.verification.links import LinkClaims
from bot.verification.outcome import Outcome
from bot.verification.providers import VerificationFailed
from bot.verification.providers.oidc import OidcMethod
from bot.verification.views import Redirect, Result, StaleCheck


class OidcCheck:
    """Starting and finishing a sign-in at the configured provider."""

    def __init__(self, ctx: CheckContext, outcome: Outcome) -> None:
        self.ctx = ctx
        self.outcome = outcome

    def _method(self) -> OidcMethod:
        if self.ctx.oidc is None:
            raise StaleCheck("OpenID Connect is not configured")
        return self.ctx.oidc

    async def reachable(self) -> None:
        """Raises VerificationFailed if the provider cannot be asked now; checked before a
        link is used up, so an unreachable provider does not burn it."""
        await self._method().metadata()

    async def start(self, claims: LinkClaims, browser: str) -> Redirect:
        """Keep the state, nonce and verifier for this browser, then send it to sign in."""
        ctx = self.ctx
        start = await self._method().begin()
        state = {
            "browser": browser_tag(browser),
            "nonce": start.nonce,
            "code_verifier": start.code_verifier,
        }
        await ctx.core.store.create_pending(
            ctx.pending("oidc", start.state, claims, "oidc", state, ctx.links.ttl)
        )
        return Redirect(start.authorization_url)

    async def callback(self, params: Mapping[str, str], *, browser: str) -> Result:
        """The provider sent the browser back. `state` must match an open check from this
        browser; it is used up before the code is redeemed, so a replay finds nothing."""
        method = self._method()
        state = params.get("state", "")
        if not state:
            raise StaleCheck("callback without state")
        record = await self.ctx.take(row_id("oidc", state), browser, "oidc")
        try:
            proof = await method.finish(
                params,
                nonce=str(record.state["nonce"]),
                code_verifier=str(record.state["code_verifier"]),
            )
        except VerificationFailed as exc:
            return await self.ctx.failed(record, exc)
        return await self.outcome.complete(record.member, self.ctx.origin(record), proof)
