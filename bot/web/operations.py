"""The operator's routes: /healthz for a load balancer or supervisor, /metrics for Prometheus.

Apart from the verification pages: they carry no person's data and no form, and an operator may
expose them to a monitoring network while the pages face the public. With `web.metrics_port`
set they are served only on a listener of their own (same `listen_host`), never on the pages'
port; with `web.metrics_token` set, /metrics answers only a scraper that sends
`Authorization: Bearer <token>` (/healthz stays open: a load balancer sends no token).
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.config import Config
from bot.core import BotCore
from bot.web.keys import CORE_KEY, SERVICE_KEY
from bot.web.security import bearer_matches, security_headers

TOKEN_KEY: web.AppKey[bytes | None] = web.AppKey("metrics_token")


async def healthz(request: web.Request) -> web.Response:
    """200 while the database answers, 503 when it does not."""
    ok = await request.app[CORE_KEY].store.ping()
    return web.Response(text="ok" if ok else "database unavailable", status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    """The core's registry in the Prometheus text format (the cache's, the adapters' and the
    process's figures are read as this runs)."""
    token = request.app[TOKEN_KEY]
    if token is not None and not bearer_matches(request, token):
        return web.Response(
            status=401,
            text="a bearer token is required",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    body = request.app[CORE_KEY].metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def metrics_token(config: Config) -> bytes | None:
    """The configured token, resolved as every secret is (`run` has checked it resolves)."""
    ref = config.web.metrics_token
    return ref.resolve().encode() if ref is not None else None


def _serve(app: web.Application, config: Config) -> None:
    app[TOKEN_KEY] = metrics_token(config)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)


def add_routes(app: web.Application) -> None:
    """The routes on the pages' app (its CORE_KEY set), unless they have a port of their own."""
    config = app[CORE_KEY].config
    if config.web.metrics_port is None:
        _serve(app, config)


def operations_app(core: BotCore) -> web.Application:
    """The app for `web.metrics_port`: /healthz and /metrics only, with the pages' headers."""
    app = web.Application(client_max_size=1024)
    app[CORE_KEY] = core
    app[SERVICE_KEY] = None  # no pages, so forms may lead nowhere (security_headers reads it)
    _serve(app, core.config)
    app.on_response_prepare.append(security_headers)
    return app
