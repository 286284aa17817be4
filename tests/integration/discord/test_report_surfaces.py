"""The Discord surfaces of reports and data rights, with real discord.py against the loopback
Discord: a command on a message's own menu (select, then form), buttons that run a command as
whoever clicks them (also after a restart), a file handed over privately, a message's link.

A recording sink stands in for the core, except where the core's own access check is the point.
The specs are written here as a cog would declare them; the adapter reads them generically.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.cog import Cog, CoreView, command
from bot.model import (
    Access,
    ChannelRef,
    Choice,
    CommandContext,
    CommandInvocation,
    CommandSpec,
    CommunityRef,
    Event,
    MemberRef,
    MessageRef,
    ParamKind,
    ParamSpec,
    Role,
)
from bot.params import Param
from tests.fakes.discord_api import InteractionRecord, Upload, User, buttons_of, select_of
from tests.fixtures.discord_fake import AdapterFactory, BotFactory, DiscordWorld, RecordingSink

pytestmark = pytest.mark.discord_fake

CATEGORIES = ("spam", "harassment", "self_harm")
REPORT = CommandSpec(
    "report",
    "Report a message or an account to this community's moderators",
    (
        ParamSpec("category", ParamKind.CHOICE, "what it is about", choices=CATEGORIES),
        ParamSpec("member", ParamKind.MEMBER, "the account you report", required=False),
        ParamSpec("details", ParamKind.TEXT, "what happened, in your words", required=False),
    ),
    message_menu="Report message",
)
NOTE = CommandSpec(  # no choice to make: the menu goes straight to the form
    "note",
    "Keep a note",
    (ParamSpec("text", ParamKind.TEXT, "your note"),),
    message_menu="Note this",
)
RESOLVE = CommandSpec(
    "resolve",
    "Close a report",
    (
        ParamSpec("report", ParamKind.INTEGER, "the report's number"),
        ParamSpec("outcome", ParamKind.CHOICE, "what was done", choices=("warned", "no_action")),
    ),
    access=Access.MODERATOR,
)
MYDATA = CommandSpec("mydata", "A copy of what the bot keeps about you")
SPECS = [REPORT, NOTE, RESOLVE, MYDATA]
ANSWER = "Thank you, the moderators have it."
STALE = "Please use “Report message” on the message again."


def community(w: DiscordWorld) -> CommunityRef:
    return CommunityRef("discord", str(w.guild.id))


def ref(user: User) -> MemberRef:
    return MemberRef("discord", str(user.id))


async def answering(discord_adapter: AdapterFactory) -> tuple[DiscordAdapter, RecordingSink]:
    """An adapter whose stand-in core answers every command privately, with SPECS published."""
    sink = RecordingSink()

    async def answer(adapter: object, item: Event | CommandInvocation) -> None:
        if isinstance(item, CommandInvocation):
            assert isinstance(adapter, DiscordAdapter)
            await adapter.respond(item, ANSWER)

    sink.react = answer
    adapter = await discord_adapter(sink)
    await adapter.register_commands(SPECS)
    return adapter, sink


async def answered(w: DiscordWorld, record: InteractionRecord) -> dict[str, Any]:
    """The bot's first answer to an interaction (a message to the person), once it came."""
    await w.fake.wait_until(lambda: record.answers, what="the bot's answer")
    return record.answers[0]


async def opened(w: DiscordWorld, record: InteractionRecord) -> dict[str, Any]:
    """The form the bot opened in answer to an interaction, once it did."""
    return await w.fake.wait_until(lambda: record.modal, what="a form")  # type: ignore[no-any-return]


async def menu_to_form(
    w: DiscordWorld, user: User, message: dict[str, Any], category: str
) -> InteractionRecord:
    """`user` opens Report message on `message` and picks `category`: the record of the pick,
    whose reply is the form."""
    menu = await w.fake.push_message_command(w.guild, user, "Report message", message)
    reply = await answered(w, menu)
    pick = await w.fake.push_select(user, w.fake.reply_message(reply), category)
    await opened(w, pick)
    return pick


