"""Reports and members' data rights on Discord, end to end: the real core, every cog, storage and
the adapter, with real discord.py against the loopback Discord, configured with a moderators'
channel (`moderator_channel`) as the README shows.

Each test is a story people live through: a member reports a message from its own menu (Apps →
Report message), the moderators see it in their channel and answer it with a button, the
reporter hears what was done; a member takes a copy of their data, then has it erased.
Assertions are about what people's Discord shows (ephemeral answers, DMs, channel posts and
their buttons, roles, deleted messages), and what the database keeps where that is the promise.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.model import ChannelRef, CommunityRef, MemberRef, MessageRef
from tests.fakes.discord_api import Channel, InteractionRecord, User, buttons_of
from tests.fixtures.discord_fake import BotFactory, DiscordBot, DiscordWorld

pytestmark = pytest.mark.discord_fake

Json = dict[str, Any]


def ref(user: User) -> MemberRef:
    return MemberRef("discord", str(user.id))


def community(w: DiscordWorld) -> CommunityRef:
    return CommunityRef("discord", str(w.guild.id))


class Moderated:
    """The whole bot on the seeded server, with a moderators' channel (`mods`)."""

    def __init__(self, bot: DiscordBot, mods: Channel) -> None:
        self.bot, self.mods, self.w = bot, mods, bot.w

    async def report(self, reporter: User, message: Json, category: str, details: str = "") -> Json:
        """`reporter` uses Report message on `message`, picks `category`, writes `details` and
        sends the form: the bot's answer to the form, as the reporter sees it."""
        fake = self.w.fake
        menu = await fake.push_message_command(self.w.guild, reporter, "Report message", message)
        prompt = await self.answer(menu)
        pick = await fake.push_select(reporter, fake.reply_message(prompt), category)
        await fake.wait_until(lambda: pick.modal, what="the form")
        sent = await fake.push_modal_submit(pick, reporter, text=details)
        return await self.answer(sent)

    async def answer(self, record: InteractionRecord) -> Json:
        """The bot's first answer to an interaction (a message to the person), once it came."""
        await self.w.fake.wait_until(lambda: record.answers, what="the bot's answer")
        return record.answers[0]

    async def in_mods(self, contains: str) -> Json:
        """The bot's post in the moderators' channel that says `contains`."""

        def found() -> Json | None:
            posts = self.w.fake.bot_messages(self.mods.id)
            return next((m for m in posts if contains in m["content"]), None)

        return await self.w.fake.wait_until(found, what=f"a notice saying {contains!r}")  # type: ignore[no-any-return]

    async def direct(self, user: User, contains: str) -> str:
        """A direct message from the bot to `user` that says `contains`."""

        def found() -> str | None:
            said = [m["content"] for m in self.w.fake.dm_messages(user)]
            return next((text for text in said if contains in text), None)

        return await self.w.fake.wait_until(found, what=f"a DM saying {contains!r}")  # type: ignore[no-any-return]


@pytest.fixture
async def moderated(discord_world: DiscordWorld, discord_bot_with: BotFactory) -> Moderated:
    """Every feature of the bot, and a `moderators` channel configured as `moderator_channel`."""
    mods = discord_world.world.add_channel(discord_world.guild, "moderators")
    bot = await discord_bot_with(community={"moderator_channel": str(mods.id)})
    return Moderated(bot, mods)


def number_of(notice: Json) -> int:
    found = re.search(r"Report #(\d+)", notice["content"])
    assert found, notice["content"]
    return int(found.group(1))


