"""The whole check through the bot's web pages: link -> method -> result -> badge.

The browser is a plain HTTP client with a cookie jar; the provider is the real node
oidc-provider, the mail server a real SMTP conversation. Attacks end with nothing stored.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.verification.identity import EMAIL_ISSUER, ServerKey
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.fixtures.smtp import SmtpCapture
from tests.integration.verification.forgeries import ATTACKS
from tests.integration.verification.harness import (
    ALICE,
    BOB,
    HASH_KEY,
    LOUNGE,
    SPACE,
    STRICT,
    Harness,
    csrf_of,
    form_action,
)

pytestmark = pytest.mark.oidc
KEY = ServerKey(HASH_KEY)


async def sign_in_via_web(
    h: Harness, provider: OidcTestProvider, login: str = "alice", link: str | None = None
) -> str:
    """From the link to the callback URL the provider sends the browser to (not yet fetched)."""
    status, body, response = await h.choose(link or await h.link(), "oidc")
    assert status == 303, body
    return await provider.sign_in(h.browser, response.headers["Location"], login=login)


async def test_oidc_check_grants_the_badge_where_the_level_is_accepted(
    harness: Harness, oidc_provider: OidcTestProvider
) -> None:
    h = harness
    callback = await sign_in_via_web(h, oidc_provider)
    status, page, _ = await h.get(callback)
    assert status == 200, page
    assert "You are verified" in page
    record = await h.verification(ALICE)
    assert (record.method, record.level) == ("oidc", "account")
    assert record.identity_hash == KEY.identity_hash(oidc_provider.issuer, "alice")
    # shown where `account` is accepted; not in the community that accepts only `identity`
    assert (ALICE, SPACE) in h.adapter.badges and (ALICE, LOUNGE) in h.adapter.badges
    assert (ALICE, STRICT) not in h.adapter.badges
    told = h.directs_to(ALICE)[-1]
    assert "now shows in The Garden and The Lounge" in told
    assert "Strict gives the badge only to members who sign in with Test ID and have it" in told


async def test_assurance_claim_earns_the_identity_level_everywhere(
    harness: Harness, oidc_provider: OidcTestProvider
) -> None:
    h = harness
    status, page, _ = await h.get(await sign_in_via_web(h, oidc_provider, login="strong-ann"))
    assert status == 200, page
    assert (await h.verification(ALICE)).level == "identity"
    assert (ALICE, STRICT) in h.adapter.badges


async def test_link_page_lists_methods_in_plain_words(harness: Harness) -> None:
    h = harness
    status, page, response = await h.get(await h.link())
    assert status == 200
    for words in ("Sign in with Test ID", "e-mail address", "Ask a moderator", "What is kept"):
        assert words in page
    assert ALICE.id in page and "The Garden" in page
    assert "<script" not in page
    # nothing from anywhere else: every URL on the page is relative
    assert not re.search(r'(src|href|action)="(https?:)?//', page)
    headers = response.headers
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"
    # same-origin, so the browser's own form POSTs carry a real Origin (bot/web/security.py)
    assert headers["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in page
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/verify" in cookie


async def test_every_page_carries_the_protective_headers(harness: Harness) -> None:
    for path in ("/healthz", "/verify/nope.nope", "/nothing-here", "/verify/oidc/callback"):
        _, _, response = await harness.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert "Content-Security-Policy" in response.headers, path
    status, body, _ = await harness.get("/healthz")
    assert (status, body) == (200, "ok")


# --- attacks on the OpenID flow -------------------------------------------------------------------


async def assert_nothing_stored(h: Harness, member: Any = ALICE) -> None:
    assert await h.verification(member) is None
    assert not [b for b in h.adapter.badges if b[0] == member]


async def test_a_form_token_that_is_not_ascii_is_refused_not_a_crash(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.INFO)
    link = await h.link()
    token = link.rsplit("/", 1)[1]
    status, page, _ = await h.get(link)
    assert status == 200
    status, page, _ = await h.post(link, {"csrf": "é" * 64, "method": "moderator"})
    assert status == 403 and "nothing was done" in page
    assert await h.verification(ALICE) is None
    status, page, _ = await h.get(link)  # the link still works
    assert status == 200
    # the log says what was refused, never the link itself
    assert "refused a form post to /verify/{token}" in caplog.text and token not in caplog.text


async def test_forged_state_is_refused(harness: Harness, oidc_provider: OidcTestProvider) -> None:
    h = harness
    callback = await sign_in_via_web(h, oidc_provider)
    query = parse_qs(urlsplit(callback).query)
    forged = callback.replace(query["state"][0], "forged-state-value")
    status, page, _ = await h.get(forged)
    assert status == 400 and "no longer valid" in page
    await assert_nothing_stored(h)
    # the genuine callback still works: a forgery cannot burn a member's check
    status, page, _ = await h.get(callback)
    assert status == 200, page


async def test_replayed_callback_is_refused(
    harness: Harness, oidc_provider: OidcTestProvider
) -> None:
    h = harness
    callback = await sign_in_via_web(h, oidc_provider)
    assert (await h.get(callback))[0] == 200
    first = await h.verification(ALICE)
    directs = len(h.adapter.directs)
    status, page, _ = await h.get(callback)
    assert status == 400 and "already used" in page
    assert await h.verification(ALICE) == first
    assert len(h.adapter.directs) == directs


async def test_callback_in_another_browser_is_refused(
    harness: Harness, oidc_provider: OidcTestProvider
) -> None:
    h = harness
    bobs_link = await h.link(BOB)
    async with oidc_provider.browser() as other:
        for with_own_cookie in (False, True):
            callback = await sign_in_via_web(h, oidc_provider)
            if with_own_cookie:  # a browser that holds a cookie of its own from our site
                async with other.get(bobs_link) as page:
                    assert page.status == 200
            async with other.get(callback, allow_redirects=False) as response:
                assert response.status == 400
                assert "not started in this browser" in await response.text()
            await assert_nothing_stored(h)
            # the leaked callback is burnt: not even the member's own browser can replay it
            status, page, _ = await h.get(callback)
            assert status == 400 and "no longer valid" in page
            await assert_nothing_stored(h)


async def test_reused_authorization_code_is_refused(
    harness: Harness, oidc_provider: OidcTestProvider
) -> None:
    """A code from a finished check, pasted into a fresh check's callback, is worthless."""
    h = harness
    first = await sign_in_via_web(h, oidc_provider, login="mallory")
    assert (await h.get(first))[0] == 200
    await h.command("unverify", member=ALICE)
    second = await sign_in_via_web(h, oidc_provider, login="mallory")
    old_code = parse_qs(urlsplit(first).query)["code"][0]
    new_code = parse_qs(urlsplit(second).query)["code"][0]
    status, page, _ = await h.get(second.replace(new_code, old_code))
    assert status == 400 and "did not accept this sign-in" in page
    await assert_nothing_stored(h)
    assert "did not succeed" in h.directs_to(ALICE)[-1]


