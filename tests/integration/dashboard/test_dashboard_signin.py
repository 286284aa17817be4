"""Signing in to the dashboard: only admins get a link, the link works once and for minutes,
and the session cookie after it is ours, for one community, and ends."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.model import CommunityRef, MemberRef, Role
from bot.storage.repo import Store
from bot.web.dashboard.access import DashboardAccess, Session
from tests.integration.dashboard.harness import (
    ADMIN,
    ALICE,
    LOUNGE,
    NOW,
    SPACE,
    Site,
    csrf_of,
    running,
)


async def test_only_an_admin_gets_a_link_and_it_is_stored_first(site: Site) -> None:
    answer = await site.command("dashboard", member=ALICE, role=Role.MODERATOR)
    assert answer == "Only an admin can run !dashboard."
    assert await site.core.store.pending_of_member(ALICE) == []
    answer = await site.command("dashboard")
    assert "It works once and expires in 5 minutes:" in answer
    assert "Do not share this link." in answer
    [row] = await site.core.store.pending_of_member(ADMIN)
    assert (row.method, row.community, row.used_at) == ("dashboard", SPACE, None)
    assert row.expires_at == NOW + timedelta(minutes=5)


async def test_the_link_signs_in_once_and_leaves_no_token_in_the_address(site: Site) -> None:
    link = await site.link()
    token = link.rsplit("/", 1)[1]
    status, page, response = await site.get(link)
    assert (status, response.headers["Location"]) == (303, "/dashboard/signin")
    status, page, _ = await site.get("/dashboard/signin")
    assert status == 200 and "The Garden" in page and ADMIN.id in page
    assert token not in page
    status, page, response = await site.post("/dashboard/signin", {"csrf": csrf_of(page)})
    assert (status, response.headers["Location"]) == (303, "/dashboard")
    cookie = response.cookies["verifybot_dashboard"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/dashboard"
    assert not cookie["secure"]  # http here; https base URLs get Secure
    status, page, _ = await site.get("/dashboard")
    assert status == 200 and "<h1>Dashboard of The Garden</h1>" in page
    [row] = await site.core.store.pending_of_member(ADMIN)
    assert row.used_at == NOW

    # the same link again, from the chat: refused in words, nothing changes
    site.browser.cookie_jar.clear()
    status, page, _ = await site.get(link)
    assert status == 410 and "<h1>Link already used</h1>" in page
    assert "Run the dashboard command" in page
    assert not [c for c in site.browser.cookie_jar if c.key == "verifybot_dashboard"]
    status, page, _ = await site.get("/dashboard")
    assert status == 401 and "<h1>Not signed in</h1>" in page


async def test_a_replayed_sign_in_form_is_refused(site: Site) -> None:
    link = await site.link()
    await site.get(link)
    _, page, _ = await site.get("/dashboard/signin")
    form = {"csrf": csrf_of(page)}
    status, _, response = await site.post("/dashboard/signin", form)
    assert status == 303 and response.cookies["verifybot_signin"].value == ""  # gone
    status, page, _ = await site.post("/dashboard/signin", form)
    assert status == 400 and "<h1>Open the link from the chat</h1>" in page
    # someone who copied the link's cookie and the form: the link is used up
    token = link.rsplit("/", 1)[1]
    site.browser.cookie_jar.clear()
    status, page, response = await site.post(
        "/dashboard/signin", form, cookies={"verifybot_signin": token}
    )
    assert status == 410 and "<h1>Link already used</h1>" in page
    assert "verifybot_dashboard" not in response.cookies


async def test_two_sign_ins_at_once_with_one_link_give_one_session(site: Site) -> None:
    """Single use is the database's conditional UPDATE, not a check in memory."""
    link = await site.link()
    token = link.rsplit("/", 1)[1]
    signer = DashboardAccess.build(site.core.config, site.core.store, site.clock)
    outcomes = await asyncio.gather(
        *(signer.sign_in(token) for _ in range(5)), return_exceptions=True
    )
    assert sum(isinstance(o, Session) for o in outcomes) == 1


async def test_an_expired_link_is_refused(site: Site) -> None:
    link = await site.link()
    site.clock.now += timedelta(minutes=5, seconds=1)
    status, page, _ = await site.get(link)
    assert status == 410 and "<h1>Link expired</h1>" in page
    [row] = await site.core.store.pending_of_member(ADMIN)
    assert row.used_at is None


