"""The admins' dashboard in a real Chromium, as an admin uses it: the link from the `dashboard`
command, the figures of a seeded database read as text and by a screen reader, a policy changed
from the form (and really stored and applied), problems at their field, refusals in words, and
the page with the keyboard alone, without JavaScript and on a 320 px phone.

The seed is tests/integration/dashboard/harness.py's: 12 of the Garden's 40 members verified
here, filters off 3 / replies 5 / all 2, 13 items held in the last 30 days, 3 open reports
(2 overdue, 1 urgent). Screenshots: tests/artifacts/browser/<test>/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Request

from bot.model import UnverifiedPolicy
from bot.storage.records import CommunityPolicies
from bot.storage.repo import Store
from tests.browser import axe
from tests.browser.admin import (
    PLACE_FIELD,
    SET_BUTTON,
    SIGN_IN_BUTTON,
    cookieless_admin,
    elsewhere,
    images,
    open_admin,
    origin_of,
    set_policy,
    sign_in,
    tab_to,
    table_rows,
)
from tests.browser.conftest import finish
from tests.browser.member import Member
from tests.integration.dashboard.harness import (
    ADMIN,
    FILTERS,
    HELD_DAYS,
    MEMBERS,
    NEWS,
    NOW,
    SPACE,
    VERIFIED_DAYS,
    Site,
    running,
)

TITLE = "Dashboard of The Garden"
READ_ONLY_NOTICE = (
    "The policy for the room News is now read only: unverified members can read but not post."
)
VERIFIED_CHART = "Members verified here, day by day"
FILTER_CHART = "Filter levels members chose"
HELD_CHART = "Items held per day"
CHARTS = sorted([VERIFIED_CHART, FILTER_CHART, HELD_CHART])
AUDITED = "policy set · by @admin:hs · read_only for the room News"


@pytest.fixture
async def garden(store: Store) -> AsyncIterator[Site]:
    """The bot with its dashboard on loopback and the seeded Garden."""
    async with running(store) as site:
        yield site


@pytest.fixture
async def admin(
    chromium: Browser, garden: Site, request: pytest.FixtureRequest
) -> AsyncIterator[Member]:
    """The Garden's admin at a 1024 px wide browser window."""
    person = await open_admin(chromium, garden, request.node.name)
    yield person
    await finish(person)


def label(when: date) -> str:
    """A day as the charts' tables name it ("12 Nov")."""
    return f"{when.day} {when:%b}"


def last_30_days() -> list[date]:
    return [NOW.date() - timedelta(days=back) for back in range(29, -1, -1)]


def verified_by_day() -> dict[str, int]:
    """How many of the seeded members had been verified by the end of each day."""
    checked = [(NOW - timedelta(days=back)).date() for back in VERIFIED_DAYS]
    return {label(d): sum(c <= d for c in checked) for d in last_30_days()}


def held_by_day() -> dict[str, int]:
    held = {(NOW - timedelta(days=back, hours=1)).date(): n for back, n in HELD_DAYS.items()}
    return {label(d): held.get(d, 0) for d in last_30_days()}


async def stored_nothing(site: Site) -> None:
    assert await site.core.store.get_policies(SPACE) == CommunityPolicies()
    assert not [call for call in site.adapter.calls if call[0] == "apply_policy"]
    await site.core.audit.flush()
    entries = await site.core.store.list_audit(community_id=SPACE.id, network="matrix")
    assert not [entry for entry in entries if entry.action == "policy_set"]


async def test_the_link_from_the_command_signs_the_admin_in(admin: Member, garden: Site) -> None:
    answer = await garden.command("dashboard")
    assert "Here is your private link to the dashboard of The Garden." in answer
    link = next(word for word in answer.split() if "/dashboard/signin/" in word)
    await admin.open(link, "sign-in page")
    assert admin.page.url == f"{garden.base_url}/dashboard/signin"  # the token left the address
    assert "The Garden" in await admin.text() and ADMIN.id in await admin.text()
    await admin.press(SIGN_IN_BUTTON, "dashboard")
    assert await admin.page.title() == f"{TITLE} · verifybot"
    assert await admin.heading() == TITLE
    assert f"Signed in as {ADMIN.id}, an admin of The Garden on Matrix." in await admin.text()