@pytest.mark.parametrize("attack", ATTACKS)
async def test_forged_id_token_stores_nothing(
    harness: Harness, oidc_provider: OidcTestProvider, attack: str
) -> None:
    h = harness
    forge, _ = ATTACKS[attack]
    status, _, response = await h.choose(await h.link(), "oidc")
    authorization_url = response.headers["Location"]
    nonce = parse_qs(urlsplit(authorization_url).query)["nonce"][0]
    callback = await oidc_provider.sign_in(h.browser, authorization_url, login="mallory")
    now = int(time.time())
    claims = {
        "iss": oidc_provider.issuer,
        "sub": "victim",
        "aud": oidc_provider.client_id,
        "iat": now,
        "exp": now + 600,
        "nonce": nonce,
    }
    await oidc_provider.replace_next_id_token(forge(oidc_provider, claims))
    status, page, _ = await h.get(callback)
    assert status == 400 and "could not be trusted" in page and "nothing was stored" in page
    await assert_nothing_stored(h)
    assert "did not succeed" in h.directs_to(ALICE)[-1]


# --- the link -------------------------------------------------------------------------------------


async def test_expired_link_is_refused(harness: Harness) -> None:
    h = harness
    link = await h.link()
    status, page, _ = await h.get(link)
    csrf = csrf_of(page)
    h.clock.offset += timedelta(minutes=15, seconds=1)
    status, page, _ = await h.get(link)
    assert status == 410 and "expired" in page and "<h1>Link expired</h1>" in page
    status, page, _ = await h.post(link, {"csrf": csrf, "method": "moderator"})
    assert status == 410 and "expired" in page and "<h1>Link expired</h1>" in page
    assert (
        await h.core.store.pending_for(
            network="matrix", community_id=SPACE.id, method="moderator", status="open"
        )
        == []
    )