async def test_an_expired_link_is_refused_at_the_button_too(site: Site) -> None:
    link = await site.link()
    await site.get(link)
    _, page, _ = await site.get("/dashboard/signin")
    site.clock.now += timedelta(minutes=6)
    status, page, response = await site.post("/dashboard/signin", {"csrf": csrf_of(page)})
    assert status == 410 and "<h1>Link expired</h1>" in page
    assert "verifybot_dashboard" not in response.cookies


async def test_tampered_links_and_verification_links_do_not_sign_in(site: Site) -> None:
    link = await site.link()
    _body, signature = link.rsplit("/", 1)[1].split(".")
    other = (await site.link(MemberRef("matrix", "@other:hs"))).rsplit("/", 1)[1].split(".")[0]
    status, page, _ = await site.get(f"/dashboard/signin/{other}.{signature}")
    assert status == 400 and "<h1>Link not valid</h1>" in page
    status, page, _ = await site.get("/dashboard/signin")
    assert status == 400 and "<h1>Open the link from the chat</h1>" in page


async def test_a_forged_or_foreign_session_cookie_is_refused(site: Site, store: Store) -> None:
    await site.sign_in()
    jar = site.browser.cookie_jar
    real = next(c.value for c in jar if c.key == "verifybot_dashboard")
    body, signature = real.split(".")
    for forged in (f"{body}.{signature[:-2]}AA", f"{body[:-4]}.{signature}", "nonsense", ""):
        status, page, _ = await site.get("/dashboard", cookies={"verifybot_dashboard": forged})
        assert status == 401 and "<h1>Not signed in</h1>" in page, forged
    # signed by another bot (another key): not ours
    async with running(store, seeded=False, hash_key="x" * 48) as elsewhere:
        theirs = elsewhere.access.cookie(session(SPACE))
    status, _, _ = await site.get("/dashboard", cookies={"verifybot_dashboard": theirs})
    assert status == 401
    # ours, but ended
    ended = site.access.cookie(session(SPACE, hours=-1))
    status, _, _ = await site.get("/dashboard", cookies={"verifybot_dashboard": ended})
    assert status == 401
    # ours, for another community: it opens that community's page only (see test_policy)
    status, page, _ = await site.get(
        "/dashboard", cookies={"verifybot_dashboard": site.access.cookie(session(LOUNGE))}
    )
    assert status == 200 and "<h1>Dashboard of The Lounge</h1>" in page


async def test_an_admin_no_longer_an_admin_is_signed_out(site: Site) -> None:
    await site.sign_in()
    site.adapter.roles[(SPACE, ADMIN)] = Role.MODERATOR
    status, page, response = await site.get("/dashboard")
    assert status == 403 and "<h1>Not an admin any more</h1>" in page
    assert response.cookies["verifybot_dashboard"].value == ""
    site.adapter.roles[(SPACE, ADMIN)] = Role.ADMIN
    status, page, _ = await site.get("/dashboard")
    assert status == 401  # the cookie went with the refusal
    await site.sign_in()
    status, page, _ = await site.get("/dashboard")
    assert status == 200 and "trusts your admin role" not in page


async def test_without_the_networks_word_the_page_says_it_trusts_the_sign_in(
    store: Store,
) -> None:
    async with running(store, facts=False) as plain:
        page = await plain.sign_in()
        assert "this page trusts your admin role as it was when you signed in" in page


async def test_sign_out_ends_the_session(site: Site) -> None:
    page = await site.sign_in()
    status, page, _ = await site.post("/dashboard/signout", {"csrf": csrf_of(page)})
    assert status == 200 and "<h1>Signed out</h1>" in page
    status, _, _ = await site.get("/dashboard")
    assert status == 401


async def test_the_dashboard_can_be_turned_off(store: Store) -> None:
    async with running(store, seeded=False, dashboard=False) as off:
        answer = await off.command("dashboard")
        assert "The dashboard is turned off" in answer
        status, _, _ = await off.get("/dashboard")
        assert status == 404


def session(community: CommunityRef, hours: float = 8) -> Session:
    return Session(community, ADMIN, NOW, NOW + timedelta(hours=hours), "sid-" + "x" * 20)
