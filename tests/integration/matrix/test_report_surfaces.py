"""What reports and data rights need of the Matrix adapter, as people on a real Synapse see it.

A command sent as a reply points at the message it answers (with that message's author and
text, read once, without the quote clients put in front of the reply); a notice offers its
choices as commands a moderator can send; a member's file arrives in their direct chat; a
message has a link people's clients open. The core is replaced by a recording sink.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest

from bot.model import (
    Access,
    ChannelRef,
    Choice,
    CommandInvocation,
    CommandSpec,
    CommunityRef,
    MemberRef,
    MessagePosted,
    MessageRef,
    ParamKind,
    ParamSpec,
    Role,
)
from tests.fakes.matrix_member import MatrixMember, SyncedEvent
from tests.fixtures.matrix_bot import COMMANDS, MatrixCommunity

pytestmark = pytest.mark.synapse

REPORT = CommandSpec(
    "report",
    "Report a message to the moderators",
    (
        ParamSpec("category", ParamKind.CHOICE, "what is wrong", True, ("spam", "harassment")),
        ParamSpec("member", ParamKind.MEMBER, "who", False),
        ParamSpec("details", ParamKind.TEXT, "details", False),
    ),
    message_menu="Report message",
)
RESOLVE = CommandSpec(
    "resolve",
    "Close a report",
    (
        ParamSpec("report", ParamKind.INTEGER, "report number", True),
        ParamSpec("outcome", ParamKind.TEXT, "outcome", True),
    ),
    access=Access.MODERATOR,
)


def ref(member: MatrixMember) -> MemberRef:
    return MemberRef("matrix", member.user_id)


async def moderators_room(c: MatrixCommunity) -> tuple[MatrixMember, str]:
    """A private moderators' room with one moderator of the community in it."""
    mod = await c.make_member("mod")
    mods = await c.admin.create_room(
        name="moderators",
        preset="private_chat",
        power_users={c.bot.user_id: 100},
        invite=[mod.user_id, c.bot.user_id],
    )
    await mod.join(mods)
    await c.bot.join(mods)
    await c.admin.set_power_level(c.space, mod.user_id, 50)
    return mod, mods


