"""Identity checks on a real Matrix homeserver, end to end.

A member types `!verify` in a room of the community, opens the link the bot sends privately, and
completes a method: OpenID Connect on the node provider, an e-mail code through SMTP, or a
moderator's `!approve`. Another member then sees the badge: the member's power level in the room.
Everything is observed through members' own Matrix clients.
"""

from __future__ import annotations

import pytest

from bot.model import MemberRef
from tests.fakes.matrix_member import MatrixMember
from tests.fixtures.matrix_verification import Running
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.fixtures.smtp import SmtpCapture
from tests.integration.verification.harness import csrf_of, form_action
from tests.waiting import wait_until

pytestmark = [pytest.mark.synapse, pytest.mark.oidc]


async def joined(bot: Running, name: str) -> MatrixMember:
    member = await bot.community.member_in_room(name)
    await member.start_watching()

    async def known() -> bool:
        return bool(await bot.adapter.member_communities(MemberRef("matrix", member.user_id)))

    await wait_until(known, what=f"the bot sees {member.user_id}")
    return member


async def sees_badge(observer: MatrixMember, room: str, member: MatrixMember) -> bool:
    levels = await observer.power_levels(room)
    return bool(levels.get("users", {}).get(member.user_id) == 1)


async def test_oidc_on_synapse(running_bot: Running, oidc_provider: OidcTestProvider) -> None:
    bot = running_bot
    carol, dave = await joined(bot, "carol"), await joined(bot, "dave")
    assert not await sees_badge(dave, bot.community.room, carol)
    link = await bot.ask_for_link(carol)
    status, location, _ = await bot.choose(link, "oidc")
    assert status == 303
    callback = await oidc_provider.sign_in(bot.browser, location, login="carol")
    assert "You are verified" in await bot.page(callback)
    assert await sees_badge(dave, bot.community.room, carol)
    await bot.told(carol, "Verified badge now shows in Test community")


async def test_email_code_on_synapse(running_bot: Running, smtp_server: SmtpCapture) -> None:
    bot = running_bot
    carol, dave = await joined(bot, "carol"), await joined(bot, "dave")
    link = await bot.ask_for_link(carol)
    status, _, page = await bot.choose(link, "email_code", address="carol@example.org")
    assert status == 200 and "on its way" in page
    done = await bot.page(
        form_action(page), {"csrf": csrf_of(page), "code": smtp_server.last_code()}
    )
    assert "You are verified" in done
    assert await sees_badge(dave, bot.community.room, carol)


async def test_moderator_review_on_synapse(running_bot: Running) -> None:
    bot = running_bot
    c = bot.community
    carol, dave = await joined(bot, "carol"), await joined(bot, "dave")
    await c.admin.start_watching()
    link = await bot.ask_for_link(carol)
    status, _, page = await bot.choose(link, "moderator")
    assert status == 200 and "with the moderators" in page
    request = await c.admin.wait_for_message(
        bot.mods, sender=bot.adapter.user_id, contains="asks to be verified"
    )
    assert carol.user_id in request.content["body"]
    assert not await sees_badge(dave, c.room, carol)
    await c.admin.send_text(c.room, f"!approve {carol.user_id}")

    async def badge_seen() -> bool:
        return await sees_badge(dave, c.room, carol)

    await wait_until(badge_seen, what="dave sees carol's badge")
    await bot.told(carol, "You are verified (checked by a moderator)")