async def test_a_menu_report_reaches_the_moderators_and_a_button_tells_the_reporter(
    moderated: Moderated,
) -> None:
    m, w = moderated, moderated.w
    await m.bot.verify(w.bob)
    insult = await w.fake.push_message(w.general, w.bob, "you are pathetic, leave this place")

    ack = await m.report(w.alice, insult.data, "harassment", "he keeps doing this")

    # the moderators see the case: the rule, whom it is about (verified, never how), a link
    # that opens the message, what it said, the reporter's words, and buttons that answer it
    notice = await m.in_mods("harassment")
    number = number_of(notice)
    text = notice["content"]
    link = f"https://discord.com/channels/{w.guild.id}/{w.general.id}/{insult.id}"
    assert text.startswith(f"Report #{number}: harassment. Rule: Treat everyone with respect")
    assert f"About: <@{w.bob.id}> (verified)" in text
    assert "reviewed" not in text and "moderator" not in text.split("Filed by")[0]  # never how
    assert f"Message: {link} “you are pathetic, leave this place”" in text
    assert "Reporter's words: “he keeps doing this”" in text
    assert buttons_of(notice) == [
        ("Dismiss", f"verifybot:resolve {number} dismissed"),
        ("Warned", f"verifybot:resolve {number} warned"),
        ("Remove message", f"verifybot:resolve {number} removed"),
        ("Banned", f"verifybot:resolve {number} banned"),
    ]
    # stored as the moderators were told
    (stored,) = await m.bot.core.store.list_reports(community(w))
    where = MessageRef(ChannelRef(community(w), str(w.general.id)), str(insult.id))
    assert (stored.id, stored.category, stored.target, stored.reporter) == (
        number,
        "harassment",
        ref(w.bob),
        ref(w.alice),
    )
    assert (stored.message, stored.details) == (where, "he keeps doing this")
    # the reporter's private acknowledgement: the rule, where it went, when to expect an answer
    assert ack["ephemeral"]
    said = ack["content"]
    assert f"Your report #{number} (harassment) is with the moderators of Loopback Guild" in said
    assert "It concerns the rule: Treat everyone with respect" in said
    assert "Expect an answer within 24 hours (in 1 day" in said
    assert "findahelpline" not in said
    assert w.fake.bot_messages(w.general.id) == []  # the channel does not learn who reported

    # a member cannot answer a report by clicking its button; the core says so, privately
    refused = await w.fake.push_click(w.mallory, notice, f"verifybot:resolve {number} removed")
    answer = await m.answer(refused)
    assert answer["ephemeral"] and answer["content"] == "Only a moderator can run /resolve."
    assert insult.id in w.world.messages

    # a moderator clicks Remove message: the message goes, the reporter is told, by DM
    click = await w.fake.push_click(w.moderator, notice, f"verifybot:resolve {number} removed")
    done = await m.answer(click)
    assert done["ephemeral"]
    assert done["content"] == f"Report #{number} is resolved (removed). The reporter has been told."
    told = await m.direct(w.alice, "have looked at your report")
    assert f"report #{number} (harassment) and removed the message" in told
    assert insult.id not in w.world.messages
    resolved = await m.in_mods(f"Report #{number} was resolved")
    assert f"by <@{w.moderator.id}>: removed" in resolved["content"]


async def test_a_moderators_note_stays_with_the_moderators(moderated: Moderated) -> None:
    m, w = moderated, moderated.w
    offer = await w.fake.push_message(w.general, w.mallory, "cheap watches, message me")
    await m.report(w.alice, offer.data, "spam")
    number = number_of(await m.in_mods("spam"))

    await w.fake.push_command(
        w.guild, m.mods, w.moderator, "resolve", report=number, outcome="warned",
        note="third time this week",
    )  # fmt: skip

    told = await m.direct(w.alice, "have looked at your report")
    assert "warned the account you reported" in told
    assert "third time" not in told and "note" not in told
    resolved = await m.in_mods(f"Report #{number} was resolved")
    assert "Note: third time this week" in resolved["content"]


async def test_a_self_harm_report_shows_support_and_is_urgent_for_moderators(
    moderated: Moderated,
) -> None:
    m, w = moderated, moderated.w
    worrying = await w.fake.push_message(w.general, w.bob, "I don't see the point anymore")

    ack = await m.report(w.alice, worrying.data, "self-harm")

    notice = (await m.in_mods("self-harm"))["content"]
    assert notice.startswith("URGENT — Report #")
    assert f"About: <@{w.bob.id}> (not verified)" in notice
    said = ack["content"]
    assert ack["ephemeral"] and "you do not have to wait for the moderators" in said
    assert "emergency number" in said and "https://findahelpline.com" in said
    assert "Expect an answer within 2 hours" in said


async def test_an_overdue_report_is_raised_again_with_its_buttons(moderated: Moderated) -> None:
    from cogs.reports import Reports

    m, w = moderated, moderated.w
    offer = await w.fake.push_message(w.general, w.bob, "cheap watches at my shop, message me")
    await m.report(w.alice, offer.data, "spam")
    number = number_of(await m.in_mods("spam"))
    reports = m.bot.core.cog(Reports)

    m.bot.clock.offset += timedelta(hours=47)  # spam is answered within 2 days: not yet late
    assert await reports.raise_overdue() == 0
    m.bot.clock.offset += timedelta(hours=2)
    assert await reports.raise_overdue() == 1

    again = await m.in_mods(f"Report #{number} (spam)")
    assert f"about <@{w.bob.id}> is still open" in again["content"]
    assert "expect an answer within 2 days" in again["content"]
    assert (
        "Dismiss",
        f"verifybot:resolve {number} dismissed",
    ) in buttons_of(again)
    assert await reports.raise_overdue() == 0  # raised once, not on every check


