"""The dashboard's pages: sign in with the one-time link, see the figures, set a policy.

* GET /dashboard/signin/<token> checks the link without using it (chat clients fetch links for
  previews), keeps it in a short cookie for /dashboard/signin and redirects there, so the token
  leaves the address bar and the history;
* GET /dashboard/signin offers "Open the dashboard"; its POST uses the link up (once, in the
  database), sets the session cookie and redirects to /dashboard;
* GET /dashboard is the page; POST /dashboard/policy and /dashboard/signout its forms.

Forms are refused from another Origin (`null` included) and without the CSRF token bound to the
session (or, to sign in, to the link). Every request re-asks the network whether the account is
still an admin where it can tell. Logs name the community and the route, never the account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import web

from bot.adapters.base import ChatAdapter, CommunityFacts
from bot.messages import in_words
from bot.model import ChannelRef, CommunityRef, Role, UnverifiedPolicy
from bot.verification.identity import same
from bot.verification.links import LinkError, LinkProblem
from bot.web.dashboard import words
from bot.web.dashboard.access import (
    DashboardAccess,
    DashboardUnavailable,
    Session,
    community_name,
)
from bot.web.dashboard.figures import gather, place_name
from bot.web.keys import CORE_KEY, PAGES_KEY
from bot.web.pages import TEMPLATES, Pages
from cogs.admin import Admin, PolicyChange

log = logging.getLogger(__name__)

DASHBOARD_KEY: web.AppKey[DashboardAccess] = web.AppKey("dashboard")
SESSION_COOKIE: Final = "verifybot_dashboard"
SIGNIN_COOKIE: Final = "verifybot_signin"
HOME: Final = "/dashboard"
SIGNIN: Final = "/dashboard/signin"
POLICY: Final = "/dashboard/policy"
SIGNOUT: Final = "/dashboard/signout"
STYLE: Final = (TEMPLATES / "dashboard.css").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class SignedIn:
    session: Session
    adapter: ChatAdapter
    role_checked: bool  # the network confirmed the admin role just now


def _parts(request: web.Request) -> tuple[DashboardAccess, Pages]:
    return request.app[DASHBOARD_KEY], request.app[PAGES_KEY]


def _refused(pages: Pages, reason: str, status: int) -> web.Response:
    title, message = words.REFUSALS[reason]
    return pages.render(
        "dashboard_result.html", status=status, title=title, message=message, ok=False
    )


def _cookie(
    response: web.StreamResponse, pages: Pages, name: str, value: str, **where: Any
) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="Lax", secure=pages.secure_cookie, **where
    )


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def community_key(community: CommunityRef) -> str:
    return f"{community.network}:{community.id}"


# --- signing in -----------------------------------------------------------------------------------


async def open_link(request: web.Request) -> web.Response:
    access, pages = _parts(request)
    token = request.match_info["token"]
    try:
        claims = await access.check(token)
    except LinkError as exc:
        return _refused(pages, exc.problem, 400 if exc.problem is LinkProblem.TAMPERED else 410)
    response = _see_other(SIGNIN)
    left = (claims.expires_at - request.app[CORE_KEY].clock()).total_seconds()
    _cookie(response, pages, SIGNIN_COOKIE, token, path=SIGNIN, max_age=max(1, int(left)))
    return response


async def signin_page(request: web.Request) -> web.Response:
    access, pages = _parts(request)
    token = request.cookies.get(SIGNIN_COOKIE, "")
    if not token:
        return _refused(pages, "no_link", 400)
    try:
        claims = await access.check(token)
    except LinkError as exc:
        response = _refused(pages, exc.problem, 410)
        response.del_cookie(SIGNIN_COOKIE, path=SIGNIN)
        return response
    core = request.app[CORE_KEY]
    adapter = core.adapters.get(claims.network)
    if adapter is None:
        return _refused(pages, "unavailable", 503)
    now = core.clock()
    return pages.render(
        "dashboard_signin.html",
        title="Open the dashboard",
        community=community_name(core.config, adapter, claims.community),
        account=claims.account,
        expires_in=in_words(claims.expires_at, now),
        action=SIGNIN,
        csrf=access.csrf(token, SIGNIN),
    )


async def sign_in(request: web.Request) -> web.Response:
    access, pages = _parts(request)
    if not _same_origin(request, pages):
        return _refused(pages, "cross_site", 403)
    token = request.cookies.get(SIGNIN_COOKIE, "")
    if not token:
        return _refused(pages, "no_link", 400)
    if await _form(request, access, token) is None:
        return _refused(pages, "form_expired", 403)
    try:
        session = await access.sign_in(token)
    except LinkError as exc:
        response = _refused(pages, exc.problem, 410)
        response.del_cookie(SIGNIN_COOKIE, path=SIGNIN)
        return response
    log.info("an admin signed in to the dashboard of %s", session.community.id)
    response = _see_other(HOME)
    hours = int(access.session_length.total_seconds())
    _cookie(response, pages, SESSION_COOKIE, access.cookie(session), path=HOME, max_age=hours)
    response.del_cookie(SIGNIN_COOKIE, path=SIGNIN)
    return response


# --- the signed-in pages --------------------------------------------------------------------------


def _same_origin(request: web.Request, pages: Pages) -> bool:
    """A missing Origin goes on to the token check (older clients omit it); any other origin
    than ours, `null` included, is refused before the form is read."""
    origin = request.headers.get("Origin")
    return origin is None or origin == pages.origin


async def _form(
    request: web.Request, access: DashboardAccess, bound_to: str
) -> dict[str, str] | None:
    """The form's fields, if its CSRF token is the one for `bound_to` and this address."""
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    return form if same(form.get("csrf", ""), access.csrf(bound_to, request.path)) else None