async def test_reused_link_is_refused(harness: Harness) -> None:
    h = harness
    link = await h.link()
    _, page, _ = await h.get(link)
    csrf = csrf_of(page)
    status, _, _ = await h.post(link, {"csrf": csrf, "method": "moderator"})
    assert status == 200
    status, page, _ = await h.post(link, {"csrf": csrf, "method": "oidc"})
    assert status == 410 and "already used" in page
    status, page, _ = await h.get(link)
    assert status == 410 and "already used" in page and "<h1>Link already used</h1>" in page


async def test_tampered_link_is_refused(harness: Harness) -> None:
    h = harness
    link = await h.link()
    body, signature = link.rsplit("/", 1)[1].split(".")
    bob_link = await h.link(member=BOB)
    bob_body = bob_link.rsplit("/", 1)[1].split(".")[0]
    for token in (f"{bob_body}.{signature}", f"{body}.{signature[:-1]}x"):
        status, page, _ = await h.get(f"/verify/{token}")
        assert status == 400 and "not valid" in page and "<h1>Link not valid</h1>" in page


async def test_opening_the_link_does_not_use_it_up(harness: Harness) -> None:
    """Chat clients fetch links for previews; only starting a method redeems the link."""
    h = harness
    link = await h.link()
    for _ in range(3):
        assert (await h.get(link))[0] == 200
    assert (await h.choose(link, "moderator"))[0] == 200


# --- cross-site request forgery -------------------------------------------------------------------


async def test_forms_need_the_csrf_token_of_this_browser(
    harness: Harness, oidc_provider: OidcTestProvider
) -> None:
    h = harness
    link = await h.link()
    _, page, _ = await h.get(link)
    assert (await h.post(link, {"method": "moderator"}))[0] == 403
    assert (await h.post(link, {"csrf": "0" * 64, "method": "moderator"}))[0] == 403
    # another site, or an opaque origin (sandboxed frame, no-referrer page), is refused even
    # with this browser's cookie and a valid token
    for origin in ("https://evil.example", "null", h.base_url.replace("127.0.0.1", "localhost")):
        status, refused, _ = await h.post(
            link, {"csrf": csrf_of(page), "method": "moderator"}, headers={"Origin": origin}
        )
        assert status == 403 and "not sent from the verification page" in refused, origin
        assert "<title>Not sent from this page · verifybot</title>" in refused
    # another browser (no cookie, or its own cookie) cannot reuse this page's token
    async with (
        oidc_provider.browser() as other,
        other.post(
            h.base_url + link.split(h.base_url)[1],
            data={"csrf": csrf_of(page), "method": "moderator"},
            allow_redirects=False,
        ) as response,
    ):
        assert response.status == 403
    # none of that used up the link or asked the moderators; the site's own Origin (what a
    # real browser sends) is accepted
    assert not [c for c in h.adapter.calls if c[0] in ("post", "notify_admins")]
    own = {"Origin": h.base_url}
    assert (await h.post(link, {"csrf": csrf_of(page), "method": "moderator"}, headers=own))[
        0
    ] == 200


# --- e-mail code ----------------------------------------------------------------------------------


async def test_email_code_check(harness: Harness, smtp_server: SmtpCapture) -> None:
    h = harness
    status, page, _ = await h.choose(await h.link(), "email_code", address="Ann@example.org")
    assert status == 200 and "on its way to Ann@example.org" in page
    code = smtp_server.last_code()
    status, page, _ = await h.post(form_action(page), {"csrf": csrf_of(page), "code": code})
    assert status == 200 and "You are verified" in page
    record = await h.verification(ALICE)
    assert (record.method, record.level) == ("email_code", "email")
    assert record.identity_hash == KEY.identity_hash(EMAIL_ISSUER, "ann@example.org")
    assert (ALICE, SPACE) in h.adapter.badges
    # the address is nowhere in the database
    exported = await h.core.store.export_member(ALICE)
    assert "ann@" not in str(exported).lower()


