"""verifybot on Matrix, end to end: the real core, cogs, storage and adapter against Synapse.

Every assertion is about what a member's own client sees (power levels, invitations, redactions,
refused sends and joins, the bot's answers), never about the bot's insides. Verification itself is
granted through the storage layer until the identity checks are wired to Matrix.
"""

from __future__ import annotations

import pytest

from tests.fakes.matrix_member import MatrixError
from tests.fixtures.matrix_bot import Verifybot
from tests.waiting import wait_until

pytestmark = pytest.mark.synapse


async def test_badge_appears_and_disappears(matrix_bot: Verifybot) -> None:
    c = matrix_bot.community
    carol = await c.member_in_room("carol")
    await carol.start_watching()

    await matrix_bot.verify(carol)
    assert (await c.admin.power_levels(c.room))["users"][carol.user_id] == 1
    space = await carol.wait_for_invite(inviter=matrix_bot.adapter.user_id)
    assert space != matrix_bot.dms.get(carol.user_id)
    await carol.join(space)

    await matrix_bot.unverify(carol)
    assert carol.user_id not in (await c.admin.power_levels(c.room))["users"]
    await carol.wait_for_membership(space, "leave")


async def test_filtered_member_never_keeps_an_unverified_reply(matrix_bot: Verifybot) -> None:
    c = matrix_bot.community
    alice = await c.member_in_room("alice")
    mallory = await c.member_in_room("mallory")
    await alice.send_text(c.room, "!filter replies")
    await matrix_bot.answer(alice, "Your filter is now replies")

    post = await alice.send_text(c.room, "my news")
    unwanted = await mallory.reply(c.room, post, "you are wrong, click here")
    redaction = await alice.wait_for_redaction(c.room, unwanted)
    assert redaction.event["sender"] == matrix_bot.adapter.user_id
    assert "unverified" in redaction.content.get("reason", "")
    assert await alice.is_redacted(c.room, unwanted)

    await alice.send_text(c.room, "!held")
    listing = await matrix_bot.answer(alice, "Held for you (1)")
    body = listing.content["body"]
    assert f"reply from {mallory.user_id}" in body and "you are wrong, click here" in body

    notice = await matrix_bot.answer(mallory, "was removed for everyone in that conversation")
    told = notice.content["body"]
    assert "Your reply in general (“you are wrong, click here”)" in told
    assert "send !verify here, in this chat with me" in told  # where the sender can type it


async def test_a_verified_senders_reply_stays(matrix_bot: Verifybot) -> None:
    c = matrix_bot.community
    alice = await c.member_in_room("alice")
    vera = await c.member_in_room("vera")
    mallory = await c.member_in_room("mallory")
    await matrix_bot.verify(vera)
    await alice.send_text(c.room, "!filter replies")
    await matrix_bot.answer(alice, "Your filter is now replies")

    post = await alice.send_text(c.room, "my news")
    welcome = await vera.reply(c.room, post, "congratulations")
    unwanted = await mallory.reply(c.room, post, "spam")
    # the room's events are handled in order: once the later reply is gone, the earlier was judged
    await alice.wait_for_redaction(c.room, unwanted)
    assert not await alice.is_redacted(c.room, welcome)
    assert (await alice.get_event(c.room, welcome))["content"]["body"] == "congratulations"


async def test_read_only_refuses_unverified_sends(matrix_bot: Verifybot) -> None:
    c = matrix_bot.community
    carol = await c.member_in_room("carol")
    vera = await c.member_in_room("vera")
    await matrix_bot.verify(vera)

    await c.admin.send_text(c.room, "!policy read_only")
    await matrix_bot.answer(c.admin, "is now read only")
    with pytest.raises(MatrixError) as refused:
        await carol.send_text(c.room, "may I?")
    assert refused.value.errcode == "M_FORBIDDEN"
    await vera.send_text(c.room, "verified members still talk")


async def test_verified_only_refuses_a_non_member_join(matrix_bot: Verifybot) -> None:
    c = matrix_bot.community
    inner = await c.admin.create_room(name="inner", power_users={matrix_bot.adapter.user_id: 100})
    await c.admin.add_child(c.space, inner)
    bot_id = matrix_bot.adapter.user_id

    async def bot_joined() -> bool:
        return await c.admin.membership(inner, bot_id) == "join"

    await wait_until(bot_joined, what="the bot joins the room added to the space")

    await c.admin.send_text(c.room, f"!policy {inner} verified_only")
    await matrix_bot.answer(c.admin, "is now verified only")
    outsider = await c.make_member("outsider")
    with pytest.raises(MatrixError) as refused:
        await outsider.join(inner)
    assert refused.value.errcode == "M_FORBIDDEN"

    vera = await c.member_in_room("vera")
    await vera.start_watching()
    await matrix_bot.verify(vera)
    space = await vera.wait_for_invite(inviter=matrix_bot.adapter.user_id)
    await vera.join(space)
    await vera.join(inner)


async def test_limited_removes_a_link(matrix_bot: Verifybot) -> None:
    c = matrix_bot.community
    carol = await c.member_in_room("carol")
    await c.admin.send_text(c.room, "!policy limited")
    await matrix_bot.answer(c.admin, "is now limited")
    await c.admin.start_watching()

    plain = await carol.send_text(c.room, "hello everyone")
    link = await carol.send_text(c.room, "great deal at https://example.org/deal")
    redaction = await c.admin.wait_for_redaction(c.room, link)
    assert "links" in redaction.content.get("reason", "")
    assert not await c.admin.is_redacted(c.room, plain)


async def test_a_restart_between_two_messages_handles_each_once(matrix_bot: Verifybot) -> None:
    c = matrix_bot.community
    alice = await c.member_in_room("alice")
    mallory = await c.member_in_room("mallory")
    await alice.send_text(c.room, "!filter replies")
    await matrix_bot.answer(alice, "Your filter is now replies")
    post = await alice.send_text(c.room, "my news")

    first = await mallory.reply(c.room, post, "first reply")
    await alice.wait_for_redaction(c.room, first)
    await matrix_bot.stop()
    second = await mallory.reply(c.room, post, "second reply, while the bot is away")
    await matrix_bot.start()
    await alice.wait_for_redaction(c.room, second)

    await alice.send_text(c.room, "!held")
    listing = (await matrix_bot.answer(alice, "Held for you (2)")).content["body"]
    assert listing.count("first reply") == 1 and listing.count("second reply") == 1


async def test_a_malformed_command_gets_a_usage_answer(matrix_bot: Verifybot) -> None:
    c = matrix_bot.community
    carol = await c.member_in_room("carol")
    await carol.send_text(c.room, "!filter sometimes")
    answer = (await matrix_bot.answer(carol, "Usage")).content["body"]
    assert "'sometimes' is not one of the choices: off, replies or all" in answer
    assert "Usage: !filter [off|replies|all]" in answer

    await carol.send_text(c.room, "!help")
    helped = (await matrix_bot.answer(carol, "optional verification")).content["body"]
    assert "!held" in helped and "!policy" not in helped  # only what carol may run
