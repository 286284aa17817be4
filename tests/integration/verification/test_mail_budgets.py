"""The bot is no mailer: codes sent and tried are budgeted per account and per address, over
every check (a fresh link brings no fresh allowance) and every process (the count is in the
database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.storage.repo import Store
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.fixtures.smtp import SmtpCapture
from tests.integration.verification.harness import ALICE, BOB, Harness, csrf_of, running

pytestmark = pytest.mark.oidc


@pytest.fixture
async def h(
    store: Store, oidc_provider: OidcTestProvider, smtp_server: SmtpCapture
) -> AsyncIterator[Harness]:
    budgets = {"daily_sends": 3, "daily_tries": 3}
    async with running(store, oidc_provider, smtp_server, email_code=budgets) as harness:
        yield harness


async def ask_for_a_code(h: Harness, member: object, address: str) -> tuple[int, str]:
    link = await h.link(member)  # type: ignore[arg-type]
    status, page, _ = await h.choose(link, "email_code", address=address)
    return status, page


async def test_fresh_checks_bring_no_fresh_mail(h: Harness, smtp_server: SmtpCapture) -> None:
    for _ in range(3):
        status, page = await ask_for_a_code(h, ALICE, "target@example.org")
        assert status == 200 and "on its way" in page
    status, page = await ask_for_a_code(h, ALICE, "target@example.org")
    assert status == 400 and "No more codes today" in page
    assert "No more codes can be sent to this address, or for your account, today" in page
    # another account cannot mail the same address either, nor Alice another address
    assert "No more codes today" in (await ask_for_a_code(h, BOB, "target@example.org"))[1]
    assert "No more codes today" in (await ask_for_a_code(h, ALICE, "other@example.org"))[1]
    assert len(smtp_server.messages) == 3
    # Bob's own allowance is whole, for his own address
    status, page = await ask_for_a_code(h, BOB, "bob@example.org")
    assert status == 200 and "on its way" in page
    # the next day the allowance is back
    h.clock.offset += timedelta(days=1, minutes=1)
    assert "on its way" in (await ask_for_a_code(h, ALICE, "target@example.org"))[1]


async def test_tries_are_budgeted_over_checks(h: Harness, smtp_server: SmtpCapture) -> None:
    def wrong() -> str:
        return f"{(int(smtp_server.last_code()) + 1) % 1_000_000:06d}"

    async def try_code(page: str, code: str) -> tuple[int, str]:
        action = page.split('<form method="post" action="', 1)[1].split('"', 1)[0]
        status, page, _ = await h.post(action, {"csrf": csrf_of(page), "code": code})
        return status, page

    _, page = await ask_for_a_code(h, ALICE, "ann@example.org")
    for _ in range(2):
        _, page = await try_code(page, wrong())
        assert "Wrong code" in page
    _, page = await try_code(page, wrong())  # max_attempts 3: this check ends
    assert "Too many wrong codes" in page
    # a fresh check brings no fresh tries today, even with the right code
    _, page = await ask_for_a_code(h, ALICE, "ann@example.org")
    status, page = await try_code(page, smtp_server.last_code())
    assert status == 400 and "Too many tries today" in page and "nothing was stored" in page
    assert await h.verification(ALICE) is None