async def test_wrong_domain_is_refused_and_the_link_survives(
    harness: Harness, smtp_server: SmtpCapture
) -> None:
    h = harness
    link = await h.link()
    status, page, _ = await h.choose(link, "email_code", address="ann@evil.org")
    assert status == 400 and "cannot be used here" in page and "example.org" in page
    assert smtp_server.messages == []
    await assert_nothing_stored(h)
    status, page, _ = await h.choose(link, "email_code", address="ann@example.org")
    assert status == 200 and len(smtp_server.messages) == 1


async def test_code_brute_force_stops_at_the_limit(
    harness: Harness, smtp_server: SmtpCapture
) -> None:
    h = harness
    _, page, _ = await h.choose(await h.link(), "email_code", address="ann@example.org")
    action, csrf = form_action(page), csrf_of(page)
    right = smtp_server.last_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    answers = []
    for _ in range(3):  # max_attempts = 3
        status, page, _ = await h.post(action, {"csrf": csrf, "code": wrong})
        answers.append((status, page))
    assert "2 attempts left" in answers[0][1] and "1 attempt left" in answers[1][1]
    assert "Too many" in answers[2][1] or "last attempt" in answers[2][1]
    status, page, _ = await h.post(action, {"csrf": csrf, "code": right})
    assert status == 410 and "no longer valid" in page
    await assert_nothing_stored(h)


async def test_resend_has_a_cooldown_and_needs_the_address_again(
    harness: Harness, smtp_server: SmtpCapture
) -> None:
    h = harness
    _, page, _ = await h.choose(await h.link(), "email_code", address="ann@example.org")
    resend, resend_csrf = form_action(page, 1), csrf_of(page.split('id="resend"')[1])
    status, answer, _ = await h.post(resend, {"csrf": resend_csrf, "address": "ann@example.org"})
    assert status == 400 and "You can ask for another in" in answer
    h.clock.offset += timedelta(seconds=31)
    status, answer, _ = await h.post(resend, {"csrf": resend_csrf, "address": "ann@example.org"})
    assert status == 200 and len(smtp_server.messages) == 2
    status, answer, _ = await h.post(
        form_action(answer), {"csrf": csrf_of(answer), "code": smtp_server.last_code()}
    )
    assert status == 200 and "You are verified" in answer


async def test_second_account_for_the_same_identity_is_refused(
    harness: Harness, smtp_server: SmtpCapture
) -> None:
    h = harness
    _, page, _ = await h.choose(await h.link(ALICE), "email_code", address="ann@example.org")
    await h.post(form_action(page), {"csrf": csrf_of(page), "code": smtp_server.last_code()})
    assert await h.verification(ALICE) is not None

    _, page, _ = await h.choose(await h.link(BOB), "email_code", address="ANN+alt@example.org")
    status, page, _ = await h.post(
        form_action(page), {"csrf": csrf_of(page), "code": smtp_server.last_code()}
    )
    assert status == 400 and "already verifies another account in The Garden" in page
    await assert_nothing_stored(h, BOB)
    assert "unverify" in h.directs_to(BOB)[-1]
    notes = h.admin_notes()
    assert (
        notes and notes[-1][0] == SPACE and BOB.id in notes[-1][1] and ALICE.id not in notes[-1][1]
    )
    await h.core.audit.flush()
    audit = await h.core.store.list_audit(community_id=SPACE.id)
    assert any(e.action == "second_account_refused" and e.target == BOB.id for e in audit)


async def test_mail_server_refusal_offers_to_send_again(
    harness: Harness, smtp_server: SmtpCapture
) -> None:
    h = harness
    smtp_server.refuse = True
    status, page, _ = await h.choose(await h.link(), "email_code", address="ann@example.org")
    assert status == 400 and "could not be sent" in page
    smtp_server.refuse = False
    # no code is on its way, so the page offers only to send one (no code form)
    assert 'name="code"' not in page
    resend, resend_csrf = form_action(page), csrf_of(page.split('id="resend"')[1])
    assert resend.endswith("/resend")
    # no cooldown after a failed send
    status, page, _ = await h.post(resend, {"csrf": resend_csrf, "address": "ann@example.org"})
    assert status == 200 and len(smtp_server.messages) == 1
    status, page, _ = await h.post(
        form_action(page), {"csrf": csrf_of(page), "code": smtp_server.last_code()}
    )
    assert status == 200 and "You are verified" in page
