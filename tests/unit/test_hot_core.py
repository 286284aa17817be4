"""The core's per-message path: figures kept in plain numbers read exactly as prometheus_client
would show them, a listener may decide without a coroutine and still fails loudly, a warm
message is decided at once and a cold one the same way, and the `limited` allowance counts what
a sender sent while unverified."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.exposition import generate_latest

from bot.cog import Cog, listener
from bot.config import parse_config
from bot.core import BotCore
from bot.metrics import DECISION_BUCKETS
from bot.metrics_collect import HotHistogram, LocalHistogram
from bot.model import (
    Actor,
    ChannelRef,
    CommunityRef,
    FilterLevel,
    MemberRef,
    MessagePosted,
    MessageRef,
    Role,
    UnverifiedPolicy,
)
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.filters import Filters
from tests.fakes.clock import StoppedClock
from tests.recording import RecordingAdapter

SPACE = CommunityRef("matrix", "!space:hs")
ROOM = ChannelRef(SPACE, "!room:hs")
ALICE = MemberRef("matrix", "@alice:hs")  # filters replies
MALLORY = MemberRef("matrix", "@mallory:hs")  # unverified
VERA = MemberRef("matrix", "@vera:hs")  # verified
MODERATOR = MemberRef("matrix", "@mod:hs")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CONFIG = parse_config(
    {
        "identity": {"hash_key": {"value": "k" * 32}},
        "methods": {"moderator": {"level": "reviewed"}},
        "matrix": {
            "homeserver": "http://127.0.0.1:1",
            "user_id": "@bot:hs",
            "access_token": {"value": "t"},
        },
    }
).config


class Failing(Cog):
    """A listener failing each way one can: raising at once, returning work that fails, and an
    async method that fails."""

    @listener(MessagePosted)
    def at_once(self, event: MessagePosted) -> Awaitable[None] | None:
        raise RuntimeError("failed at once")

    @listener(MessagePosted)
    def later(self, event: MessagePosted) -> Awaitable[None] | None:
        return self._fail()

    async def _fail(self) -> None:
        raise RuntimeError("failed later")

    @listener(MessagePosted)
    async def awaited(self, event: MessagePosted) -> None:
        raise RuntimeError("failed awaited")


async def make_core(store: Store, *cogs: type[Cog]) -> tuple[BotCore, RecordingAdapter]:
    adapter = RecordingAdapter(served=[SPACE])
    core = BotCore(
        CONFIG, store, adapters=[adapter], cogs=[*cogs, Filters], clock=StoppedClock(NOW)
    )
    await core.start()
    return core, adapter


@pytest.fixture
async def warm(store: Store) -> AsyncIterator[tuple[BotCore, RecordingAdapter]]:
    core, adapter = await make_core(store)
    await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, NOW)
    await core.cache.save_verification(
        VerificationRecord("matrix", VERA.id, "moderator", "reviewed", "v" * 64, NOW)
    )
    yield core, adapter
    await core.stop()


def reply(sender: MemberRef, to: MemberRef, event: str, role: Role = Role.MEMBER) -> MessagePosted:
    return MessagePosted(
        MessageRef(ROOM, event), Actor(sender, role=role), text="hey", reply_to_author=to
    )


def exposition(histogram: Histogram | HotHistogram) -> str:
    registry = CollectorRegistry()
    if isinstance(histogram, Histogram):
        registry.register(histogram)
    else:
        registry.register(_Single(histogram))
    return generate_latest(registry).decode()


class _Single:
    def __init__(self, histogram: HotHistogram) -> None:
        self.histogram = histogram

    def collect(self):  # type: ignore[no-untyped-def]
        yield self.histogram.build()


def test_a_local_histogram_reads_as_prometheus_clients_own() -> None:
    values = [0.0, *DECISION_BUCKETS, 0.00005, 0.0003, 0.07, 0.9999, 1.0000001, 42.0, 1e-9]
    theirs = Histogram("d_seconds", "Time.", buckets=DECISION_BUCKETS, registry=None)
    ours = LocalHistogram(DECISION_BUCKETS)
    for value in values:
        theirs.observe(value)
        ours.observe(value)
    assert exposition(HotHistogram("d_seconds", "Time.", {"": ours})) == exposition(theirs)
    assert ours.count == len(values)


async def test_a_failing_listener_is_logged_and_counted_whichever_way_it_fails(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    core, adapter = await make_core(store, Failing)
    await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, NOW)
    try:
        with caplog.at_level(logging.ERROR):
            await core.handle_event(adapter, reply(MALLORY, ALICE, "$held"))
        metrics = core.metrics
        assert metrics.value("verifybot_handler_failures_total") == 3
        for words in ("failed at once", "failed later", "failed awaited"):
            assert words in caplog.text
        assert caplog.text.count("failed; carrying on") == 3
        assert adapter.removed() == [MessageRef(ROOM, "$held")]  # the filter still ran
        assert metrics.value("verifybot_events_total", kind="message_posted") == 1
        assert metrics.value("verifybot_handler_seconds_count", kind="event") == 1
        assert metrics.value("verifybot_decision_seconds_count") == 1
    finally:
        await core.stop()


async def test_a_warm_message_with_nothing_to_do_is_decided_at_once(
    warm: tuple[BotCore, RecordingAdapter],
) -> None:
    core, adapter = warm
    guard = core.cog(Filters).guard_message
    for number, (sender, to) in enumerate([(VERA, ALICE), (MALLORY, VERA), (MODERATOR, ALICE)]):
        pending = guard(reply(sender, to, f"$warm{number}"))  # cold: each loads its facts
        assert pending is not None
        await pending
    before = core.store.statements
    assert guard(reply(VERA, ALICE, "$a")) is None  # verified: kept
    assert guard(reply(MALLORY, VERA, "$b")) is None  # Vera does not filter
    assert guard(reply(MODERATOR, ALICE, "$c", Role.MODERATOR)) is None
    assert core.store.statements == before  # nothing read
    held = guard(reply(MALLORY, ALICE, "$d"))
    assert held is not None  # work to do: the hold and the removal
    await held
    assert adapter.removed()[-1] == MessageRef(ROOM, "$d")
    assert core.metrics.value("verifybot_decision_seconds_count") == 7  # cold ones too


async def test_a_cold_cache_decides_as_the_warm_one_does(store: Store) -> None:
    def events(prefix: str) -> list[MessagePosted]:
        return [
            reply(VERA, ALICE, f"${prefix}1"),
            reply(MALLORY, VERA, f"${prefix}2"),
            reply(MODERATOR, ALICE, f"${prefix}3", Role.MODERATOR),
            reply(MALLORY, ALICE, f"${prefix}4"),
        ]

    warm, warm_adapter = await make_core(store)
    await warm.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, NOW)
    await warm.cache.save_verification(
        VerificationRecord("matrix", VERA.id, "moderator", "reviewed", "v" * 64, NOW)
    )
    removed: list[bool] = []
    try:
        for event in events("w"):
            await warm.handle_event(warm_adapter, event)
        for event in events("c"):
            cold, cold_adapter = await make_core(store)  # nothing cached
            try:
                await cold.handle_event(cold_adapter, event)
            finally:
                await cold.stop()
            removed.append(cold_adapter.removed() == [event.message])
    finally:
        await warm.stop()
    assert warm_adapter.removed() == [MessageRef(ROOM, "$w4")]
    assert removed == [False, False, False, True]


async def test_the_limited_allowance_counts_only_what_was_sent_unverified(
    warm: tuple[BotCore, RecordingAdapter],
) -> None:
    """Vera writes freely while verified; revoked, her first message is not "too many"."""
    core, adapter = warm
    await core.cache.set_policy(SPACE, None, UnverifiedPolicy.LIMITED, by=None, at=NOW)
    allowance = core.policy_settings(SPACE).limited_messages_per_minute
    for number in range(allowance + 3):
        await core.handle_event(adapter, reply(VERA, MALLORY, f"$v{number}"))
    assert adapter.removed() == []
    await core.cache.revoke_verification(VERA, by="@mod:hs", reason="sock puppet", at=NOW)
    for number in range(allowance):
        await core.handle_event(adapter, reply(VERA, MALLORY, f"$u{number}"))
    assert adapter.removed() == []
    await core.handle_event(adapter, reply(VERA, MALLORY, "$over"))
    assert adapter.removed() == [MessageRef(ROOM, "$over")]
