"""Setting a policy from the dashboard is the `policy` command's change: stored, applied with
the network's own tools, written in the audit trail, told in the same words; and a form from
elsewhere, without its token or for another community changes nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.adapters.base import AdapterError
from bot.model import ChannelRef, CommunityRef, UnverifiedPolicy
from bot.storage.records import CommunityPolicies
from bot.web.dashboard.access import Session
from tests.integration.dashboard.harness import (
    ADMIN,
    LOUNGE,
    NEWS,
    NOW,
    SPACE,
    Site,
    policy_form,
)


def applied(site: Site) -> list[tuple[Any, UnverifiedPolicy]]:
    return [args for name, args in site.adapter.calls if name == "apply_policy"]


async def policy_entries(site: Site) -> list[Any]:
    await site.core.audit.flush()
    entries = await site.core.store.list_audit(community_id=SPACE.id, network="matrix")
    return [e for e in entries if e.action == "policy_set"]


async def nothing_changed(site: Site) -> None:
    assert await site.core.store.get_policies(SPACE) == CommunityPolicies()
    assert applied(site) == []
    assert await policy_entries(site) == []


async def test_a_rooms_policy_set_from_the_page(site: Site) -> None:
    page = await site.sign_in()
    status, back, _ = await site.post("/dashboard/policy", policy_form(page, NEWS.id, "x"))
    assert status == 400  # an unknown level: shown at the choice, nothing stored
    assert '<p id="level-problem" class="problem" role="alert">Choose one' in back
    await nothing_changed(site)
    status, _, response = await site.post(
        "/dashboard/policy", policy_form(page, NEWS.id, "read_only")
    )
    assert status == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/dashboard"
    assert parse_qs(location.query) == {"set": [NEWS.id], "applied": ["1"]}
    stored = await site.core.store.get_policies(SPACE)
    assert stored.channels == {NEWS.id: UnverifiedPolicy.READ_ONLY}
    assert applied(site) == [(NEWS, UnverifiedPolicy.READ_ONLY)]
    [entry] = await policy_entries(site)
    assert (entry.actor, entry.target, entry.detail) == (
        ADMIN.id,
        None,
        "read_only for the room News",
    )
    status, page, _ = await site.get(response.headers["Location"])
    said = (
        "The policy for the room News is now read only: unverified members can read but not post."
    )
    assert status == 200 and f'<p class="done" role="status" id="notice">{said}</p>' in page
    assert "<strong>Room News:</strong> read only" in page
    assert "policy set · by @admin:hs · read_only for the room News" in page


async def test_the_page_and_the_command_say_the_same(site: Site) -> None:
    page = await site.sign_in()
    _, _, response = await site.post("/dashboard/policy", policy_form(page, "", "limited"))
    _, page, _ = await site.get(response.headers["Location"])
    words = await site.command("policy", "limited")
    assert words == "The policy for the whole community is now " + (
        UnverifiedPolicy.LIMITED.describe() + "."
    )
    assert words.replace("'", "&#39;") in page
    assert [scope for scope, _ in applied(site)] == [SPACE, SPACE]
    assert len(await policy_entries(site)) == 2


async def test_a_policy_the_network_refused_is_saved_and_said_so(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AdapterError("my role is too low")

    monkeypatch.setattr(site.adapter, "apply_policy", refuse)
    page = await site.sign_in()
    _, _, response = await site.post("/dashboard/policy", policy_form(page, NEWS.id, "read_only"))
    assert parse_qs(urlsplit(response.headers["Location"]).query)["applied"] == ["0"]
    _, page, _ = await site.get(response.headers["Location"])
    assert "is saved as read only" in page and "Until then I enforce it myself." in page
    assert (await site.core.store.get_policies(SPACE)).channels == {
        NEWS.id: UnverifiedPolicy.READ_ONLY
    }


async def test_an_unknown_room_is_shown_at_its_field(site: Site) -> None:
    page = await site.sign_in()
    status, page, _ = await site.post(
        "/dashboard/policy", policy_form(page, "#nowhere", "read_only")
    )
    assert status == 400
    assert '<p id="place-problem" class="problem" role="alert">There is no room' in page
    assert 'aria-invalid="true" autofocus' in page and 'value="#nowhere"' in page
    await nothing_changed(site)


@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
async def test_a_form_from_another_origin_changes_nothing(site: Site, origin: str) -> None:
    page = await site.sign_in()
    status, page, _ = await site.post(
        "/dashboard/policy", policy_form(page, NEWS.id, "read_only"), headers={"Origin": origin}
    )
    assert status == 403 and "<h1>Form refused</h1>" in page
    await nothing_changed(site)


async def test_a_form_without_its_token_changes_nothing(site: Site) -> None:
    page = await site.sign_in()
    for token in ("", "0" * 64):
        form = {**policy_form(page, NEWS.id, "read_only"), "csrf": token}
        status, page_back, _ = await site.post(
            "/dashboard/policy", form, headers={"Origin": site.base_url}
        )
        assert status == 403 and "<h1>Form out of date</h1>" in page_back
    await nothing_changed(site)


async def test_a_form_for_another_community_changes_nothing(site: Site) -> None:
    garden = await site.sign_in()
    # signed in to the Lounge since (another tab): the Garden's form is stale
    lounge = site.access.cookie(Session(LOUNGE, ADMIN, NOW, NOW.replace(hour=20), "s" * 24))
    jar = {"verifybot_dashboard": lounge}
    form = policy_form(garden, NEWS.id, "read_only")
    status, page, _ = await site.post("/dashboard/policy", form, cookies=jar)
    assert status == 403 and "<h1>Form out of date</h1>" in page
    # even with that session's own token, a form naming the Garden is not the Lounge's
    form["csrf"] = site.access.csrf("s" * 24, "/dashboard/policy")
    status, page, _ = await site.post("/dashboard/policy", form, cookies=jar)
    assert status == 403 and "<h1>Form for another community</h1>" in page
    await nothing_changed(site)
    assert await site.core.store.get_policies(LOUNGE) == CommunityPolicies()


async def test_signed_out_forms_change_nothing(site: Site) -> None:
    page = await site.sign_in()
    form = policy_form(page, NEWS.id, "read_only")
    site.browser.cookie_jar.clear()
    status, page, _ = await site.post("/dashboard/policy", form)
    assert status == 401 and "<h1>Not signed in</h1>" in page
    await nothing_changed(site)
    assert ChannelRef(CommunityRef("matrix", SPACE.id), NEWS.id) == NEWS
