"""The `limited` allowance counts what a sender sent while it applied: messages sent in a
community where `limited` applied nowhere are not held against the sender once it does (as
messages sent while verified are not), so such a community keeps no rate window at all."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import parse_config
from bot.core import BotCore
from bot.model import (
    Actor,
    ChannelRef,
    CommunityRef,
    MemberRef,
    MessagePosted,
    MessageRef,
    UnverifiedPolicy,
)
from bot.storage.repo import Store
from cogs.filters import Filters
from tests.fakes.clock import StoppedClock
from tests.recording import RecordingAdapter

SPACE = CommunityRef("matrix", "!space:hs")
ROOM = ChannelRef(SPACE, "!room:hs")
ALICE = MemberRef("matrix", "@alice:hs")
MALLORY = MemberRef("matrix", "@mallory:hs")  # unverified
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


async def make_core(store: Store) -> tuple[BotCore, RecordingAdapter]:
    adapter = RecordingAdapter(served=[SPACE])
    config = parse_config({}).config
    core = BotCore(config, store, adapters=[adapter], cogs=[Filters], clock=StoppedClock(NOW))
    await core.start()
    return core, adapter


def reply(sender: MemberRef, to: MemberRef, event: str) -> MessagePosted:
    return MessagePosted(MessageRef(ROOM, event), Actor(sender), text="hey", reply_to_author=to)


async def test_messages_sent_before_limited_applied_do_not_count_against_it(store: Store) -> None:
    core, adapter = await make_core(store)
    try:
        allowance = core.policy_settings(SPACE).limited_messages_per_minute
        for number in range(allowance + 3):  # open everywhere: no allowance to count against
            await core.handle_event(adapter, reply(MALLORY, ALICE, f"$open{number}"))
        assert adapter.removed() == []
        await core.cache.set_policy(SPACE, None, UnverifiedPolicy.LIMITED, by=None, at=NOW)
        for number in range(allowance):
            await core.handle_event(adapter, reply(MALLORY, ALICE, f"$l{number}"))
        assert adapter.removed() == []
        await core.handle_event(adapter, reply(MALLORY, ALICE, "$over"))
        assert adapter.removed() == [MessageRef(ROOM, "$over")]
    finally:
        await core.stop()


async def test_a_channel_of_its_own_limited_counts_the_whole_community(store: Store) -> None:
    """With `limited` set on one channel, what the sender writes anywhere in the community
    still counts (the window is the community's, as before)."""
    core, adapter = await make_core(store)
    try:
        await core.cache.set_policy(SPACE, "!other:hs", UnverifiedPolicy.LIMITED, by=None, at=NOW)
        allowance = core.policy_settings(SPACE).limited_messages_per_minute
        for number in range(allowance):
            await core.handle_event(adapter, reply(MALLORY, ALICE, f"$open{number}"))
        assert adapter.removed() == []
        other = MessageRef(ChannelRef(SPACE, "!other:hs"), "$over")
        await core.handle_event(adapter, MessagePosted(other, Actor(MALLORY), text="hey"))
        assert adapter.removed() == [other]
    finally:
        await core.stop()
