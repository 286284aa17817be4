"""The hot path on packed facts: a verification counts until the microsecond it runs out and
not after a revocation, a cold fact is loaded from storage, and a warm message costs no query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import parse_config
from bot.core import BotCore
from bot.model import (
    Actor,
    ChannelRef,
    CommunityRef,
    FilterLevel,
    MemberRef,
    MessagePosted,
    MessageRef,
)
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.filters import Filters
from tests.fakes.clock import StoppedClock
from tests.recording import RecordingAdapter

SPACE = CommunityRef("matrix", "!space:hs")
ROOM = ChannelRef(SPACE, "!room:hs")
ALICE = MemberRef("matrix", "@alice:hs")  # filters replies
VERA = MemberRef("matrix", "@vera:hs")  # verified until ENDS
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ENDS = NOW + timedelta(days=30)
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
Setup = tuple[BotCore, RecordingAdapter, StoppedClock]


@pytest.fixture
async def setup(store: Store) -> AsyncIterator[Setup]:
    adapter = RecordingAdapter(served=[SPACE])
    clock = StoppedClock(NOW)
    core = BotCore(CONFIG, store, adapters=[adapter], cogs=[Filters], clock=clock)
    await core.start()
    await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, NOW)
    await core.cache.save_verification(
        VerificationRecord("matrix", VERA.id, "moderator", "reviewed", "v" * 64, NOW, ENDS)
    )
    yield core, adapter, clock
    await core.stop()


async def reply(core: BotCore, adapter: RecordingAdapter, number: int) -> bool:
    """Vera replies to Alice; True when the reply was held (Vera judged unverified)."""
    message = MessageRef(ROOM, f"$r{number}")
    event = MessagePosted(message, Actor(VERA), text="hi", reply_to_author=ALICE)
    await core.handle_event(adapter, event)
    return message in adapter.removed()


async def test_a_verification_counts_until_the_microsecond_it_runs_out(setup: Setup) -> None:
    core, adapter, clock = setup
    assert not await reply(core, adapter, 1)
    clock.now = ENDS - timedelta(microseconds=1)
    before = core.store.statements
    assert not await reply(core, adapter, 2)
    assert core.store.statements == before  # warm: judged from memory
    clock.now = ENDS
    assert await reply(core, adapter, 3)


async def test_a_revocation_is_honoured_by_the_next_message(setup: Setup) -> None:
    core, adapter, _clock = setup
    assert not await reply(core, adapter, 1)
    await core.cache.revoke_verification(VERA, by="@mod:hs", reason="sock puppet", at=NOW)
    assert await reply(core, adapter, 2)


async def test_a_cold_cache_loads_each_fact_from_storage(setup: Setup) -> None:
    core, adapter, _clock = setup
    core.cache.clear()
    before = core.store.statements
    assert not await reply(core, adapter, 1)  # still verified: read again from storage
    assert core.store.statements > before
    await core.cache.delete_verification(VERA)
    core.cache.clear()
    assert await reply(core, adapter, 2)  # Alice's filter, read again from storage, holds it


async def test_the_whole_record_is_read_from_storage_for_commands(setup: Setup) -> None:
    core, _adapter, _clock = setup
    before = core.store.statements
    record = await core.cache.verification(VERA)
    assert record is not None and record.identity_hash == "v" * 64 and record.expires_at == ENDS
    assert core.store.statements > before  # not kept in memory: the hot path never reads it
    assert await core.cache.live_verification(VERA) == ("reviewed", ENDS)