async def test_the_figures_read_as_text_and_to_a_screen_reader(admin: Member, garden: Site) -> None:
    asked: list[Request] = []

    def record(request: Request) -> None:
        asked.append(request)

    admin.page.on("request", record)
    await sign_in(admin, garden)
    page = admin.page
    # what everyone sees
    assert await page.locator("#verified-now").inner_text() == (
        f"12 of {MEMBERS} members (30%) are verified here."
    )
    text = await admin.text()
    assert "Members who chose each filter level: off 3, replies 5, all 2." in text
    assert "13 items held in the last 30 days." in text
    assert "The most in one day was 7, on 12 Nov 2026." in text
    for key, count in (("open", 3), ("overdue", 2), ("urgent", 1)):
        assert await page.locator(f"#reports-{key}").inner_text() == str(count)
        assert await page.locator(f"#reports-{key}").is_visible()
    assert "The power levels of News (#news:hs) take 60000 bytes" in text
    # what a screen reader is given: each chart an image, named by its title, described in words
    charts = await images(page)
    assert sorted(charts) == CHARTS, charts
    assert charts[VERIFIED_CHART].endswith(": 4 on the first day, 12 today.")
    assert charts[FILTER_CHART] == "Members who chose each filter level: off 3, replies 5, all 2."
    assert charts[HELD_CHART].endswith(": 13 in all. The most in one day was 7, on 12 Nov 2026.")
    # ... and the numbers behind each chart, in a table it can walk through
    assert await table_rows(page, VERIFIED_CHART) == verified_by_day()
    assert await table_rows(page, HELD_CHART) == held_by_day()
    assert await table_rows(page, FILTER_CHART) == {
        level.value: count for level, count in FILTERS.items()
    }
    # nothing was asked of anyone but the bot itself
    assert {r.resource_type for r in asked} >= {"document", "stylesheet"}
    assert {origin_of(r.url) for r in asked} == {garden.base_url}, [r.url for r in asked]


async def test_without_javascript_the_figures_show_and_the_form_works(
    chromium: Browser, garden: Site, request: pytest.FixtureRequest
) -> None:
    admin = await open_admin(chromium, garden, request.node.name, javascript=False)
    try:
        await sign_in(admin, garden)
        text = await admin.text()
        assert "12 of 40 members (30%) are verified here." in text
        assert "13 items held in the last 30 days." in text
        assert sorted(await images(admin.page)) == CHARTS
        await set_policy(admin, "News", "read only", "policy set without javascript")
        assert await admin.page.locator("#notice").inner_text() == READ_ONLY_NOTICE
        stored = await garden.core.store.get_policies(SPACE)
        assert stored.channels == {NEWS.id: UnverifiedPolicy.READ_ONLY}
    finally:
        await finish(admin)


async def test_a_policy_set_from_the_form_is_stored_applied_and_audited(
    admin: Member, garden: Site
) -> None:
    await sign_in(admin, garden)
    policies = admin.page.locator("ul.policies")
    assert await policies.inner_text() == (
        "Whole community: open: unverified members take part like everyone else"
    )
    await set_policy(admin, "News", "read only", "policy set")
    assert await admin.heading() == TITLE
    notice = admin.page.get_by_role("status")
    assert await notice.inner_text() == READ_ONLY_NOTICE
    assert "Room News: read only: unverified members can read but not post" in (
        await policies.inner_text()
    )
    # the core stored it, applied it with the network's own tools, and wrote it down
    assert (await garden.core.store.get_policies(SPACE)).channels == {
        NEWS.id: UnverifiedPolicy.READ_ONLY
    }
    assert [args for name, args in garden.adapter.calls if name == "apply_policy"] == [
        (NEWS, UnverifiedPolicy.READ_ONLY)
    ]
    assert AUDITED in await admin.page.locator("ol.audit").inner_text()
    # what the bot now decides for an unverified member there
    sources = await garden.core.policy_sources(SPACE)
    assert sources.own_channel_policy([NEWS.id]) is UnverifiedPolicy.READ_ONLY


async def test_an_unknown_room_is_shown_at_its_field(admin: Member, garden: Site) -> None:
    await sign_in(admin, garden)
    await set_policy(admin, "Nowhere", "read only", "unknown room")
    focused = await admin.focused()
    assert (focused["id"], focused["invalid"]) == ("place", "true")
    assert focused["described"].startswith("Name it as you would for the policy command.")
    assert "There is no room “Nowhere” in The Garden that I know of." in focused["described"]
    problem = admin.page.get_by_role("alert")
    assert await problem.count() == 1 and "Nowhere" in await problem.inner_text()
    assert await admin.page.get_by_label(PLACE_FIELD).input_value() == "Nowhere"
    assert await admin.page.get_by_label(
        "read only: unverified members can read but not post"
    ).is_checked()  # the choice is kept for the second try
    await stored_nothing(garden)


