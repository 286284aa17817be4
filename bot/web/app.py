"""The bot's web service: the pages of an identity check, and the operator's routes.

Server-rendered HTML that works without JavaScript and with a keyboard alone. The parts:

* verify.py — the verification routes, pages.py — rendering them and the per-browser pieces
  every form needs (cookie, CSRF token, the origin check);
* operations.py — /healthz and /metrics;
* antispam.py — /antispam/…, the homeserver's questions before delivery (synapse-http-antispam);
* security.py — the headers on every response (CSP, referrer policy, no caching, no framing);
* here — the application put together, a failure turned into a page a person understands, and
  the server.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.core import BotCore
from bot.verification.service import VerificationService
from bot.verification.titles import failure_title
from bot.web import antispam, operations, profile, verify
from bot.web.dashboard import routes as dashboard
from bot.web.keys import CORE_KEY, PAGES_KEY, SERVICE_KEY
from bot.web.pages import STYLE, FormRejected, Pages
from bot.web.security import security_headers

log = logging.getLogger(__name__)

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


async def style(_request: web.Request) -> web.Response:
    return web.Response(text=STYLE, content_type="text/css")


def create_app(core: BotCore, service: VerificationService | None) -> web.Application:
    # a Matrix event (up to 64 KiB) wrapped in the antispam module's request still fits
    app = web.Application(client_max_size=128 * 1024, middlewares=[_friendly_failures])
    app[CORE_KEY] = core
    app[SERVICE_KEY] = service
    app[PAGES_KEY] = Pages(core, service)
    operations.add_routes(app)
    app.router.add_get("/verify/assets/style.css", style)
    verify.add_routes(app)
    profile.add_routes(app)  # the badge on a member's Discord profile, when linked_roles is on
    dashboard.add_routes(app)  # the admins' dashboard, when web.dashboard is on
    antispam.add_routes(app)  # the homeserver's questions, when [matrix.antispam] is set
    app.on_response_prepare.append(security_headers)
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
