"""The Matrix adapter's pure rules, without a homeserver: what real clients send, read right.

(Fast and network-free; they sit beside the Synapse tests because they cover the same adapter.)
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

import pytest

from bot.adapters.matrix import translate as tr
from bot.adapters.matrix.communities import build_index
from bot.adapters.matrix.queue import Batch, RoomQueues
from bot.adapters.matrix.rooms import RoomFacts, creators_outrank_all, supports_restricted
from bot.config import CommunitySettings
from tests.waiting import wait_until

ALICE = "@alice:example.org"
BOB = "@bob:example.org"
BOT = "@bot:example.org"


def state(
    kind: str, content: dict[str, object], key: str = "", sender: str = ALICE
) -> dict[str, object]:
    return {"type": kind, "state_key": key, "content": content, "sender": sender}


# --- content ------------------------------------------------------------------------------------


def test_a_thread_fallback_is_not_a_reply_but_a_real_reply_in_a_thread_is() -> None:
    relation: dict[str, object] = {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$latest"},
    }
    fallback = {"m.relates_to": relation}
    assert tr.reply_target(fallback) is None and tr.thread_root(fallback) == "$root"
    real = {"m.relates_to": {**relation, "is_falling_back": False}}
    assert tr.reply_target(real) == "$latest"


def test_mentions_come_from_m_mentions_and_pills_once_each() -> None:
    content = {
        "body": "Alice: hi",
        "format": "org.matrix.custom.html",
        "formatted_body": '<a href="https://matrix.to/#/%40alice%3Aexample.org">Alice</a>: hi '
        f'<a href="https://matrix.to/#/{BOB}">Bob</a>',
        "m.mentions": {"user_ids": [ALICE]},
    }
    assert tr.mentioned_users(content) == (ALICE, BOB)
    quoted = {
        "body": "> <@bob:example.org> earlier\n\nme too",
        "format": "org.matrix.custom.html",
        "formatted_body": f'<mx-reply><a href="https://matrix.to/#/{BOB}">Bob</a></mx-reply>me too',
    }
    assert tr.mentioned_users(quoted) == ()  # the quoted reply header is no mention
    assert tr.plain_text(quoted) == "me too"


def test_everyone_mentions_old_and_new() -> None:
    assert tr.mentions_everyone({"body": "hi", "m.mentions": {"room": True}})
    assert tr.mentions_everyone({"body": "@room wake up"})
    assert not tr.mentions_everyone({"body": "@room", "m.mentions": {}})  # new client: no ping
    assert not tr.mentions_everyone({"body": "mail me at x@roomy.org"})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("see https://example.org", True),
        ("www.example.org is nice", True),
        ("ftp://files.example.org/x", True),
        ("no link, just 3.14 and a.b", False),
        ("> <@bob:example.org> https://quoted.example\n\nplain answer", False),
    ],
)
def test_links(body: str, expected: bool) -> None:
    assert tr.has_link({"body": body}) is expected


def test_html_links_count_but_pills_do_not() -> None:
    pill = {"body": "Bob", "formatted_body": f'<a href="https://matrix.to/#/{BOB}">Bob</a>'}
    hidden = {"body": "click", "formatted_body": '<a href="https://evil.example">click</a>'}
    assert not tr.has_link(pill)
    assert tr.has_link(hidden)


def test_attachments() -> None:
    for msgtype in ("m.image", "m.file", "m.video", "m.audio"):
        assert tr.has_attachment("m.room.message", {"msgtype": msgtype})
    assert tr.has_attachment("m.sticker", {})
    assert not tr.has_attachment("m.room.message", {"msgtype": "m.text"})


def test_an_edit_is_judged_by_its_new_content() -> None:
    edit = {
        "body": "* innocent",
        "m.new_content": {"body": "now with https://spam.example"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"},
    }
    content, edited = tr.effective_content(edit)
    assert edited == "$orig" and tr.has_link(content)


def test_commands_are_words_after_the_prefix() -> None:
    parsed = tr.parse_command("!Policy  #general:example.org   read_only", "!")
    assert parsed is not None
    assert parsed.name == "policy"
    assert parsed.positional == ("#general:example.org", "read_only")
    assert tr.parse_command("! spaced", "!") is None
    assert tr.parse_command("!!!", "!") is None
    assert tr.parse_command("no command", "!") is None


def test_member_and_room_references_as_people_type_them() -> None:
    assert tr.parse_user_id("@alice:example.org") == ALICE
    assert tr.parse_user_id("https://matrix.to/#/%40alice%3Aexample.org") == ALICE
    assert tr.parse_user_id(f'<a href="https://matrix.to/#/{ALICE}">Alice</a>') == ALICE
    assert tr.parse_user_id("@alice:example.org:") == ALICE  # "name:" completion
    assert tr.parse_user_id("@bob:[::1]:8448") == "@bob:[::1]:8448"
    assert tr.parse_user_id("Alice") is None
    assert tr.parse_room_ref("!abcDEF123") == "!abcDEF123"  # v12: no server part
    assert tr.parse_room_ref("!old:example.org") == "!old:example.org"
    assert tr.parse_room_ref("#general:example.org") == "#general:example.org"
    assert tr.parse_room_ref("general") is None


# --- power --------------------------------------------------------------------------------------


def test_v12_creators_outrank_every_level_and_older_rooms_do_not() -> None:
    room = RoomFacts("!r")
    room.apply(
        state("m.room.create", {"room_version": "12", "additional_creators": [BOB]}, sender=ALICE)
    )
    room.apply(state("m.room.power_levels", {"users": {BOT: 100}}))
    assert room.level(ALICE) == room.level(BOB) == math.inf
    assert room.level(BOT) == 100 and room.level("@x:example.org") == 0

    old = RoomFacts("!o")
    old.apply(state("m.room.create", {"room_version": "10"}, sender=ALICE))
    old.apply(state("m.room.power_levels", {"users": {ALICE: 100, BOT: "50"}}))
    assert old.level(ALICE) == 100 and old.level(BOT) == 50  # string levels of old rooms
    assert creators_outrank_all("12") and not creators_outrank_all("11")
    assert supports_restricted("8") and not supports_restricted("7")


def test_missing_power_names_each_need_with_its_level() -> None:
    room = RoomFacts("!r")
    room.apply(state("m.room.create", {"room_version": "12"}))
    room.apply(
        state(
            "m.room.power_levels",
            {"users": {BOT: 50}, "events": {"m.room.power_levels": 100}, "invite": 0},
        )
    )
    missing = room.missing(BOT, badge_level=1)
    assert [(n.key, n.level) for n in missing] == [("events.m.room.power_levels", 100)]
    room.apply(state("m.room.power_levels", {"users": {BOT: 100}}))
    assert room.missing(BOT, badge_level=1) == []


def test_power_levels_size_counts_what_is_sent() -> None:
    room = RoomFacts("!r")
    room.apply(
        state("m.room.power_levels", {"users": {f"@u{n}:example.org": 1 for n in range(10)}})
    )
    assert room.power_levels_size() == len(
        '{"users":{' + ",".join(f'"@u{n}:example.org":1' for n in range(10)) + "}}"
    )


# --- communities --------------------------------------------------------------------------------


def _joined(room_id: str, *, space: bool = False, children: tuple[str, ...] = ()) -> RoomFacts:
    facts = RoomFacts(room_id)
    facts.apply(
        state("m.room.create", {"room_version": "12", **({"type": "m.space"} if space else {})})
    )
    facts.apply(state("m.room.member", {"membership": "join"}, key=BOT, sender=BOT))
    for child in children:
        facts.apply(state("m.space.child", {"via": ["example.org"]}, key=child))
    return facts


def test_a_space_holds_its_rooms_and_sub_spaces_rooms() -> None:
    rooms = {
        "!space": _joined("!space", space=True, children=("!a", "!sub")),
        "!sub": _joined("!sub", space=True, children=("!b",)),
        "!a": _joined("!a"),
        "!b": _joined("!b"),
        "!verified": _joined("!verified", space=True),
        "!lonely": _joined("!lonely"),
    }
    configured = [CommunitySettings(network="matrix", id="!space", rooms=["!extra"])]
    index = build_index(configured, rooms, BOT, excluded={"!verified"})
    assert index.rooms["!space"] == {"!a", "!b", "!extra"}
    assert index.spaces["!space"] == {"!space", "!sub"}
    assert index.community_of("!b") == "!space"
    assert index.rooms["!lonely"] == {"!lonely"}  # invited into a room on its own
    assert "!verified" not in index.room_community and "!verified" not in index.rooms


def test_an_unconfigured_space_takes_its_sub_space_along() -> None:
    rooms = {
        "!aaa-sub": _joined("!aaa-sub", space=True, children=("!b",)),  # sorts first
        "!zzz-top": _joined("!zzz-top", space=True, children=("!aaa-sub",)),
        "!b": _joined("!b"),
    }
    index = build_index([], rooms, BOT, excluded=())
    assert index.ids() == ["!zzz-top"] and index.community_of("!b") == "!zzz-top"


# --- queues -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A queued item for the queue's own test: its room, and whether handling it waits."""

    queue: str
    what: str
    hold: bool = False


