"""Where commands typed on Matrix are answered, as people in those rooms see it.

A command in a community room is answered in a direct chat; the first time, the room hears a short
pointer there (unless the admin has commands redacted, so the room does not learn who asked).
A moderators' room is a management room: commands there act on its community, and answers to
moderators' commands stay in it so the other moderators see them.
"""

from __future__ import annotations

import pytest

from bot.model import Access, CommandInvocation, CommandSpec, CommunityRef, Role
from tests.fixtures.matrix_bot import COMMANDS, MatrixCommunity

pytestmark = pytest.mark.synapse

APPROVE = CommandSpec("approve", "Approve a request", access=Access.MODERATOR)


async def test_a_room_is_told_once_that_answers_come_by_direct_message(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    adapter, sink, _ = await c.start()
    carol = await c.member_in_room("carol")
    await carol.start_watching()
    for number in (1, 2):
        sent = await carol.send_text(c.room, "!held")
        invocation = await sink.wait_for(CommandInvocation, lambda i, e=sent: i.event_id == e)
        await adapter.respond(invocation, f"Nothing is held for you ({number}).")
    dm = await carol.accept_dm(adapter.user_id)
    await carol.wait_for_message(dm, contains="(2)")
    pointers = [
        e
        for e in carol.seen
        if e.room_id == c.room
        and "answer commands in a direct message" in e.content.get("body", "")
    ]
    assert len(pointers) == 1 and pointers[0].content["m.mentions"] == {}  # nobody pinged


async def test_commands_can_be_taken_out_of_the_room_once_answered(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    adapter, sink, _ = await c.start(settings=c.settings(redact_commands=True))
    carol = await c.member_in_room("carol")
    await carol.start_watching()
    sent = await carol.send_text(c.room, "!verify")
    invocation = await sink.wait_for(CommandInvocation, lambda i: i.event_id == sent)
    await adapter.respond(invocation, "Here is your private link.")
    await carol.wait_for_redaction(c.room, sent)
    dm = await carol.accept_dm(adapter.user_id)
    await carol.wait_for_message(dm, contains="private link")
    # and the room is not told that carol asked the bot something
    said = [e for e in carol.seen if e.room_id == c.room and e.type == "m.room.message"]
    assert not [e for e in said if e.event["sender"] == c.bot.user_id]


async def test_the_moderators_room_acts_on_its_community_and_keeps_answers_there(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    mod = await c.make_member("mod")
    mods = await c.admin.create_room(
        name="moderators",
        preset="private_chat",
        power_users={c.bot.user_id: 100},
        invite=[mod.user_id, c.bot.user_id],
    )
    await mod.join(mods)
    await c.bot.join(mods)
    await c.admin.set_power_level(c.space, mod.user_id, 50)  # a moderator of the community
    adapter, sink, _ = await c.start(config=c.config(moderator_channel=mods))
    await adapter.register_commands([*COMMANDS, APPROVE])
    await mod.start_watching()

    approve = await mod.send_text(mods, "!approve @someone:localhost")
    invocation = await sink.wait_for(CommandInvocation, lambda i: i.event_id == approve)
    assert invocation.community == CommunityRef("matrix", c.space)
    assert invocation.invoker.role is Role.MODERATOR
    await adapter.respond(invocation, "Approved, for all moderators to see.")
    await mod.wait_for_message(mods, sender=adapter.user_id, contains="for all moderators")

    # a member's own answers (here: what is held for them) still go to their direct chat
    held = await mod.send_text(mods, "!held")
    mine = await sink.wait_for(CommandInvocation, lambda i: i.event_id == held)
    await adapter.respond(mine, "Nothing is held for you.")
    dm = await mod.accept_dm(adapter.user_id)
    await mod.wait_for_message(dm, contains="Nothing is held")
    assert not [
        e for e in mod.seen if e.room_id == mods and "Nothing is held" in e.content.get("body", "")
    ]
    # the moderators' room is no community of its own: nothing there is filtered
    assert CommunityRef("matrix", mods) not in adapter.communities()
