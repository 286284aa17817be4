"""The Matrix adapter against a real Synapse: what it delivers to the core, and what members see
when it acts. The core is replaced by a recording sink; `test_end_to_end.py` runs the real one."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.base import AdapterError, ChatAdapter
from bot.adapters.matrix import MatrixAdapter, ReplyHandle
from bot.config import SecretRef
from bot.model import (
    ChannelRef,
    CommandInvocation,
    CommunityAdded,
    CommunityRef,
    MemberJoined,
    MemberRef,
    MessagePosted,
    ReactionAdded,
    Role,
    UnverifiedPolicy,
)
from tests.fakes.core import MemoryState, RecordingSink
from tests.fakes.matrix_member import MatrixError, MatrixMember
from tests.fixtures.matrix_bot import MatrixCommunity
from tests.waiting import wait_until

pytestmark = pytest.mark.synapse


def ref(member: MatrixMember) -> MemberRef:
    return MemberRef("matrix", member.user_id)


# --- connecting ---------------------------------------------------------------------------------


async def test_satisfies_the_adapter_protocol(matrix_community: MatrixCommunity) -> None:
    adapter, _, _ = await matrix_community.start()
    assert isinstance(adapter, ChatAdapter)
    assert adapter.capabilities.command_prefix == "!"
    community = CommunityRef("matrix", matrix_community.space)
    assert adapter.communities() == [community]
    general = ChannelRef(community, matrix_community.room)
    assert adapter.parse_channel("general", community) == general  # by name, as people say it
    assert adapter.parse_channel(matrix_community.room, community) == general
    assert adapter.parse_channel("!notours", community) is None


async def test_refused_token_says_which_setting_to_fix(matrix_community: MatrixCommunity) -> None:
    config = matrix_community.config()
    adapter = MatrixAdapter(
        matrix_community.settings(), config, MemoryState(), environ={"TEST_MATRIX_TOKEN": "nope"}
    )
    with pytest.raises(AdapterError, match=r"matrix\.access_token"):
        await adapter.start(RecordingSink())


async def test_logs_in_with_a_password(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    settings = c.settings(access_token=None, password=SecretRef(env="PW"))
    adapter = MatrixAdapter(settings, c.config(), MemoryState(), environ={"PW": c.bot.password})
    await adapter.start(RecordingSink())
    try:
        assert adapter.communities() == [CommunityRef("matrix", c.space)]
    finally:
        await adapter.stop()


# --- what members do, as the core receives it ---------------------------------------------------


async def test_messages_carry_who_they_touch(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    _adapter, sink, _ = await c.start()
    carol = await c.member_in_room("carol")
    room = c.room
    root = await c.admin.send_text(room, "welcome")
    reply = await carol.reply(room, root, "thanks")
    mention = await carol.mention(room, c.admin.user_id, "hello")
    pill = await carol.mention(room, c.admin.user_id, "hello again", pill=True)
    thread = await carol.thread_post(room, root, "in the thread")
    link = await carol.send_text(room, "look at https://example.org/offer")
    image = await carol.send(
        room, {"msgtype": "m.image", "body": "cat.png", "url": "mxc://localhost/cat"}
    )
    everyone = await carol.send_text(room, "@room look", **{"m.mentions": {"room": True}})
    await sink.wait_for(MessagePosted, lambda e: e.message.id == everyone)
    by_id = {e.message.id: e for e in sink.of(MessagePosted)}
    admin = ref(c.admin)

    assert by_id[reply].reply_to_author == admin and by_id[reply].text == "thanks"
    assert by_id[mention].mentioned == (admin,)
    assert by_id[pill].mentioned == (admin,)
    assert by_id[thread].thread_starter == admin and by_id[thread].reply_to_author is None
    assert by_id[link].has_link and not by_id[link].has_attachment
    assert by_id[image].has_attachment
    assert by_id[everyone].mentions_everyone
    assert by_id[root].sender.role is Role.ADMIN  # a v12 creator outranks every level
    assert by_id[reply].sender == by_id[reply].sender.__class__(ref(carol), Role.MEMBER)
    assert all(
        e.message.channel == ChannelRef(CommunityRef("matrix", c.space), room)
        for e in by_id.values()
    )
    joined = sink.of(MemberJoined)
    assert [e.member for e in joined] == [ref(carol)]


async def test_reactions_name_the_author_and_the_reaction_event(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    _adapter, sink, _ = await c.start()
    carol = await c.member_in_room("carol")
    target = await c.admin.send_text(c.room, "vote")
    reaction = await carol.react(c.room, target, "👎")
    seen = await sink.wait_for(ReactionAdded)
    assert seen.message.id == target
    assert seen.message_author == ref(c.admin)
    assert seen.reaction_id == reaction and seen.emoji == "👎"
    assert seen.sender.member == ref(carol)


# --- commands -----------------------------------------------------------------------------------


async def test_text_commands_become_invocations(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    adapter, sink, _ = await c.start()
    carol = await c.member_in_room("carol")
    await carol.send_text(c.room, "!unknowncommand please")
    first = await carol.send_text(c.room, "!filter   replies")
    # Element writes a pill's display name in body; the id is in formatted_body
    link = f'<a href="https://matrix.to/#/{c.admin.user_id}">Admin Person</a>'
    second = await c.admin.send_text(
        c.room,
        "!badge Admin Person",
        format="org.matrix.custom.html",
        formatted_body=f"!badge {link}",
    )
    badge = await sink.wait_for(CommandInvocation, lambda i: i.event_id == second)
    command = await sink.wait_for(CommandInvocation, lambda i: i.event_id == first)

    assert command.name == "filter" and command.positional == ("replies",)
    assert command.community == CommunityRef("matrix", c.space)
    assert command.invoker.member == ref(carol) and command.invoker.role is Role.MEMBER
    assert badge.positional == (c.admin.user_id,) and badge.invoker.role is Role.ADMIN
    assert adapter.parse_member(badge.positional[0]) == ref(c.admin)
    # unknown ones reach the core too, which points the member to help
    assert [i.name for i in sink.commands] == ["unknowncommand", "filter", "badge"]


async def test_private_answers_go_to_a_remembered_direct_room(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    adapter, sink, state = await c.start()
    carol = await c.member_in_room("carol")
    await carol.send_text(c.room, "!held")
    invocation = await sink.wait_for(CommandInvocation)

    await adapter.respond(invocation, "Nothing is held for you.")
    dm = await carol.accept_dm(adapter.user_id)
    answer = await carol.wait_for_message(dm, sender=adapter.user_id)
    assert answer.content["body"] == "Nothing is held for you."
    assert answer.content["msgtype"] == "m.notice"

    await adapter.send_direct(ref(carol), "second")
    await carol.wait_for_message(dm, contains="second")
    assert dm in (state.values.get("dm_room_ids") or "")
    # the room is remembered by its id alone: adapter state names no member
    assert not [key for key, value in state.values.items() if carol.user_id in key + value]

    # a command written in the DM is answered there, for the one community carol is in
    asked = await carol.send_text(dm, "!held")
    direct = await sink.wait_for(CommandInvocation, lambda i: i.event_id == asked)
    assert direct.community == CommunityRef("matrix", c.space) and direct.channel is None
    assert isinstance(direct.reply_handle, ReplyHandle) and direct.reply_handle.direct
    await adapter.respond(direct, "here")
    await carol.wait_for_message(dm, contains="here")

    await adapter.respond(invocation, "for everyone", private=False)
    public = await carol.wait_for_message(c.room, contains="for everyone")
    assert public.content["m.relates_to"]["m.in_reply_to"]["event_id"] == invocation.event_id

    # after a restart the bot finds carol's room again from the room's own state
    await c.stop(adapter)
    again, _, _ = await c.start(state=state)
    await again.send_direct(ref(carol), "still here")
    await carol.wait_for_message(dm, contains="still here")
    assert set(carol.invites) == set(), "no second direct room was opened"


async def test_a_member_may_open_the_direct_chat(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    adapter, sink, _ = await c.start()
    carol = await c.member_in_room("carol")
    await carol.start_watching()
    await sink.wait_for(MemberJoined)
    dm = await carol.create_room(
        preset="trusted_private_chat", invite=[adapter.user_id], extra={"is_direct": True}
    )

    async def bot_joined() -> bool:
        return await carol.membership(dm, adapter.user_id) == "join"

    await wait_until(bot_joined, what="the bot accepts a member's direct chat")
    asked = await carol.send_text(dm, "!held")
    command = await sink.wait_for(CommandInvocation, lambda i: i.event_id == asked)
    assert command.channel is None and command.community == CommunityRef("matrix", c.space)
    await adapter.send_direct(ref(carol), "answered where you asked")
    await carol.wait_for_message(dm, contains="answered where you asked")
    assert adapter.communities() == [CommunityRef("matrix", c.space)]  # a DM is no community


# --- actions ------------------------------------------------------------------------------------


async def test_removed_message_is_redacted_with_its_reason(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    adapter, sink, _ = await c.start()
    carol = await c.member_in_room("carol")
    await c.admin.start_watching()
    spam = await carol.send_text(c.room, "buy now")
    posted = await sink.wait_for(MessagePosted, lambda e: e.message.id == spam)
    await adapter.remove_message(posted.message, "links from unverified accounts")
    redaction = await c.admin.wait_for_redaction(c.room, spam)
    assert redaction.event["sender"] == adapter.user_id
    assert redaction.content.get("reason") == "links from unverified accounts"


async def test_badge_appears_and_disappears(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    adapter, sink, state = await c.start()
    carol = await c.member_in_room("carol")
    await carol.start_watching()
    community = CommunityRef("matrix", c.space)
    await sink.wait_for(MemberJoined)

    await adapter.set_badge(ref(carol), community, True)
    levels = await c.admin.power_levels(c.room)
    assert levels["users"][carol.user_id] == 1
    space = state.values[f"verified_space:{c.space}"]
    await carol.wait_for_invite(space)
    assert [m async for m in adapter.badge_holders(community)] == [ref(carol)]
    await adapter.set_badge(ref(carol), community, True)  # idempotent: no second invite error

    await adapter.set_badge(ref(carol), community, False)
    assert carol.user_id not in (await c.admin.power_levels(c.room))["users"]
    await carol.wait_for_membership(space, "leave")
    assert [m async for m in adapter.badge_holders(community)] == []


async def test_badge_never_demotes_a_moderator(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    adapter, _sink, _ = await c.start()
    mod = await c.member_in_room("mod")
    await c.admin.set_power_level(c.room, mod.user_id, 50)
    await wait_until(
        lambda: adapter._directory.rooms[c.room].users().get(mod.user_id) == 50, what="sync"
    )
    community = CommunityRef("matrix", c.space)
    await adapter.set_badge(ref(mod), community, True)
    await adapter.set_badge(ref(mod), community, False)
    assert (await c.admin.power_levels(c.room))["users"][mod.user_id] == 50


async def test_read_only_lets_only_badge_holders_post(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    adapter, sink, _ = await c.start()
    carol = await c.member_in_room("carol")
    dave = await c.member_in_room("dave")
    community = CommunityRef("matrix", c.space)
    await sink.wait_for(MemberJoined, lambda e: e.member == ref(dave))
    await adapter.set_badge(ref(dave), community, True)

    await adapter.apply_policy(community, UnverifiedPolicy.READ_ONLY)
    with pytest.raises(MatrixError) as refused:
        await carol.send_text(c.room, "can I speak?")
    assert refused.value.errcode == "M_FORBIDDEN"
    await dave.send_text(c.room, "verified and heard")

    await adapter.apply_policy(community, UnverifiedPolicy.OPEN)
    await carol.send_text(c.room, "now I can")
    assert (await c.admin.power_levels(c.room)).get("events_default", 0) == 0


async def test_verified_only_refuses_a_non_member_join(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    adapter, sink, state = await c.start()
    # a new room added to the space: the bot joins it by itself and reports it
    power = {adapter.user_id: 100}
    inner = await c.admin.create_room(name="inner circle", power_users=power)
    await c.admin.add_child(c.space, inner)
    added = await sink.wait_for(CommunityAdded, lambda e: e.channel is not None)
    assert added.channel == ChannelRef(CommunityRef("matrix", c.space), inner)

    await adapter.apply_policy(added.channel, UnverifiedPolicy.VERIFIED_ONLY)
    carol = await c.make_member("carol")
    with pytest.raises(MatrixError) as refused:
        await carol.join(inner)
    assert refused.value.errcode == "M_FORBIDDEN"

    dave = await c.member_in_room("dave")
    await sink.wait_for(MemberJoined, lambda e: e.member == ref(dave))
    await adapter.set_badge(ref(dave), CommunityRef("matrix", c.space), True)
    space = state.values[f"verified_space:{c.space}"]
    await dave.wait_for_invite(space)
    await dave.join(space)
    await dave.join(inner)  # a member of the Verified space may enter

    await adapter.apply_policy(added.channel, UnverifiedPolicy.OPEN)
    assert (await c.admin.state(inner, "m.room.join_rules"))["join_rule"] == "public"
    await carol.join(inner)


# --- telling admins -----------------------------------------------------------------------------


async def test_admins_hear_exactly_what_power_is_missing(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    weak = await c.admin.create_room(name="no power here")  # the bot keeps level 0
    await c.admin.add_child(c.space, weak)
    await c.bot.join(weak)
    await c.admin.start_watching()
    adapter, _sink, state = await c.start()
    dm = await c.admin.accept_dm(adapter.user_id)
    notice = await c.admin.wait_for_message(dm, contains="no power here")
    text = notice.content["body"]
    assert "my power level there is 0" in text
    assert "50 to remove messages (redact)" in text
    assert "100 to change power levels" in text
    assert "50 to remove members (kick)" in text
    assert "50 to invite (invite)" in text  # Synapse's rooms ask 50 to invite
    assert "50 to change who may join (m.room.join_rules)" in text
    assert c.admin.user_id in text and "outrank" in text  # v12: only a creator can fix it

    # a restart does not repeat the same complaint
    await c.stop(adapter)
    adapter, _sink, state = await c.start(state=state)
    marker = await c.admin.send_text(dm, "still there?")
    await c.admin.wait_for(lambda e: e.event.get("event_id") == marker)
    assert not [
        e
        for e in c.admin.seen
        if e.room_id == dm and "no power here" in str(e.content.get("body")) and e is not notice
    ]


async def test_encrypted_rooms_are_reported_not_protected(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    log_room = await c.admin.create_room(name="bot log")
    await c.bot.join(log_room)
    secret = await c.admin.create_room(
        name="secret", encrypted=True, power_users={c.bot.user_id: 100}
    )
    await c.admin.add_child(c.space, secret)
    await c.bot.join(secret)
    await c.admin.start_watching()
    _adapter, _sink, _ = await c.start(config=c.config(log_channel=log_room))
    notice = await c.admin.wait_for_message(log_room, contains="end-to-end encrypted")
    assert notice.content["body"].startswith("secret is end-to-end encrypted")  # its name


async def test_power_levels_growth_is_reported_early(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    log_room = await c.admin.create_room(name="bot log")
    await c.bot.join(log_room)
    await c.admin.start_watching()
    settings = c.settings(power_levels_warn_bytes=2048)
    config = c.config(log_channel=log_room).model_copy(update={"matrix": settings})
    _adapter, _sink, _ = await c.start(config=config)
    levels = await c.admin.power_levels(c.room)
    levels["users"].update({f"@someone-{n:03d}:localhost": 1 for n in range(100)})
    await c.admin.put_state(c.room, "m.room.power_levels", levels)
    notice = await c.admin.wait_for_message(log_room, contains="power levels")
    assert "65536 bytes" in notice.content["body"] and "general" in notice.content["body"]


# --- invites ------------------------------------------------------------------------------------


async def test_invites_only_from_configured_inviters(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    adapter, _sink, _ = await c.start()
    stranger = await c.make_member("stranger")
    theirs = await stranger.create_room(name="spam", invite=[adapter.user_id])
    ours = await c.admin.create_room(name="ours", invite=[adapter.user_id])

    async def bot_in(room: str, who: MatrixMember, membership: str) -> bool:
        return await who.membership(room, adapter.user_id) == membership

    await wait_until(lambda: bot_in(ours, c.admin, "join"), what="bot joins the admin's room")
    await wait_until(lambda: bot_in(theirs, stranger, "leave"), what="bot declines the stranger")


# --- durability and back-pressure ---------------------------------------------------------------


async def test_restart_neither_misses_nor_repeats(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    carol = await c.member_in_room("carol")
    before = await carol.send_text(c.room, "history from before the bot")
    adapter, sink, state = await c.start()
    first = await carol.send_text(c.room, "one")
    await sink.wait_for(MessagePosted, lambda e: e.message.id == first)
    await c.stop(adapter)

    second = await carol.send_text(c.room, "two, while the bot is down")
    again = RecordingSink()
    adapter, _, _ = await c.start(sink=again, state=state)
    third = await carol.send_text(c.room, "three")
    await again.wait_for(MessagePosted, lambda e: e.message.id == third)

    assert [e.message.id for e in sink.of(MessagePosted)] == [first]  # history skipped
    assert [e.message.id for e in again.of(MessagePosted)] == [second, third]
    assert before not in {e.message.id for e in [*sink.of(MessagePosted), *again.of(MessagePosted)]}
    assert state.values["sync_token"] == adapter.committed_token


async def test_a_long_outage_is_caught_up_from_history(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    carol = await c.member_in_room("carol")
    adapter, _sink, state = await c.start()
    await c.stop(adapter)
    sent = [await carol.send_text(c.room, f"message {n}") for n in range(70)]  # > sync's 50
    again = RecordingSink()
    await c.start(sink=again, state=state)
    await again.wait_for(MessagePosted, lambda e: e.message.id == sent[-1])
    assert [e.message.id for e in again.of(MessagePosted)] == sent


async def test_slow_handling_is_queued_in_order_and_measured(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    carol = await c.member_in_room("carol")
    gate = asyncio.Event()  # the handler is stuck until the burst has filled the queue
    slow = RecordingSink(delay=0.01, gate=gate)
    settings = c.settings(queue_size=2)
    adapter, _, state = await c.start(sink=slow, settings=settings)
    sent = [await carol.send_text(c.room, f"burst {n}") for n in range(8)]
    await wait_until(lambda: adapter.queue_stats().blocked_puts >= 1, what="a blocked put")
    gate.set()
    await slow.wait_for(MessagePosted, lambda e: e.message.id == sent[-1], within=20)
    assert [e.message.id for e in slow.of(MessagePosted)] == sent
    stats = adapter.queue_stats()
    assert stats.high_water == 2 == stats.capacity
    assert stats.blocked_puts >= 1 and stats.blocked_seconds > 0
    assert stats.failed == 0 and stats.depth == 0
    await wait_until(
        lambda: state.values.get("sync_token") == adapter._sync.received_token,
        what="token stored after the burst",
    )


async def test_a_failing_handler_does_not_stop_the_adapter(
    matrix_community: MatrixCommunity,
) -> None:
    class Failing(RecordingSink):
        async def handle_event(self, adapter: ChatAdapter, event: object) -> None:
            if isinstance(event, MessagePosted) and event.text == "boom":
                raise RuntimeError("a bug in a handler")
            await super().handle_event(adapter, event)  # type: ignore[arg-type]

    c = matrix_community
    carol = await c.member_in_room("carol")
    sink = Failing()
    adapter, _, _ = await c.start(sink=sink)
    await carol.send_text(c.room, "boom")
    after = await carol.send_text(c.room, "after")
    await sink.wait_for(MessagePosted, lambda e: e.message.id == after)
    assert adapter.queue_stats().failed == 1