async def test_room_queues_keep_order_per_room_and_count_back_pressure() -> None:
    done: list[str] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def handle(step: Step) -> None:
        if step.hold:
            started.set()
            await release.wait()
        done.append(step.what)

    queues = RoomQueues(capacity=1, handle=handle)
    batch = Batch("t1")
    await queues.put(Step("!a", "a1", hold=True), batch)
    await started.wait()  # a1 is being handled; the queue (capacity 1) is empty again
    await queues.put(Step("!a", "a2"), batch)
    third = asyncio.create_task(queues.put(Step("!a", "a3"), batch))
    await queues.put(Step("!b", "b1"), batch)  # other rooms go on meanwhile
    await wait_until(lambda: "b1" in done, what="room b handled while room a waits")
    assert not third.done()  # the full room makes its producer wait
    batch.seal()
    assert not batch.done.is_set()  # the token may not be stored yet
    release.set()
    await third
    assert await queues.drain(5)
    assert done == ["b1", "a1", "a2", "a3"]
    assert batch.done.is_set()
    stats = queues.stats()
    assert (stats.blocked_puts, stats.high_water, stats.handled) == (1, 1, 4)
    await queues.close()


# --- invitations ----------------------------------------------------------------------------------


def _index_of_space_with(child: str) -> tuple[dict[str, RoomFacts], list[CommunitySettings]]:
    space = RoomFacts("!space:example.org")
    for event in (
        state("m.room.create", {"type": "m.space"}),
        state("m.room.member", {"membership": "join"}, key=BOT),
        state("m.room.member", {"membership": "join"}, key=ALICE),
        state("m.space.child", {"via": ["example.org"]}, key=child),
    ):
        space.apply(event)
    return {space.room_id: space}, [
        CommunitySettings(network="matrix", id=space.room_id, moderator_channel="!mods:x")
    ]


