"""Reports and members' data rights on Matrix, end to end: the real core, cogs, storage and
adapter against Synapse, configured as the README shows (a space, a `moderator_channel`).

Each test is a story people live through: a member reports a message by replying to it, the
moderators see it in their room and answer with a command the notice offers, the reporter hears
what was done; a member takes a copy of their data, then has it erased. Assertions are about what
the people's own clients show, and what the database keeps where that is the promise.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.model import ChannelRef, CommunityRef, MemberRef, MessageRef
from tests.fakes.matrix_member import MatrixMember, SyncedEvent
from tests.fixtures.matrix_bot import Moderated

pytestmark = pytest.mark.synapse


def ref(member: MatrixMember) -> MemberRef:
    return MemberRef("matrix", member.user_id)


def report_number(notice: SyncedEvent) -> int:
    found = re.search(r"Report #(\d+)", notice.content["body"])
    assert found, notice.content["body"]
    return int(found.group(1))


async def said_in_room(member: MatrixMember, room: str, text: str) -> SyncedEvent:
    """Post in the room and return the event as the poster's client sees it (for quoting)."""
    await member.start_watching()
    sent = await member.send_text(room, text)
    return await member.wait_for(lambda e: e.event.get("event_id") == sent)


async def test_a_reply_report_reaches_the_moderators_and_the_reporter_hears_the_outcome(
    moderated_bot: Moderated,
) -> None:
    m = moderated_bot
    c, bot = m.community, m.bot
    carol = await c.member_in_room("carol")
    bob = await c.member_in_room("bob")
    await bot.verify(bob)
    await carol.start_watching()
    insult = await said_in_room(bob, c.room, "you are pathetic, leave this place")

    report = await carol.reply_quoting(c.room, insult, "!report harassment he keeps doing this")

    # the moderators see the case: rule, whom it is about (verified, never how), a link that
    # opens the message, what it said, the reporter's words, and the commands that answer it
    notice = await m.in_mods("harassment")
    body = notice.content["body"]
    number = report_number(notice)
    community = CommunityRef("matrix", c.space)
    link = bot.adapter.message_link(
        MessageRef(ChannelRef(community, c.room), insult.event["event_id"])
    )
    assert link.startswith("https://matrix.to/#/") and link in body
    assert f"About: {bob.user_id} (verified)" in body
    assert "reviewed" not in body and "moderator review" not in body  # never how
    assert "you are pathetic, leave this place" in body
    assert "Reporter's words: “he keeps doing this”" in body
    assert "Rule: Treat everyone with respect" in body
    assert f"To answer, send one of:\n!resolve {number} dismissed — Dismiss" in body
    assert f"!resolve {number} removed — Remove message" in body
    assert not body.startswith("URGENT")

    # it is stored, as the moderators were told
    (stored,) = await bot.store.list_reports(community)
    assert (stored.id, stored.category, stored.target, stored.reporter) == (
        number,
        "harassment",
        ref(bob),
        ref(carol),
    )
    assert stored.details == "he keeps doing this"  # the reply's quote is not the reporter's

    # the reporter's private acknowledgement: the rule, where it went, when to expect an answer
    ack = (await bot.answer(carol, f"report #{number}")).content["body"]
    assert f"Your report #{number} (harassment) is with the moderators of Test community" in ack
    assert "It concerns the rule: Treat everyone with respect" in ack
    assert "Expect an answer within 24 hours (in 1 day" in ack
    assert "findahelpline" not in ack  # support lines are for the categories that need them
    # and the room does not learn who reported: the command is taken out, nothing points at it
    await carol.wait_for_redaction(c.room, report)
    in_room = [e for e in carol.seen if e.room_id == c.room and e.type == "m.room.message"]
    assert not [e for e in in_room if e.event["sender"] == bot.adapter.user_id]

    # a moderator answers with the offered command, adding a note for moderators only
    await m.moderator.send_text(m.mods, f"!resolve {number} removed private note: repeat offender")
    told = (await bot.answer(carol, "have looked at your report")).content["body"]
    assert f"report #{number} (harassment) and removed the message" in told
    assert "repeat offender" not in told and "note" not in told
    await carol.wait_for_redaction(c.room, insult.event["event_id"])
    resolved = (await m.in_mods(f"Report #{number} was resolved")).content["body"]
    assert "removed" in resolved and "repeat offender" in resolved  # the note stays with them


async def test_a_self_harm_report_shows_support_and_is_urgent_for_moderators(
    moderated_bot: Moderated,
) -> None:
    m = moderated_bot
    c, bot = m.community, m.bot
    carol = await c.member_in_room("carol")
    dave = await c.member_in_room("dave")
    worrying = await said_in_room(dave, c.room, "I don't see the point of going on anymore")

    await carol.reply_quoting(c.room, worrying, "!report self-harm")

    notice = (await m.in_mods("self-harm")).content["body"]
    assert notice.startswith("URGENT — Report #")
    assert f"About: {dave.user_id} (not verified)" in notice
    ack = (await bot.answer(carol, "Your report #")).content["body"]
    assert "you do not have to wait for the moderators" in ack
    assert "emergency number" in ack and "https://findahelpline.com" in ack
    assert "Expect an answer within 2 hours" in ack


