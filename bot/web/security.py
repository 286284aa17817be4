"""The headers every response carries: what a browser may load, send and show from our pages.

Nothing is loaded from third parties, nothing is cached (pages carry single-use tokens), no
page can be framed. Forms may go to ourselves and, when OpenID Connect is configured, to the
provider's sign-in page (browsers apply `form-action` to the redirect that follows a form).

Referrer policy: `same-origin`, not `no-referrer`. Under `no-referrer` a browser sends
`Origin: null` with every form POST (Fetch standard), which the origin check must refuse — so no
form worked in a real browser. With `same-origin` our own POSTs carry our real Origin, while the
link token in a page's address still reaches no third party in a Referer: the pages load nothing
from elsewhere, and the redirect to the identity provider is cross-origin, so it carries none.
Any other Origin, `null` included, is still refused (bot/web/pages.py); the CSRF token bound to
the cookie, and the SameSite=Lax cookie itself, remain the real defence.
"""

from __future__ import annotations

import hmac
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from bot.web.keys import SERVICE_KEY

REFERRER_POLICY: Final = "same-origin"  # also in templates/base.html; see above


def bearer_matches(request: web.Request, secret: bytes) -> bool:
    """`Authorization: Bearer <secret>`, compared in constant time (/metrics, /antispam)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), secret)


def form_targets(request: web.Request) -> str:
    """Where the pages' forms may lead: here, and the identity provider's sign-in page."""
    targets = "'self'"
    service = request.app[SERVICE_KEY]
    if service is not None and service.oidc is not None:
        issuer = urlsplit(service.oidc.settings.issuer)
        targets += f" {issuer.scheme}://{issuer.netloc}"
        cached = service.oidc.cached_metadata
        if cached is not None:
            auth = urlsplit(cached.authorization_endpoint)
            targets += f" {auth.scheme}://{auth.netloc}"
    return targets


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Set on every response, error pages and operations routes included."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none';"
        f" form-action {form_targets(request)}; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["Referrer-Policy"] = REFERRER_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
