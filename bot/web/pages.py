"""Rendering the verification pages, and the per-browser pieces each form needs.

Each browser gets one random id in an HttpOnly, SameSite=Lax cookie scoped to /verify; a form's
CSRF token is a MAC of that id and the form's own address, so a token copied from one browser or
one form is worthless in another. A POST whose Origin header names another origin — or the
opaque `null` — is refused as well (see the referrer policy in bot/web/security.py).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bot.core import BotCore
from bot.model import MemberRef
from bot.verification.identity import same
from bot.verification.service import Result, VerificationService
from bot.verification.titles import failure_title

BROWSER_COOKIE: Final = "verifybot_browser"
TEMPLATES: Final = Path(__file__).parent / "templates"
STYLE: Final = (TEMPLATES / "style.css").read_text(encoding="utf-8")


class FormRejected(Exception):
    """A POST failed the cross-site checks; nothing was done. `reason` names the problem
    (bot/verification/titles.py turns it into the page title); `str()` is for the person."""

    MESSAGES: Final = {
        "cross_site": (
            "This form was not sent from the verification page, so nothing was done. Open the"
            " link from the chat and choose a way to verify on that page."
        ),
        "no_cookie": (
            "This page needs one cookie, which keeps every step of your check in the same"
            " browser, and your browser did not send it back, so nothing was done. Allow"
            " cookies for this site, then open the link from the chat again."
        ),
        "form_expired": (
            "This form is out of date or did not come from this site, so nothing was done."
            " Open the link from the chat again."
        ),
    }

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGES[reason])
        self.reason = reason


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
            profile_offer=result.ok and self.offers_profile_badge(result.member),
        )

    def offers_profile_badge(self, member: MemberRef | None) -> bool:
        """A Discord member just verified, and the bot can put the badge on their profile."""
        adapter = self.core.adapters.get("discord") if member is not None else None
        return (
            member is not None
            and member.network == "discord"
            and (getattr(adapter, "profile_badges", None) is not None)
        )

    def failure(self, title: str, message: str, status: int = 400) -> web.Response:
        """An ending that went wrong; `title` names the problem (see titles.py)."""
        return self.render(
            "result.html",
            status=status,
            title=title,
            ok=False,
            message=message,
            profile_offer=False,
        )

    def rejected(self, exc: FormRejected) -> web.Response:
        self.core.metrics.form_refused(exc.reason)
        return self.failure(failure_title(exc.reason), str(exc), status=403)

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
        """The browser id and form fields of a POST that passed the cross-site checks.

        A missing Origin is let through to the token check (older clients omit it); any other
        Origin than ours, `null` included, is refused before the form is read.
        """
        origin = request.headers.get("Origin")
        if origin is not None and origin != self.origin:
            raise FormRejected("cross_site")
        browser = self.browser(request)
        if browser is None:
            raise FormRejected("no_cookie")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        expected = self.csrf(browser, request.path)
        if not same(form.get("csrf", ""), expected):
            raise FormRejected("form_expired")
        return browser, form