async def test_the_message_menu_entry_is_published_beside_the_slash_commands(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    await answering(discord_adapter)

    published = {(c["name"], c["type"]): c for c in w.world.guild_commands[w.guild.id]}
    wanted = {("report", 1), ("Report message", 3), ("Note this", 3), ("resolve", 1)}
    assert wanted <= set(published)
    assert published[("Report message", 3)]["default_member_permissions"] is None  # members'
    assert published[("resolve", 1)]["default_member_permissions"] == str(1 << 13)


async def test_reporting_through_the_menu_hands_over_the_message_its_author_and_the_choice(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    _, sink = await answering(discord_adapter)
    posted = await w.fake.push_message(w.general, w.mallory, "x" * 1500)

    menu = await w.fake.push_message_command(w.guild, w.alice, "Report message", posted.data)
    reply = await answered(w, menu)
    select = select_of(w.fake.reply_message(reply))
    assert reply["ephemeral"] and reply["content"] == "Report message: choose what it is about."
    assert select is not None and [o["value"] for o in select["options"]] == list(CATEGORIES)

    prompt = w.fake.reply_message(reply)
    pick = await w.fake.push_select(w.alice, prompt, "harassment")
    form = await opened(w, pick)
    assert form["title"] == "Report message"
    (field,) = [c["component"] for c in form["components"]]
    assert field["style"] == 2 and field["max_length"] == 1000 and not field["required"]

    submit = await w.fake.push_modal_submit(pick, w.alice, text="keeps sending me this")
    invocation = await sink.next(CommandInvocation)
    assert invocation.name == "report" and invocation.invoker.member == ref(w.alice)
    assert invocation.args == (("category", "harassment"), ("details", "keeps sending me this"))
    where = ChannelRef(community(w), str(w.general.id))
    assert invocation.about == MessageRef(where, str(posted.id))
    assert invocation.about_author == ref(w.mallory)
    assert invocation.about_text == "x" * 1000  # only the start travels
    assert invocation.community == community(w) and invocation.channel == where
    answer = await answered(w, submit)
    assert answer["ephemeral"] and answer["content"] == ANSWER
    # the select now shows the choice and can no longer be sent again
    assert (prompt["content"], prompt["components"]) == ("Report message: harassment", [])


async def test_details_left_empty_are_not_passed_on(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    _, sink = await answering(discord_adapter)
    posted = await w.fake.push_message(w.general, w.mallory, "buy now")

    pick = await menu_to_form(w, w.alice, posted.data, "spam")
    await w.fake.push_modal_submit(pick, w.alice)

    invocation = await sink.next(CommandInvocation)
    assert invocation.args == (("category", "spam"),)


async def test_a_menu_without_a_choice_opens_the_form_at_once(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    _, sink = await answering(discord_adapter)
    posted = await w.fake.push_message(w.general, w.bob, "a fine post")

    menu = await w.fake.push_message_command(w.guild, w.moderator, "Note this", posted.data)
    assert (await opened(w, menu))["title"] == "Note this"
    await w.fake.push_modal_submit(menu, w.moderator, text="keep an eye on it")

    invocation = await sink.next(CommandInvocation)
    assert (invocation.name, invocation.args) == ("note", (("text", "keep an eye on it"),))
    assert invocation.invoker.role is Role.MODERATOR and invocation.about_author == ref(w.bob)


async def test_a_button_runs_its_command_as_the_member_who_clicks_it(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter, sink = await answering(discord_adapter)
    place = ChannelRef(community(w), str(w.general.id))
    choices = [
        Choice("Warned", "resolve", ("12", "warned")),
        Choice("No action", "resolve", ("12", "no_action")),
    ]

    await adapter.post(place, "Report #12: spam", choices=choices)

    (notice,) = w.fake.bot_messages(w.general.id)
    assert notice["content"] == "Report #12: spam"
    assert buttons_of(notice) == [
        ("Warned", "verifybot:resolve 12 warned"),
        ("No action", "verifybot:resolve 12 no_action"),
    ]
    click = await w.fake.push_click(w.moderator, notice, "verifybot:resolve 12 warned")
    invocation = await sink.next(CommandInvocation)
    assert (invocation.name, invocation.positional) == ("resolve", ("12", "warned"))
    assert invocation.invoker.member == ref(w.moderator)
    assert invocation.invoker.role is Role.MODERATOR
    assert invocation.community == community(w) and invocation.channel == place
    answer = await answered(w, click)
    assert answer["ephemeral"] and answer["content"] == ANSWER


async def test_buttons_still_work_after_a_restart(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    before, _ = await answering(discord_adapter)
    await before.notify_admins(
        community(w), "Report #3 is overdue", choices=[Choice("Warned", "resolve", ("3", "warned"))]
    )
    (notice,) = [m for m in w.fake.bot_messages(w.log_channel.id) if "#3" in m["content"]]
    await before.stop()

    _, sink = await answering(discord_adapter)
    click = await w.fake.push_click(w.admin, notice, "verifybot:resolve 3 warned")

    invocation = await sink.next(CommandInvocation)
    assert invocation.positional == ("3", "warned") and invocation.invoker.role is Role.ADMIN
    assert (await answered(w, click))["content"] == ANSWER


async def test_choices_that_buttons_cannot_hold_are_written_out(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter, _ = await answering(discord_adapter)
    many = [Choice(f"#{n}", "resolve", (str(n), "warned")) for n in range(26)]
    too_long = Choice("Long", "resolve", ("9" * 100,))

    await adapter.post(
        ChannelRef(community(w), str(w.general.id)), "Open reports", choices=[*many, too_long]
    )

    (notice,) = w.fake.bot_messages(w.general.id)
    assert [len(row["components"]) for row in notice["components"]] == [5, 5, 5, 5, 5]
    assert notice["content"].splitlines()[1:] == [
        "Or run one of:",
        "/resolve 25 warned — #25",
        f"/resolve {'9' * 100} — Long",
    ]


async def test_a_members_click_on_a_moderators_button_is_refused_by_the_core(
    discord_world: DiscordWorld, discord_bot_with: BotFactory
) -> None:
    w = discord_world
    bot = await discord_bot_with([Desk])
    place = ChannelRef(community(w), str(w.general.id))
    await bot.adapter.post(
        place, "Report #7", choices=[Choice("Warned", "resolve", ("7", "warned"))]
    )
    (notice,) = w.fake.bot_messages(w.general.id)

    refused = await w.fake.push_click(w.alice, notice, "verifybot:resolve 7 warned")
    answer = await answered(w, refused)
    assert answer["ephemeral"] and answer["content"] == "Only a moderator can run /resolve."
    assert bot.core.cog(Desk).resolved == []

    done = await w.fake.push_click(w.moderator, notice, "verifybot:resolve 7 warned")
    assert (await answered(w, done))["content"] == "Report #7: warned."
    assert bot.core.cog(Desk).resolved == [(7, "warned")]


class Desk(Cog):
    """A moderators' command, so the core's access check can be seen through a button."""

    def __init__(self, core: CoreView) -> None:
        super().__init__(core)
        self.resolved: list[tuple[int, str]] = []

    @command("resolve", help="Close a report", access=Access.MODERATOR)
    async def resolve(
        self,
        ctx: CommandContext,
        report: Annotated[int, Param("the report's number")],
        outcome: Annotated[str, Param("what was done")],
    ) -> None:
        self.resolved.append((report, outcome))
        await ctx.respond(f"Report #{report}: {outcome}.")


async def handing_over(discord_adapter: AdapterFactory, data: bytes) -> None:
    """An adapter whose stand-in core answers every command with `data` as my-data.json."""
    sink = RecordingSink()

    async def hand_over(adapter: object, item: Event | CommandInvocation) -> None:
        if isinstance(item, CommandInvocation):
            assert isinstance(adapter, DiscordAdapter)
            await adapter.respond_file(item, "Your data is attached.", "my-data.json", data)

    sink.react = hand_over
    await (await discord_adapter(sink)).register_commands(SPECS)


async def test_a_file_answer_arrives_privately_with_its_bytes(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    data = json.dumps({"member": str(w.alice.id), "filter": "replies"}).encode()
    await handing_over(discord_adapter, data)

    record = await w.fake.push_command(w.guild, w.general, w.alice, "mydata")
    answer = await answered(w, record)
    assert answer["ephemeral"] and answer["content"] == "Your data is attached."
    assert answer["files"] == [Upload("my-data.json", data)]

    late = await w.fake.push_command(w.guild, w.general, w.alice, "mydata")
    late.expire()  # the interaction can no longer be answered: the file comes by DM
    await w.fake.wait_until(lambda: w.fake.dm_messages(w.alice), what="the DM")
    (direct,) = w.fake.dm_messages(w.alice)
    assert direct["content"] == "Your data is attached."
    assert w.world.attached(direct) == [Upload("my-data.json", data)]
    assert late.replies == []


async def test_a_message_link_opens_the_message_without_a_request(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    before = len(w.fake.requests)
    message = MessageRef(ChannelRef(community(w), str(w.general.id)), "1234567890123456789")

    link = adapter.message_link(message)

    assert link == f"https://discord.com/channels/{w.guild.id}/{w.general.id}/1234567890123456789"
    assert len(w.fake.requests) == before


async def test_a_select_left_open_over_a_restart_asks_to_use_the_menu_again(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    before, _ = await answering(discord_adapter)
    posted = await w.fake.push_message(w.general, w.mallory, "buy now")
    menu = await w.fake.push_message_command(w.guild, w.alice, "Report message", posted.data)
    prompt = w.fake.reply_message(await answered(w, menu))
    await before.stop()

    _, sink = await answering(discord_adapter)
    pick = await w.fake.push_select(w.alice, prompt, "spam")

    answer = await answered(w, pick)
    assert answer["ephemeral"] and STALE in str(answer["content"])
    assert pick.modal is None and sink.commands == []


async def test_a_form_sent_after_a_restart_asks_to_use_the_menu_again(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    before, _ = await answering(discord_adapter)
    posted = await w.fake.push_message(w.general, w.mallory, "buy now")
    pick = await menu_to_form(w, w.alice, posted.data, "spam")
    await before.stop()

    _, sink = await answering(discord_adapter)
    submit = await w.fake.push_modal_submit(pick, w.alice, text="it is spam")

    answer = await answered(w, submit)
    assert answer["ephemeral"] and STALE in str(answer["content"])
    assert sink.commands == []


async def test_a_file_too_large_for_discord_is_not_sent_and_the_member_is_told(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    await handing_over(discord_adapter, b"x" * (11 << 20))

    answer = await answered(w, await w.fake.push_command(w.guild, w.general, w.alice, "mydata"))

    assert answer["ephemeral"] and "files" not in answer
    assert answer["content"] == (
        "Your data is attached.\nThe file is too large for Discord to carry (11 MB; the limit"
        " is 10 MB)."
    )
