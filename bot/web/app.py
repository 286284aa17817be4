"""The bot's web service: the pages of an identity check, /healthz and /metrics.

Server-rendered HTML that works without JavaScript and with a keyboard alone, loads nothing from
third parties, and is never cached (pages carry single-use tokens). Every form carries a CSRF token
bound to the browser's cookie and to the form's own address, and POSTs from another origin are
refused, so another site cannot start or finish a check in a member's name (bot/web/pages.py).

Referrer policy: `same-origin`, not `no-referrer`. Under `no-referrer` a browser sends
`Origin: null` with every form POST (Fetch standard), which the origin check must refuse — so no
form worked in a real browser. With `same-origin` our own POSTs carry our real Origin, while the
link token in a page's address still reaches no third party in a Referer: the pages load nothing
from elsewhere, and the redirect to the identity provider is cross-origin, so it carries none.
Any other Origin, `null` included, is still refused; the CSRF token bound to the cookie, and the
SameSite=Lax cookie itself, remain the real defence.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from bot.adapters.base import StatsSource
from bot.core import BotCore
from bot.verification.service import VerificationService
from bot.verification.titles import failure_title
from bot.web import verify
from bot.web.keys import CORE_KEY, PAGES_KEY, SERVICE_KEY
from bot.web.pages import STYLE, FormRejected, Pages

log = logging.getLogger(__name__)

REFERRER_POLICY = "same-origin"  # also in templates/base.html; see the module docstring
NOT_FOUND = (
    "There is no page at this address. If you copied the link from the chat, copy all of it;"
    " or run the verify command again for a new link."
)
INTERNAL = (
    "Something went wrong on our side, and nothing was stored. Please try again in a few"
    " minutes; if it keeps happening, tell a moderator."
)


@web.middleware
async def _friendly_failures(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    pages = request.app[PAGES_KEY]
    try:
        return await handler(request)
    except FormRejected as exc:
        log.info("refused a form post to %s: %s", _route(request), exc.reason)
        return pages.rejected(exc)
    except web.HTTPNotFound:
        # A link cut short in a chat client lands here: say so in words, not "404: Not Found".
        if request.path.startswith("/verify/") and request.app[SERVICE_KEY] is not None:
            return pages.failure(failure_title("not_found"), NOT_FOUND, status=404)
        raise
    except web.HTTPException:
        raise
    except Exception:
        # A bug or an outage must still end in a page a person understands.
        log.exception("web request %s %s failed", request.method, _route(request))
        return pages.failure(failure_title("internal"), INTERNAL, status=500)


def _route(request: web.Request) -> str:
    """The page's route, not its address: a link's token or a check id in a log line would let
    whoever reads the log finish someone else's check."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(unknown page)"


async def healthz(request: web.Request) -> web.Response:
    ok = await request.app[CORE_KEY].store.ping()
    return web.Response(text="ok" if ok else "database unavailable", status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    """Counters in the Prometheus text format: the core's, the cache's and each adapter's."""
    core = request.app[CORE_KEY]
    lines: list[str] = []

    def emit(name: str, value: float, **labels: str) -> None:
        metric = "verifybot_" + re.sub(r"[^a-zA-Z0-9_]", "_", name)
        label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        lines.append(f"{metric}{{{label_text}}} {value:g}" if labels else f"{metric} {value:g}")

    for name, count in sorted(core.metrics.counters.items()):
        emit(name, count)
    samples = sorted(core.metrics.decision_seconds)
    if samples:
        emit("decision_seconds_median", samples[len(samples) // 2])
        emit("decision_seconds_p99", samples[min(len(samples) - 1, int(len(samples) * 0.99))])
    for name, size in core.cache.stats().items():
        emit(f"cache_{name}", size)
    for network, adapter in sorted(core.adapters.items()):
        if isinstance(adapter, StatsSource):
            for name, figure in sorted(adapter.stats().items()):
                emit(f"adapter_{name}", figure, network=network)
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


async def style(_request: web.Request) -> web.Response:
    return web.Response(text=STYLE, content_type="text/css")


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    form_targets = "'self'"
    service = request.app[SERVICE_KEY]
    if service is not None and service.oidc is not None:
        # Browsers apply form-action to the redirect that follows a form, which goes to the
        # provider's sign-in page.
        issuer = urlsplit(service.oidc.settings.issuer)
        form_targets += f" {issuer.scheme}://{issuer.netloc}"
        cached = service.oidc.cached_metadata
        if cached is not None:
            auth = urlsplit(cached.authorization_endpoint)
            form_targets += f" {auth.scheme}://{auth.netloc}"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none';"
        f" form-action {form_targets}; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["Referrer-Policy"] = REFERRER_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"


def create_app(core: BotCore, service: VerificationService | None) -> web.Application:
    app = web.Application(client_max_size=64 * 1024, middlewares=[_friendly_failures])
    app[CORE_KEY] = core
    app[SERVICE_KEY] = service
    app[PAGES_KEY] = Pages(core, service)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/verify/assets/style.css", style)
    verify.add_routes(app)
    app.on_response_prepare.append(_security_headers)
    return app


class WebServer:
    """Runs the app on the configured address, or on a socket the caller already bound (tests
    bind port 0 first so the base URL is known before the server starts)."""

    def __init__(
        self,
        app: web.Application,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        sock: socket.socket | None = None,
    ) -> None:
        self.app = app
        self.host, self.port, self.sock = host, port, sock
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site: web.BaseSite
        if self.sock is not None:
            site = web.SockSite(self._runner, self.sock)
        else:
            site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("web service listening on %s", site.name)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