def test_invitations_to_a_served_space_s_rooms_and_from_its_members_are_accepted() -> None:
    from bot.adapters.matrix.invites import may_accept
    from bot.config import MatrixSettings, SecretRef

    rooms, configured = _index_of_space_with("!child:example.org")
    index = build_index(configured, rooms, BOT, excluded=["!mods:x"])
    settings = MatrixSettings(
        homeserver="http://hs", user_id=BOT, access_token=SecretRef(value="t")
    )

    def accepts(room: str, inviter: str, *, direct: bool = False) -> bool:
        return may_accept(
            room,
            inviter,
            direct=direct,
            settings=settings,
            communities=configured,
            index=index,
            rooms=rooms,
            management_rooms=["!mods:x"],
        )

    # no allowed_inviters, yet the space's own rooms and the moderators' room are accepted
    assert accepts("!child:example.org", "@anyone:elsewhere.org")
    assert accepts("!mods:x", BOB) and accepts("!space:example.org", BOB)
    # a direct chat from a member of the community, not from a stranger
    assert accepts("!dm:example.org", ALICE, direct=True)
    assert not accepts("!dm2:example.org", "@stranger:elsewhere.org", direct=True)
    # rooms that are no part of the community are declined
    assert not accepts("!other:example.org", ALICE)


def test_rooms_answer_to_their_name_and_addresses_as_admins_type_them() -> None:
    room = RoomFacts("!r:example.org")
    room.apply(state("m.room.name", {"name": "General Chat"}))
    room.apply(
        state(
            "m.room.canonical_alias",
            {"alias": "#general:example.org", "alt_aliases": ["#talk:example.org"]},
        )
    )
    for typed in (
        "General Chat",
        "general chat",
        "“General Chat”",
        "#general",
        "#TALK:example.org",
    ):
        assert room.answers_to(typed), typed
    for typed in ("General", "#gen", "", "!r:example.org"):
        assert not room.answers_to(typed), typed
    assert room.label == "General Chat"


def test_a_room_named_in_several_words_binds_before_the_policy() -> None:
    from bot.commands import bind_arguments
    from bot.model import Actor, ChannelRef, CommandInvocation, CommunityRef, MemberRef
    from cogs.admin import Admin
    from tests.recording import RecordingAdapter

    spec = Admin.set_policy.__verifybot_command__  # type: ignore[attr-defined]
    community = CommunityRef("matrix", "!space:example.org")

    class NamedRooms(RecordingAdapter):
        def parse_channel(self, text: str, community: CommunityRef) -> ChannelRef | None:
            return ChannelRef(community, "!g") if text == "General Chat" else None

    def bind(*words: str) -> dict[str, object]:
        invocation = CommandInvocation(
            "policy", community, None, Actor(MemberRef("matrix", ALICE)), positional=words
        )
        return bind_arguments(spec, invocation, NamedRooms())

    general = ChannelRef(community, "!g")
    assert bind("General", "Chat", "read_only") == {"channel": general, "level": "read_only"}
    assert bind("General", "Chat") == {"channel": general}
    assert bind("read_only") == {"level": "read_only"}