async def test_a_command_sent_as_a_reply_points_at_the_message_without_the_quote(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    adapter, sink, _ = await c.start()
    await adapter.register_commands([*COMMANDS, REPORT])
    bob = await c.member_in_room("bob")
    carol = await c.member_in_room("carol")
    await carol.start_watching()
    said = await bob.send_text(c.room, "you are all idiots\nevery one of you")
    seen = await carol.wait_for(lambda e: e.event.get("event_id") == said)
    # bob edits it: moderators read what the room now shows
    await bob.edit(c.room, said, "you are all idiots, and worse")

    report = await carol.reply_quoting(c.room, seen, "!report harassment he keeps doing this")
    invocation = await sink.wait_for(CommandInvocation, lambda i: i.event_id == report)
    community = CommunityRef("matrix", c.space)
    assert invocation.name == "report"
    assert invocation.positional == ("harassment", "he", "keeps", "doing", "this")
    assert invocation.about == MessageRef(ChannelRef(community, c.room), said)
    assert invocation.about_author == ref(bob)
    assert invocation.about_text == "you are all idiots, and worse"
    posted = await sink.wait_for(MessagePosted, lambda e: e.message.id == report)
    assert posted.reply_to_author == ref(bob)  # filters know whom the reply touches, as before

    # reporting is private: the answer comes by direct message, and the room keeps no trace
    # of who reported (no pointer to the direct chat, the command itself taken out)
    await adapter.respond(invocation, "Thank you, the moderators have your report.")
    dm = await carol.accept_dm(adapter.user_id)
    await carol.wait_for_message(dm, contains="moderators have your report")
    await carol.wait_for_redaction(c.room, report)
    from_bot = [
        e for e in carol.seen if e.room_id == c.room and e.event.get("sender") == adapter.user_id
    ]
    assert [e.type for e in from_bot] == ["m.room.redaction"]


async def test_a_long_message_reaches_the_moderators_as_its_start(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    adapter, sink, _ = await c.start()
    await adapter.register_commands([*COMMANDS, REPORT])
    bob = await c.member_in_room("bob")
    carol = await c.member_in_room("carol")
    long_text = "spam " * 600
    said = await bob.send_text(c.room, long_text)
    report = await carol.reply(c.room, said, "!report spam")
    invocation = await sink.wait_for(CommandInvocation, lambda i: i.event_id == report)
    assert invocation.about_text is not None and long_text.startswith(invocation.about_text)
    assert len(invocation.about_text) == 1_000
    assert invocation.positional == ("spam",)


async def test_a_reply_to_a_removed_message_still_points_at_it(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    adapter, sink, _ = await c.start()
    await adapter.register_commands([*COMMANDS, REPORT])
    bob = await c.member_in_room("bob")
    carol = await c.member_in_room("carol")
    await carol.start_watching()
    said = await bob.send_text(c.room, "something awful")
    await c.admin.redact(c.room, said, "removed by a moderator")
    await carol.wait_for_redaction(c.room, said)  # carol's client shows it removed
    report = await carol.reply(c.room, said, "!report spam this is spam")
    invocation = await sink.wait_for(CommandInvocation, lambda i: i.event_id == report)
    assert invocation.about == MessageRef(ChannelRef(CommunityRef("matrix", c.space), c.room), said)
    assert invocation.about_author is None and invocation.about_text is None
    assert invocation.positional == ("spam", "this", "is", "spam")


async def test_choices_are_written_as_commands_a_moderator_can_send(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    mod, mods = await moderators_room(c)
    adapter, sink, _ = await c.start(config=c.config(moderator_channel=mods, log_channel=mods))
    await adapter.register_commands([*COMMANDS, REPORT, RESOLVE])
    await mod.start_watching()
    community = CommunityRef("matrix", c.space)
    choices = (
        Choice("Dismissed", "resolve", ("12", "dismissed")),
        Choice("Removed", "resolve", ("12", "removed")),
    )
    await adapter.post(ChannelRef(community, mods), "Report 12: harassment.", choices=choices)
    notice = await mod.wait_for_message(mods, sender=adapter.user_id, contains="Report 12")
    assert notice.content["body"] == (
        "Report 12: harassment.\nTo answer, send one of:\n"
        "!resolve 12 dismissed — Dismissed\n!resolve 12 removed — Removed"
    )
    assert notice.content["m.mentions"] == {}  # no one is pinged by a notice

    # the admins' notices offer theirs the same way
    await adapter.notify_admins(community, "Report 13 is overdue.", choices=choices[:1])
    overdue = await mod.wait_for_message(mods, sender=adapter.user_id, contains="Report 13")
    assert overdue.content["body"].endswith(
        "To answer, send one of:\n!resolve 12 dismissed — Dismissed"
    )

    # a line copied from the notice is a command there, from the moderator
    typed = notice.content["body"].splitlines()[2].split(" — ")[0]
    sent = await mod.send_text(mods, typed)
    invocation = await sink.wait_for(CommandInvocation, lambda i: i.event_id == sent)
    assert (invocation.name, invocation.positional) == ("resolve", ("12", "dismissed"))
    assert invocation.community == community and invocation.invoker.role is Role.MODERATOR


async def test_a_file_arrives_in_the_members_direct_chat_exactly(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    adapter, sink, _ = await c.start()
    carol = await c.member_in_room("carol")
    await carol.start_watching()
    sent = await carol.send_text(c.room, "!held")
    invocation = await sink.wait_for(CommandInvocation, lambda i: i.event_id == sent)
    data = json.dumps({"member": carol.user_id, "held": ["ünïcödé", "x" * 5000]}).encode()

    await adapter.respond_file(
        invocation, "Here is everything I keep about you.", "data.json", data
    )
    dm = await carol.accept_dm(adapter.user_id)

    def is_file(e: SyncedEvent) -> bool:
        return e.room_id == dm and e.content.get("msgtype") == "m.file"

    file = await carol.wait_for(is_file)
    assert file.content["body"] == "data.json"
    assert file.content["info"] == {"mimetype": "application/json", "size": len(data)}
    assert await carol.download(file.content["url"]) == data
    await carol.wait_for_message(dm, sender=adapter.user_id, contains="everything I keep")
    # only the member's direct chat had it: the room heard only where answers go
    in_room = [e for e in carol.seen if e.room_id == c.room and e.content.get("msgtype")]
    assert [e.content["msgtype"] for e in in_room if e.event["sender"] == adapter.user_id] == [
        "m.notice"
    ]


async def test_a_file_the_server_refuses_is_explained_in_words(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    adapter, sink, _ = await c.start()
    carol = await c.member_in_room("carol")
    dm_command = await carol.send_text(c.room, "!held")
    invocation = await sink.wait_for(CommandInvocation, lambda i: i.event_id == dm_command)
    too_big = b"x" * (1024 * 1024 + 1)  # the test homeserver takes files up to 1 MiB

    await adapter.respond_file(invocation, "Here is your data.", "data.json", too_big)
    dm = await carol.accept_dm(adapter.user_id)
    said = await carol.wait_for_message(dm, sender=adapter.user_id, contains="could not send")
    assert "data.json" in said.content["body"] and "Nothing was changed" in said.content["body"]
    assert not [e for e in carol.seen if e.content.get("msgtype") == "m.file"]
    assert not [e for e in carol.seen if "Here is your data" in str(e.content.get("body"))]


async def test_a_message_link_opens_the_event(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    adapter, _, _ = await c.start()
    said = await c.admin.send_text(c.room, "look here")
    message = MessageRef(ChannelRef(CommunityRef("matrix", c.space), c.room), said)
    link = adapter.message_link(message)
    room_part, event_part = link.removeprefix("https://matrix.to/#/").split("/")
    assert link.startswith("https://matrix.to/#/!")
    assert ":" not in room_part and "$" not in event_part  # percent-encoded, as matrix.to wants
    assert (unquote(room_part), unquote(event_part)) == (c.room, said)