async def _signed_in(request: web.Request) -> SignedIn | web.Response:
    """The session, once the network (where it can tell) still shows its account as an admin."""
    access, pages = _parts(request)
    session = access.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return _refused(pages, "signed_out", 401)
    adapter = request.app[CORE_KEY].adapters.get(session.community.network)
    if adapter is None:
        return _refused(pages, "unavailable", 503)
    role = (
        adapter.role_of(session.community, session.admin)
        if isinstance(adapter, CommunityFacts)
        else None
    )
    if role is not None and role < Role.ADMIN:
        log.info("a dashboard session of %s ended: no longer an admin", session.community.id)
        response = _refused(pages, "not_admin", 403)
        response.del_cookie(SESSION_COOKIE, path=HOME)
        return response
    return SignedIn(session, adapter, role_checked=role is not None)


async def home(request: web.Request) -> web.Response:
    who = await _signed_in(request)
    if isinstance(who, web.Response):
        return who
    return await _page(request, who, notice=await _notice(request, who))


async def _notice(request: web.Request, who: SignedIn) -> str:
    """After a policy was set (the redirect's query names where), what the command would say."""
    if "set" not in request.query:
        return ""
    community = who.session.community
    sources = await request.app[CORE_KEY].policy_sources(community)
    channel_id = request.query["set"][:255]
    if channel_id:
        level = sources.own_channel_policy([channel_id])
        where = "the " + place_name(who.adapter, ChannelRef(community, channel_id))
    else:
        level, where = sources.community_policy(), "the whole community"
    if level is None:
        return ""
    return PolicyChange(where, level, request.query.get("applied") == "1").words()