async def test_mydata_hands_the_member_exactly_their_data_privately(moderated: Moderated) -> None:
    m, w = moderated, moderated.w
    await m.bot.run(w.bob, "filter", level="all")
    await m.bot.run(w.alice, "filter", level="replies")
    await m.bot.verify(w.alice)

    answer = (await m.bot.run(w.alice, "mydata")).given[0]

    assert answer["ephemeral"] and "in a file only you receive" in answer["content"]
    (file,) = answer["files"]
    assert file.filename == "verifybot-my-data.json"
    copy = json.loads(file.data)
    assert copy["account"] == {"network": "discord", "id": str(w.alice.id)}
    exported = await m.bot.core.export_member(ref(w.alice))
    assert copy["tables"] == json.loads(json.dumps(exported, default=str))  # exactly hers
    text = file.data.decode()
    assert "replies" in text and "reviewed" in text  # her filter and her verification
    assert str(w.bob.id) not in text  # nobody else's
    assert w.fake.bot_messages(w.general.id) == [] and w.fake.dm_messages(w.alice) == []


async def test_forget_asks_then_erases_and_takes_the_badge_down(moderated: Moderated) -> None:
    m, w = moderated, moderated.w
    await m.bot.run(w.alice, "filter", level="replies")
    await m.bot.verify(w.alice)
    badge = w.role_named("Verified")
    assert badge is not None and badge.id in w.member_role_ids(w.alice)

    asked = (await m.bot.run(w.alice, "forget")).given[0]
    assert asked["ephemeral"] and asked["content"].startswith("This erases everything")
    assert "send /forget confirm within 10 minutes" in asked["content"]
    assert any((await m.bot.core.export_member(ref(w.alice))).values())  # nothing erased yet

    done = (await m.bot.run(w.alice, "forget", confirm="confirm")).given[0]
    assert done["ephemeral"] and done["content"].startswith("Done: I erased everything")
    assert "took down your Verified badge in Loopback Guild" in done["content"]
    assert badge.id not in w.member_role_ids(w.alice)
    left = {k: rows for k, rows in (await m.bot.core.export_member(ref(w.alice))).items() if rows}
    assert not left, f"still kept under her account after forget: {left}"
    assert not await m.bot.core.verified_in(ref(w.alice), community(w))


async def test_without_a_moderators_channel_reports_reach_the_admins_and_no_log_names_anyone(
    discord_world: DiscordWorld, discord_bot_with: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    m = Moderated(await discord_bot_with(), discord_world.log_channel)
    w = m.w
    threat = await w.fake.push_message(w.general, w.bob, "I know where you live")

    ack = await m.report(w.alice, threat.data, "threats", "he means it")

    assert "is with the admins of Loopback Guild" in ack["content"]
    notice = await m.in_mods("URGENT — Report #")  # in the admins' log channel, with buttons
    number = number_of(notice)
    assert ("Banned", f"verifybot:resolve {number} banned") in buttons_of(notice)
    click = await w.fake.push_click(w.admin, notice, f"verifybot:resolve {number} banned")
    assert "The reporter has been told" in (await m.answer(click))["content"]
    await m.direct(w.alice, "banned the account you reported")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    for secret in (str(w.alice.id), str(w.bob.id), "where you live", "he means it"):
        assert secret not in logged


async def test_a_slash_report_names_the_account_and_one_naming_nothing_says_how(
    moderated: Moderated,
) -> None:
    m, w = moderated, moderated.w

    vague = (await m.bot.run(w.alice, "report", category="spam")).given[0]
    assert vague["ephemeral"] and vague["content"] == (
        'Say what you are reporting: use "Report message" in the message\'s menu (Apps), or'
        " name the account: /report <category> @someone."
    )
    assert w.fake.bot_messages(m.mods.id) == []

    named = await m.bot.run(w.alice, "report", category="impersonation", member=w.mallory)
    assert "Your report #" in named.given[0]["content"]
    notice = (await m.in_mods("impersonation"))["content"]
    assert f"About: <@{w.mallory.id}> (not verified)" in notice and "Message:" not in notice
