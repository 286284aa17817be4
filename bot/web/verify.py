"""The pages of an identity check: link -> choose a method -> (code | provider) -> result.

When something goes wrong the page says so where the person will act on it: an e-mail problem
inside the e-mail card or next to the address field, a code problem next to the code field; that
field (or the card's button) gets the focus, is described by the problem (`aria-describedby`),
and is marked `aria-invalid` when its value is the problem. The page title and heading name the
problem (bot/verification/titles.py). No JavaScript: `autofocus` moves the focus.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from aiohttp import web

from bot.messages import in_words
from bot.verification.links import LinkError, LinkProblem
from bot.verification.providers import VerificationFailed
from bot.verification.service import (
    CodeSent,
    LinkPage,
    Redirect,
    StaleCheck,
    VerificationService,
)
from bot.verification.titles import failure_title, link_title
from bot.web.keys import CORE_KEY, PAGES_KEY, SERVICE_KEY
from bot.web.pages import Pages

log = logging.getLogger(__name__)

NETWORK_NAMES: Final = {"matrix": "Matrix", "discord": "Discord"}
# Problems whose cause is the typed address itself (the field is marked invalid).
ADDRESS_REASONS: Final = frozenset({"address", "domain"})
# The web layer sees a code the service refused, but not why (wrong or expired); the message
# says which.
CODE_REFUSED_TITLE: Final = "Code not accepted"


def _pages(request: web.Request) -> Pages:
    return request.app[PAGES_KEY]


def _service(request: web.Request) -> VerificationService:
    service = request.app[SERVICE_KEY]
    if service is None:
        raise web.HTTPNotFound(text="Identity checks are not configured on this bot.")
    return service


def _link_failure(pages: Pages, error: LinkError) -> web.Response:
    status = 400 if error.problem is LinkProblem.TAMPERED else 410
    return pages.failure(link_title(error.problem), str(error), status=status)


def _stale(pages: Pages, error: StaleCheck, status: int = 410) -> web.Response:
    return pages.failure(failure_title(error.reason), str(error), status=status)


# --- the link page --------------------------------------------------------------------------------


async def link_page(request: web.Request) -> web.Response:
    request.app[CORE_KEY].metrics.web_page("link")
    pages, service = _pages(request), _service(request)
    token = request.match_info["token"]
    try:
        page = await service.open_link(token)
    except LinkError as exc:
        return _link_failure(pages, exc)
    browser, new = pages.ensure_browser(request)
    response = _render_link(pages, request.path, browser, page_values(page, service))
    if new:
        pages.set_browser(response, browser)
    return response


def page_values(page: LinkPage, service: VerificationService) -> dict[str, Any]:
    claims = page.claims
    return {
        "account": claims.account,
        "network_name": NETWORK_NAMES.get(claims.network, claims.network),
        "community": page.community_name,
        "expires_in": in_words(claims.expires_at, service.now()),
        "methods": page.methods,
    }


def _render_link(
    pages: Pages,
    path: str,
    browser: str,
    values: dict[str, Any],
    *,
    failed: VerificationFailed | None = None,
    method: str = "",
    address: str = "",
) -> web.Response:
    offered = {choice.name for choice in values["methods"]}
    return pages.render(
        "link.html",
        status=200 if failed is None else 400,
        title="Verify your account" if failed is None else failure_title(failed.reason),
        action=path,
        csrf=pages.csrf(browser, path),
        problem=str(failed) if failed else "",
        problem_method=method if method in offered else "",
        field_invalid=failed is not None and failed.reason in ADDRESS_REASONS,
        address=address,
        **values,
    )


async def start_method(request: web.Request) -> web.StreamResponse:
    request.app[CORE_KEY].metrics.web_page("choose")
    pages, service = _pages(request), _service(request)
    browser, form = await pages.checked_form(request)
    token = request.match_info["token"]
    method = form.get("method", "")
    address = form.get("address", "")[:320]
    try:
        started = await service.start(token, method, browser=browser, address=address or None)
    except LinkError as exc:
        return _link_failure(pages, exc)
    except VerificationFailed as exc:
        log.info("could not start a check: %s (%s)", exc.reason, exc.detail)
        try:  # the link is still good: show the choices again with the problem in its card
            page = await service.open_link(token)
        except LinkError:
            return pages.failure(failure_title(exc.reason), str(exc))
        values = page_values(page, service)
        return _render_link(
            pages, request.path, browser, values, failed=exc, method=method, address=address
        )
    if isinstance(started, Redirect):
        raise web.HTTPSeeOther(started.url)
    if isinstance(started, CodeSent):
        # The only problem when starting is a code that could not be sent: offer to resend.
        reason = (started.reason or "smtp") if started.problem else ""
        title = failure_title(reason) if reason else "Enter your code"
        return _code_page(pages, started, browser, title=title, reason=reason, address=address)
    return pages.result(started)


# --- the e-mail code pages ------------------------------------------------------------------------


def _code_page(
    pages: Pages,
    sent: CodeSent,
    browser: str,
    *,
    title: str = "Enter your code",
    problem_at: str = "address",
    reason: str = "",
    address: str = "",
) -> web.Response:
    """The code form and the resend form; a problem is shown at `problem_at`."""
    action = f"/verify/code/{sent.check_id}"
    resend = f"{action}/resend"
    where = problem_at if sent.problem else ""
    return pages.render(
        "code.html",
        status=400 if sent.problem else 200,
        title=title,
        message="" if sent.problem else sent.message,
        problem=sent.message if sent.problem else "",
        problem_at=where,
        field_invalid=reason in ADDRESS_REASONS,
        unsent=reason == "smtp",  # a failed send replaced the previous code too
        focus="address" if where == "address" else "code",
        address=address if where == "address" else "",
        action=action,
        csrf=pages.csrf(browser, action),
        resend_action=resend,
        resend_csrf=pages.csrf(browser, resend),
    )


async def code_page(request: web.Request) -> web.Response:
    request.app[CORE_KEY].metrics.web_page("email_code")
    pages, service = _pages(request), _service(request)
    browser = pages.browser(request)
    check_id = request.match_info["check"]
    if browser is None or not await service.code_page_open(check_id, browser):
        return _stale(pages, StaleCheck("code page"))
    return _code_page(pages, CodeSent(check_id, ""), browser)


async def submit_code(request: web.Request) -> web.Response:
    request.app[CORE_KEY].metrics.web_page("email_code_submit")
    pages, service = _pages(request), _service(request)
    browser, form = await pages.checked_form(request)
    try:
        outcome = await service.submit_code(
            request.match_info["check"], form.get("code", "")[:32], browser=browser
        )
    except StaleCheck as exc:
        return _stale(pages, exc)
    if isinstance(outcome, CodeSent):
        title = failure_title(outcome.reason) if outcome.reason else CODE_REFUSED_TITLE
        return _code_page(pages, outcome, browser, title=title, problem_at="code")
    return pages.result(outcome)


async def resend_code(request: web.Request) -> web.Response:
    request.app[CORE_KEY].metrics.web_page("email_code_resend")
    pages, service = _pages(request), _service(request)
    browser, form = await pages.checked_form(request)
    check_id = request.match_info["check"]
    address = form.get("address", "")[:320]
    try:
        sent = await service.resend_code(check_id, address, browser=browser)
    except StaleCheck as exc:
        return _stale(pages, exc)
    except VerificationFailed as exc:
        refused = CodeSent(check_id, str(exc), problem=True)
        title = failure_title(exc.reason)
        return _code_page(pages, refused, browser, title=title, reason=exc.reason, address=address)
    return _code_page(pages, sent, browser)


# --- coming back from the identity provider -------------------------------------------------------


async def oidc_callback(request: web.Request) -> web.Response:
    request.app[CORE_KEY].metrics.web_page("oidc_callback")
    pages, service = _pages(request), _service(request)
    # Without our cookie this is another browser: the service still uses the callback up (so
    # a leaked one can never be replayed), then refuses it.
    browser = pages.browser(request) or ""
    params = {k: v for k, v in request.query.items()}
    try:
        result = await service.oidc_callback(params, browser=browser)
    except VerificationFailed as exc:
        log.info("OpenID callback refused: %s (%s)", exc.reason, exc.detail)
        return pages.failure(failure_title(exc.reason), str(exc))
    return pages.result(result)


def add_routes(app: web.Application) -> None:
    token = r"{token:[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+}"
    check = r"{check:[A-Za-z0-9_\-]{20,64}}"
    app.router.add_get("/verify/oidc/callback", oidc_callback)
    app.router.add_get(f"/verify/code/{check}", code_page)
    app.router.add_post(f"/verify/code/{check}", submit_code)
    # after "Send a new code" the address bar shows .../resend; opening it again shows the form
    app.router.add_get(f"/verify/code/{check}/resend", code_page)
    app.router.add_post(f"/verify/code/{check}/resend", resend_code)
    app.router.add_get(f"/verify/{token}", link_page)
    app.router.add_post(f"/verify/{token}", start_method)
