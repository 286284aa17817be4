"""The Matrix inbound path once warm: every event of a sync is judged, with no SQL, in a room
whose power levels list thousands of users, and what reaches the core says what the events say.

benchmarks/matrix_hot_path.py times this path; these tests only check that it stays correct
while it is made cheap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import nio
import pytest

from bot.adapters.base import ChatAdapter
from bot.model import (
    CommandInvocation,
    Event,
    MemberRef,
    MessagePosted,
    ReactionAdded,
    Role,
)
from bot.storage.repo import Store
from tests.unit.matrix_syncs import HotPath, JsonDict, assemble, sync_response, timeline

BIG = 5_312


class Relay:
    """The core's sink, remembering what the adapter delivered."""

    def __init__(self, hot: HotPath) -> None:
        self.core = hot.core
        self.events: list[MessagePosted | ReactionAdded] = []

    async def handle_event(self, adapter: ChatAdapter, event: Event) -> None:
        if isinstance(event, MessagePosted | ReactionAdded):
            self.events.append(event)
        await self.core.handle_event(adapter, event)

    async def handle_command(self, adapter: ChatAdapter, invocation: CommandInvocation) -> None:
        await self.core.handle_command(adapter, invocation)


@pytest.fixture
async def hot(store: Store) -> AsyncIterator[HotPath]:
    assembled = await assemble(store, BIG)
    yield assembled
    await assembled.matrix._queues.close()
    await assembled.core.stop()


def replies_only(tag: str) -> list[JsonDict]:
    """The sync's replies, and the messages they reply to."""
    events = timeline(100, tag)
    replied = {
        e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
        for e in events
        if "m.in_reply_to" in e["content"].get("m.relates_to", {})
    }
    return [
        e
        for e in events
        if e["event_id"] in replied or "m.in_reply_to" in e["content"].get("m.relates_to", {})
    ]


async def test_a_warm_sync_in_a_big_room_is_all_judged_without_sql(
    hot: HotPath, monkeypatch: pytest.MonkeyPatch
) -> None:
    await hot.take(nio.SyncResponse.from_dict(sync_response(timeline(100, "warm"))))
    judged: list[float] = []
    monkeypatch.setattr(hot.core.metrics, "time_decision", judged.append)
    before = hot.core.store.statements
    await hot.take(nio.SyncResponse.from_dict(sync_response(timeline(100, "a"), "s3")))
    replies = replies_only("b")
    await hot.take(nio.SyncResponse.from_dict(sync_response(replies, "s4")))
    assert hot.core.store.statements == before
    assert len(judged) == 100 + len(replies) and len(replies) >= 30
    assert hot.recording.removed() == []


async def test_what_reaches_the_core_says_what_the_events_say(hot: HotPath) -> None:
    relay = Relay(hot)
    hot.matrix._dispatcher.attach(relay)
    events = timeline(100)
    events[10]["sender"], events[11]["sender"] = "@admin:hs", "@mod:hs"
    await hot.take(nio.SyncResponse.from_dict(sync_response(events)))
    got = {e.message.id if isinstance(e, MessagePosted) else e.reaction_id: e for e in relay.events}
    assert len(got) == 100

    reply = got["$e4"]
    assert isinstance(reply, MessagePosted)
    assert reply.text == "sure, 4" and reply.sender.member == matrix("@p1:hs")
    assert reply.reply_to_author == matrix("@u2:hs") and reply.mentioned == (matrix("@u2:hs"),)
    assert not (reply.has_link or reply.mentions_everyone or reply.has_attachment)
    assert reply.at is not None and reply.thread_starter is None

    mention = got["$e6"]
    assert isinstance(mention, MessagePosted)
    assert mention.text == "@u1:hs: look at this 6" and mention.reply_to_author is None
    assert mention.mentioned == (matrix("@u1:hs"),)

    reaction = got["$e8"]
    assert isinstance(reaction, ReactionAdded)
    assert reaction.message.id == "$e7" and reaction.emoji == "👍"
    assert reaction.message_author == matrix("@u0:hs") and reaction.sender.member == matrix(
        "@f1:hs"
    )

    linked = got["$e23"]
    assert isinstance(linked, MessagePosted) and linked.has_link
    roles = [got[f"$e{i}"].sender.role for i in (10, 11, 12)]
    assert roles == [Role.ADMIN, Role.MODERATOR, Role.MEMBER]


async def test_a_new_power_levels_event_changes_roles_at_once(hot: HotPath) -> None:
    """Standing read from remembered levels follows a change in the same sync."""
    relay = Relay(hot)
    hot.matrix._dispatcher.attach(relay)
    events = timeline(12)
    for event in events:
        event["sender"] = "@u1:hs"
    await hot.take(nio.SyncResponse.from_dict(sync_response(events[:2])))
    levels = hot.directory.rooms["!room:hs"].power_levels or {}
    promoted = {**levels, "users": {**levels["users"], "@u1:hs": 50}}
    change = {
        "type": "m.room.power_levels",
        "state_key": "",
        "sender": "@admin:hs",
        "event_id": "$promote",
        "origin_server_ts": 2,
        "content": promoted,
    }
    await hot.take(nio.SyncResponse.from_dict(sync_response([change, *events[2:4]], "s3")))
    roles = [e.sender.role for e in relay.events if isinstance(e, MessagePosted)]
    assert roles == [Role.MEMBER, Role.MEMBER, Role.MODERATOR, Role.MODERATOR]


def matrix(user_id: str) -> MemberRef:
    return MemberRef("matrix", user_id)