async def _page(
    request: web.Request,
    who: SignedIn,
    *,
    status: int = 200,
    notice: str = "",
    problem: str = "",
    problem_at: str = "",
    place: str = "",
    chosen: str = "",
) -> web.Response:
    access, pages = _parts(request)
    core = request.app[CORE_KEY]
    session = who.session
    now: datetime = core.clock()
    figures = await gather(core, who.adapter, session.community, now)
    chosen = chosen or figures.community_policy.value
    return pages.render(
        "dashboard.html",
        status=status,
        title=f"Dashboard of {figures.community_name}",
        f=figures,
        account=session.admin.id,
        until=in_words(session.expires_at, now),
        role_note="" if who.role_checked else words.ROLE_NOTE,
        notice=notice,
        problem=problem,
        problem_at=problem_at,
        place=place,
        levels=[(p.value, p.describe(), p.value == chosen) for p in UnverifiedPolicy],
        community_key=community_key(session.community),
        policy_action=POLICY,
        policy_csrf=access.csrf(session.sid, POLICY),
        signout_action=SIGNOUT,
        signout_csrf=access.csrf(session.sid, SIGNOUT),
    )


async def set_policy(request: web.Request) -> web.Response:
    """The `policy` command's change, from the page: the same function, audit entry and
    native enforcement (`Admin.change_policy`)."""
    access, pages = _parts(request)
    if not _same_origin(request, pages):
        return _refused(pages, "cross_site", 403)
    who = await _signed_in(request)
    if isinstance(who, web.Response):
        return who
    form = await _form(request, access, who.session.sid)
    if form is None:
        return _refused(pages, "form_expired", 403)
    community = who.session.community
    if form.get("community") != community_key(community):
        return _refused(pages, "other_community", 403)
    typed = form.get("place", "").strip()[:200]
    chosen = form.get("level", "")
    channel = who.adapter.parse_channel(typed, community) if typed else None
    if typed and channel is None:
        word = who.adapter.capabilities.channel_word
        name = community_name(request.app[CORE_KEY].config, who.adapter, community)
        problem = words.unknown_place(word, typed, name)
        return await _page(
            request,
            who,
            status=400,
            problem=problem,
            problem_at="place",
            place=typed,
            chosen=chosen,
        )
    try:
        level = UnverifiedPolicy(chosen)
    except ValueError:
        return await _page(
            request, who, status=400, problem=words.LEVEL_PROBLEM, problem_at="level", place=typed
        )
    change = (
        await request.app[CORE_KEY]
        .cog(Admin)
        .change_policy(community, channel, level, by=who.session.admin)
    )
    log.info("policy %s set from the dashboard of %s", level.value, community.id)
    query = urlencode({"set": channel.id if channel else "", "applied": int(change.applied)})
    return _see_other(f"{HOME}?{query}")


async def sign_out(request: web.Request) -> web.Response:
    access, pages = _parts(request)
    if not _same_origin(request, pages):
        return _refused(pages, "cross_site", 403)
    session = access.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return _refused(pages, "signed_out", 401)
    if await _form(request, access, session.sid) is None:
        return _refused(pages, "form_expired", 403)
    response = pages.render(
        "dashboard_result.html", title=words.SIGNED_OUT_TITLE, message=words.SIGNED_OUT, ok=True
    )
    response.del_cookie(SESSION_COOKIE, path=HOME)
    return response


async def style(_request: web.Request) -> web.Response:
    return web.Response(text=STYLE, content_type="text/css")


def add_routes(app: web.Application) -> None:
    """The dashboard's routes, when the settings turn it on (`web.dashboard`, an identity key)."""
    core = app[CORE_KEY]
    try:
        app[DASHBOARD_KEY] = DashboardAccess.build(core.config, core.store, core.clock)
    except DashboardUnavailable as exc:
        log.info("the admins' dashboard is off: %s", exc)
        return
    token = r"{token:[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+}"
    app.router.add_get("/dashboard/assets/dashboard.css", style)
    app.router.add_get(f"{SIGNIN}/{token}", open_link)
    app.router.add_get(SIGNIN, signin_page)
    app.router.add_post(SIGNIN, sign_in)
    app.router.add_get(HOME, home)
    app.router.add_post(POLICY, set_policy)
    app.router.add_post(SIGNOUT, sign_out)