async def test_an_overdue_report_is_raised_again_in_the_moderators_room(
    moderated_bot: Moderated,
) -> None:
    from cogs.reports import Reports

    m = moderated_bot
    c, bot = m.community, m.bot
    carol = await c.member_in_room("carol")
    bob = await c.member_in_room("bob")
    offer = await said_in_room(bob, c.room, "cheap watches at my shop, message me")
    await carol.reply(c.room, offer.event["event_id"], "!report spam")
    number = report_number(await m.in_mods("spam"))
    assert bot.core is not None
    reports = bot.core.cog(Reports)

    bot.clock.offset += timedelta(hours=47)  # spam is answered within 2 days: not yet late
    assert await reports.raise_overdue() == 0
    bot.clock.offset += timedelta(hours=2)
    assert await reports.raise_overdue() == 1

    again = (await m.in_mods(f"Report #{number} (spam)")).content["body"]
    assert f"about {bob.user_id} is still open" in again
    assert "expect an answer within 2 days" in again
    assert f"!resolve {number} dismissed — Dismiss" in again
    assert await reports.raise_overdue() == 0  # raised once, not on every check


async def test_mydata_hands_the_member_exactly_their_data(moderated_bot: Moderated) -> None:
    m = moderated_bot
    c, bot = m.community, m.bot
    carol = await c.member_in_room("carol")
    dave = await c.member_in_room("dave")
    erin = await c.member_in_room("erin")
    await carol.start_watching()
    await erin.send_text(c.room, "!filter all")
    await bot.answer(erin, "Your filter is now all")
    await carol.send_text(c.room, "!filter replies")
    await bot.answer(carol, "Your filter is now replies")
    await bot.verify(carol)
    offer = await said_in_room(dave, c.room, "cheap watches at my shop, message me")
    await carol.reply(c.room, offer.event["event_id"], "!report spam")
    number = report_number(await m.in_mods("spam"))
    await m.moderator.send_text(m.mods, f"!resolve {number} warned second time this week")
    await bot.answer(carol, "have looked at your report")

    await carol.send_text(c.room, "!mydata")
    said = (await bot.answer(carol, "everything I keep about your account")).content["body"]
    assert "in a file only you receive" in said
    dm = bot.dms[carol.user_id]

    def is_file(e: SyncedEvent) -> bool:
        return e.content.get("msgtype") == "m.file"

    file = await carol.wait_for(is_file)
    assert file.room_id == dm  # only in her direct chat with the bot
    assert file.content["body"] == "verifybot-my-data.json"
    assert file.content["info"]["mimetype"] == "application/json"
    raw = await carol.download(file.content["url"])
    assert file.content["info"]["size"] == len(raw)
    copy = json.loads(raw)
    assert copy["account"] == {"network": "matrix", "id": carol.user_id}
    assert bot.core is not None
    expected: Any = json.loads(json.dumps(await bot.core.export_member(ref(carol)), default=str))
    assert copy["tables"] == expected  # exactly what the bot keeps about carol
    text = raw.decode()
    assert "replies" in text and "reviewed" in text  # her filter and her verification
    (filed,) = copy["tables"]["reports"]
    assert (filed["id"], filed["category"], filed["outcome"]) == (number, "spam", "warned")
    assert "second time this week" not in text  # the moderators' note stays with them
    assert m.moderator.user_id not in text  # and so does who handled it
    assert erin.user_id not in text  # nobody else's rows


async def test_forget_asks_then_erases_and_takes_the_badge_down(moderated_bot: Moderated) -> None:
    m = moderated_bot
    c, bot = m.community, m.bot
    carol = await c.member_in_room("carol")
    await carol.start_watching()
    await carol.send_text(c.room, "!filter replies")
    await bot.answer(carol, "Your filter is now replies")
    await bot.verify(carol)
    assert (await c.admin.power_levels(c.room))["users"][carol.user_id] == 1
    verified_space = await carol.wait_for_invite(inviter=bot.adapter.user_id, direct=False)
    await carol.join(verified_space)
    dm = bot.dms[carol.user_id]

    await carol.send_text(dm, "!forget")
    asked = (await bot.answer(carol, "This erases everything")).content["body"]
    assert "send !forget confirm within 10 minutes" in asked
    assert bot.core is not None
    assert any((await bot.core.export_member(ref(carol))).values())  # nothing erased yet

    await carol.send_text(dm, "!forget confirm")
    done = (await bot.answer(carol, "Done: I erased everything")).content["body"]
    assert "took down your Verified badge in Test community" in done
    assert carol.user_id not in (await c.admin.power_levels(c.room))["users"]
    await carol.wait_for_membership(verified_space, "leave")
    left = {name: rows for name, rows in (await bot.core.export_member(ref(carol))).items() if rows}
    assert not left, f"still kept under her account after forget: {left}"
    community = CommunityRef("matrix", c.space)
    assert not await bot.core.verified_in(ref(carol), community)  # nothing to put it back
