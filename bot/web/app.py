"""The bot's web service: the pages of an identity check, and /healthz.

Server-rendered HTML that works without JavaScript and with a keyboard alone, loads nothing from
third parties, and is never cached (pages carry single-use tokens). Every form carries a CSRF token
bound to the browser's cookie and to the form's own address, and POSTs from another origin are
refused, so another site cannot start or finish a check in a member's name.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bot.adapters.base import StatsSource
from bot.core import BotCore
from bot.verification.links import LinkError, LinkProblem
from bot.verification.providers import VerificationFailed
from bot.verification.service import (
    CodeSent,
    LinkPage,
    Redirect,
    Result,
    StaleCheck,
    VerificationService,
)

log = logging.getLogger(__name__)

BROWSER_COOKIE: Final = "verifybot_browser"
TEMPLATES = Path(__file__).parent / "templates"
NETWORK_NAMES = {"matrix": "Matrix", "discord": "Discord"}

SERVICE_KEY: web.AppKey[VerificationService | None] = web.AppKey("service")
CORE_KEY: web.AppKey[BotCore] = web.AppKey("core")
PAGES_KEY: web.AppKey[Pages] = web.AppKey("pages")

STYLE = """
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0 auto; max-width: 40rem; padding: 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-bottom: .25rem; }
.method { border: 1px solid #8888; border-radius: .5rem; padding: .5rem 1rem 1rem; margin: 1rem 0; }
dt { font-weight: 600; } dd { margin: 0 0 .5rem 0; }
label { display: block; margin: .5rem 0 .25rem; }
input { font: inherit; padding: .4rem; width: min(100%, 22rem); }
button { font: inherit; padding: .5rem 1rem; margin-top: .5rem; cursor: pointer; }
:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
.problem { border-left: .3rem solid #c0392b; padding-left: .75rem; }
.done { border-left: .3rem solid #2e7d32; padding-left: .75rem; }
.note { border-left: .3rem solid #1a73e8; padding-left: .75rem; }
footer { margin-top: 2rem; font-size: .9rem; opacity: .8; }
"""


class Pages:
    """Templates plus the per-browser pieces every page needs (cookie, CSRF token)."""

    def __init__(self, core: BotCore, service: VerificationService | None) -> None:
        self.core = core
        self.service = service
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        base = urlsplit(core.config.web.base_url)
        self.origin = f"{base.scheme}://{base.netloc}"
        self.secure_cookie = base.scheme == "https"

    def render(self, template: str, status: int = 200, **values: Any) -> web.Response:
        html = self.env.get_template(template).render(**values)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def result(self, result: Result) -> web.Response:
        return self.render(
            "result.html",
            status=200 if result.ok else 400,
            title=result.title,
            ok=result.ok,
            message=result.message,
        )

    def failure(self, message: str, status: int = 400) -> web.Response:
        return self.render(
            "result.html",
            status=status,
            title="Verification did not succeed",
            ok=False,
            message=message,
        )

    def csrf(self, browser: str, action: str) -> str:
        assert self.service is not None
        return self.service.key.mac("csrf", browser, action).hex()

    def browser(self, request: web.Request) -> str | None:
        value = request.cookies.get(BROWSER_COOKIE, "")
        return value if 20 <= len(value) <= 64 else None

    def ensure_browser(self, request: web.Request) -> tuple[str, bool]:
        """The browser's id, and whether it is new (so the response must set the cookie)."""
        existing = self.browser(request)
        return (existing, False) if existing else (secrets.token_urlsafe(24), True)

    def set_browser(self, response: web.StreamResponse, browser: str) -> None:
        # Lax, not Strict: the provider's redirect back to us is a cross-site navigation.
        response.set_cookie(
            BROWSER_COOKIE,
            browser,
            path="/verify",
            httponly=True,
            samesite="Lax",
            secure=self.secure_cookie,
        )

    async def checked_form(self, request: web.Request) -> tuple[str, dict[str, str]]:
        """The browser id and form fields of a POST that passed the CSRF checks."""
        origin = request.headers.get("Origin")
        if origin is not None and origin != self.origin:
            raise FormRejected("This form must be sent from the verification page.")
        browser = self.browser(request)
        if browser is None:
            raise FormRejected(
                "Your browser did not send this site's cookie. Allow cookies for this site,"
                " then open the link from the chat again."
            )
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        expected = self.csrf(browser, request.path)
        if not hmac.compare_digest(form.get("csrf", ""), expected):
            raise FormRejected(
                "This form has expired or did not come from this page. Open the link from the"
                " chat again."
            )
        return browser, form


class FormRejected(Exception):
    """A POST failed the cross-site checks; nothing was done. The message is for the person."""


@web.middleware
async def _friendly_failures(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except FormRejected as exc:
        log.info("refused a form post to %s: %s", request.path, exc)
        return _pages(request).failure(str(exc), status=403)
    except web.HTTPException:
        raise
    except Exception:
        # A bug or an outage must still end in a page a person understands.
        log.exception("web request %s %s failed", request.method, request.path)
        return _pages(request).failure(
            "Something went wrong on our side. Please try again in a few minutes; if it keeps"
            " happening, tell a moderator.",
            status=500,
        )


def _link_status(error: LinkError) -> int:
    return 400 if error.problem is LinkProblem.TAMPERED else 410


def _pages(request: web.Request) -> Pages:
    return request.app[PAGES_KEY]


def _service(request: web.Request) -> VerificationService:
    service = request.app[SERVICE_KEY]
    if service is None:
        raise web.HTTPNotFound(text="Identity checks are not configured on this bot.")
    return service


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


async def link_page(request: web.Request) -> web.Response:
    pages, service = _pages(request), _service(request)
    token = request.match_info["token"]
    try:
        page = await service.open_link(token)
    except LinkError as exc:
        return pages.failure(str(exc), status=_link_status(exc))
    browser, new = pages.ensure_browser(request)
    response = _render_link(pages, request.path, browser, page_values(page))
    if new:
        pages.set_browser(response, browser)
    return response


def page_values(page: LinkPage) -> dict[str, Any]:
    claims = page.claims
    return {
        "account": claims.account,
        "network_name": NETWORK_NAMES.get(claims.network, claims.network),
        "community": page.community_name,
        "expires": f"{claims.expires_at:%Y-%m-%d %H:%M}",
        "methods": page.methods,
    }


def _render_link(
    pages: Pages,
    path: str,
    browser: str,
    values: dict[str, Any],
    *,
    problem: str = "",
    address: str = "",
    status: int = 200,
) -> web.Response:
    return pages.render(
        "link.html",
        status=status,
        title="Verify your account",
        action=path,
        csrf=pages.csrf(browser, path),
        problem=problem,
        address=address,
        **values,
    )


async def start_method(request: web.Request) -> web.StreamResponse:
    pages, service = _pages(request), _service(request)
    browser, form = await pages.checked_form(request)
    token = request.match_info["token"]
    address = form.get("address", "")[:320]
    try:
        started = await service.start(
            token, form.get("method", ""), browser=browser, address=address or None
        )
    except LinkError as exc:
        return pages.failure(str(exc), status=_link_status(exc))
    except VerificationFailed as exc:
        log.info("could not start a check: %s (%s)", exc.reason, exc.detail)
        try:  # the link is still good: show the choices again with the problem
            page = await service.open_link(token)
        except LinkError:
            return pages.failure(str(exc))
        return _render_link(
            pages,
            request.path,
            browser,
            page_values(page),
            problem=str(exc),
            address=address,
            status=400,
        )
    if isinstance(started, Redirect):
        raise web.HTTPSeeOther(started.url)
    if isinstance(started, CodeSent):
        return _code_page(pages, started, browser)
    return pages.result(started)


def _code_page(pages: Pages, sent: CodeSent, browser: str) -> web.Response:
    action = f"/verify/code/{sent.check_id}"
    resend = f"{action}/resend"
    return pages.render(
        "code.html",
        status=400 if sent.problem else 200,
        title="Enter your code",
        message=sent.message,
        problem=sent.problem,
        action=action,
        csrf=pages.csrf(browser, action),
        resend_action=resend,
        resend_csrf=pages.csrf(browser, resend),
    )


async def code_page(request: web.Request) -> web.Response:
    pages, service = _pages(request), _service(request)
    browser = pages.browser(request)
    check_id = request.match_info["check"]
    if browser is None or not await service.code_page_open(check_id, browser):
        return pages.failure(str(StaleCheck("code page")), status=410)
    return _code_page(pages, CodeSent(check_id, ""), browser)


async def submit_code(request: web.Request) -> web.Response:
    pages, service = _pages(request), _service(request)
    browser, form = await pages.checked_form(request)
    try:
        outcome = await service.submit_code(
            request.match_info["check"], form.get("code", "")[:32], browser=browser
        )
    except StaleCheck as exc:
        return pages.failure(str(exc), status=410)
    if isinstance(outcome, CodeSent):
        return _code_page(pages, outcome, browser)
    return pages.result(outcome)


async def resend_code(request: web.Request) -> web.Response:
    pages, service = _pages(request), _service(request)
    browser, form = await pages.checked_form(request)
    check_id = request.match_info["check"]
    try:
        sent = await service.resend_code(check_id, form.get("address", "")[:320], browser=browser)
    except StaleCheck as exc:
        return pages.failure(str(exc), status=410)
    except VerificationFailed as exc:
        return _code_page(pages, CodeSent(check_id, str(exc), problem=True), browser)
    return _code_page(pages, sent, browser)


async def oidc_callback(request: web.Request) -> web.Response:
    pages, service = _pages(request), _service(request)
    browser = pages.browser(request)
    if browser is None:
        return pages.failure(str(StaleCheck("callback without the browser cookie")))
    params = {k: v for k, v in request.query.items()}
    try:
        result = await service.oidc_callback(params, browser=browser)
    except VerificationFailed as exc:
        log.info("OpenID callback refused: %s (%s)", exc.reason, exc.detail)
        return pages.failure(str(exc))
    return pages.result(result)


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
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"


def create_app(core: BotCore, service: VerificationService | None) -> web.Application:
    app = web.Application(client_max_size=64 * 1024, middlewares=[_friendly_failures])
    app[CORE_KEY] = core
    app[SERVICE_KEY] = service
    app[PAGES_KEY] = Pages(core, service)
    token = r"{token:[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+}"
    check = r"{check:[A-Za-z0-9_\-]{20,64}}"
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/verify/assets/style.css", style)
    app.router.add_get("/verify/oidc/callback", oidc_callback)
    app.router.add_get(f"/verify/code/{check}", code_page)
    app.router.add_post(f"/verify/code/{check}", submit_code)
    app.router.add_post(f"/verify/code/{check}/resend", resend_code)
    app.router.add_get(f"/verify/{token}", link_page)
    app.router.add_post(f"/verify/{token}", start_method)
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