async def test_the_link_works_once(admin: Member, garden: Site) -> None:
    link = await sign_in(admin, garden)
    await admin.open(link, "link used again")
    assert await admin.page.title() == "Link already used · verifybot"
    assert "Run the dashboard command in your community" in await admin.text()


async def test_a_browser_without_cookies_is_told_what_to_do(
    chromium: Browser, garden: Site, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with cookieless_admin(chromium, garden, request.node.name, tmp_path) as admin:
        await admin.open(await garden.link(), "link without cookies")
        assert await admin.page.title() == "Open the link from the chat · verifybot"
        assert "opened in this browser with cookies allowed" in await admin.text()
        await admin.open(f"{garden.base_url}/dashboard", "dashboard without cookies")
        assert await admin.heading() == "Not signed in"
        assert await admin.context.cookies() == []
    [row] = await garden.core.store.pending_of_member(ADMIN)
    assert row.used_at is None  # the link is still good in a browser that keeps cookies


async def test_a_form_posted_from_another_site_changes_nothing(admin: Member, garden: Site) -> None:
    await sign_in(admin, garden)
    form = admin.page.locator('form[action="/dashboard/policy"]')
    fields = {
        name: await form.locator(f'input[name="{name}"]').input_value()
        for name in ("csrf", "community")
    }
    fields |= {"place": NEWS.id, "level": "read_only"}  # even with the page's own token
    async with elsewhere(f"{garden.base_url}/dashboard/policy", fields) as prize:
        await admin.open(prize, "another site")
        await admin.press("Claim it", "form from another site")
    assert await admin.page.title() == "Form refused · verifybot"
    assert "nothing was changed" in await admin.text()
    await stored_nothing(garden)


async def test_axe_passes_on_the_sign_in_page_and_the_dashboard(
    admin: Member, garden: Site
) -> None:
    await admin.open(await garden.link(), "sign-in page")
    assert await axe.violations(admin.page) == []
    await admin.press(SIGN_IN_BUTTON, "dashboard")
    assert await axe.violations(admin.page) == []
    await admin.page.emulate_media(color_scheme="dark")
    await admin.seen("dashboard, dark")
    assert await axe.violations(admin.page) == []
    await set_policy(admin, "Nowhere", "limited", "problem, dark")  # seen() runs axe here too


async def test_the_policy_by_keyboard_alone(admin: Member, garden: Site) -> None:
    await admin.open(await garden.link(), "sign-in page")
    await tab_to(admin, button=SIGN_IN_BUTTON)
    await admin.key("Enter", "dashboard")
    await tab_to(admin, element_id="place")
    await admin.page.keyboard.type("news")
    await admin.page.keyboard.press("Tab")  # into the choices, on the one in force (open)
    assert (await admin.focused())["id"] == "level-open"
    for _ in range(2):  # open → limited → read only: arrows move within one set of choices
        await admin.page.keyboard.press("ArrowDown")
    await admin.page.keyboard.press("Space")
    assert (await admin.focused())["id"] == "level-read_only"
    assert await admin.page.locator("#level-read_only").is_checked()
    await tab_to(admin, button=SET_BUTTON, limit=1)
    await admin.key("Enter", "policy set by keyboard")
    assert await admin.page.get_by_role("status").inner_text() == READ_ONLY_NOTICE
    assert (await garden.core.store.get_policies(SPACE)).channels == {
        NEWS.id: UnverifiedPolicy.READ_ONLY
    }


async def test_a_320_px_phone_scrolls_only_down(
    chromium: Browser, garden: Site, request: pytest.FixtureRequest
) -> None:
    admin = await open_admin(chromium, garden, request.node.name, width=320)
    try:
        await sign_in(admin, garden)
        for what in ("dashboard", "problem"):
            sizes = await admin.page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert sizes[0] <= sizes[1], f"{what}: {sizes[0]} px wide in a {sizes[1]} px window"
            for chart in await admin.page.locator("svg.chart").all():
                box = await chart.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
            if what == "dashboard":
                await set_policy(admin, "Nowhere", "read only", "problem on a phone")
    finally:
        await finish(admin)
