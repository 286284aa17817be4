"""A burst of events on a cold cache, with few database connections: every event is judged.

Before, each event opened its own load, thousands of loads exhausted the connection pool (its
wait times out after 30 s; here 2 s) and those events were never judged. Now loads of one key are
shared, and work waits for a connection in the bot's own queue, where nothing times out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

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
from bot.storage.cache import ReadCache
from bot.storage.repo import Store
from cogs.filters import Filters
from tests.recording import RecordingAdapter

pytestmark = pytest.mark.postgres

SPACE = CommunityRef("matrix", "!space:hs")
ROOM = ChannelRef(SPACE, "!room:hs")
ALICE = MemberRef("matrix", "@alice:hs")
BURST = 5_000


@pytest.fixture
async def small_pool(pg_store: Store, pg_url: str) -> AsyncIterator[Store]:
    """The migrated database, reached through two connections that time out after 2 s."""
    engine = create_async_engine(pg_url, pool_size=2, max_overflow=0, pool_timeout=2)
    store = Store(engine)
    yield store
    await store.close()


async def test_a_cold_burst_shares_loads_and_never_times_out(small_pool: Store) -> None:
    cache = ReadCache(small_pool)
    senders = [MemberRef("matrix", f"@m{i}:hs") for i in range(BURST)]
    before = small_pool.statements
    found = await asyncio.gather(*(cache.verification(ALICE) for _ in range(1_000)))
    assert found == [None] * 1_000 and small_pool.statements - before == 1  # one shared load
    found = await asyncio.gather(*(cache.verification(m) for m in senders))
    assert found == [None] * BURST  # every load finished, none timed out


async def test_every_event_of_a_cold_burst_is_judged(small_pool: Store) -> None:
    config = parse_config(
        {
            "matrix": {
                "homeserver": "http://127.0.0.1:1",
                "user_id": "@bot:hs",
                "access_token": {"value": "t"},
            }
        }
    ).config
    adapter = RecordingAdapter(served=[SPACE])
    core = BotCore(config, small_pool, adapters=[adapter], cogs=[Filters])
    await core.start()
    try:
        await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, core.clock())
        core.cache.clear()  # cold
        events = [
            MessagePosted(
                MessageRef(ROOM, f"$r{i}"),
                Actor(MemberRef("matrix", f"@m{i}:hs")),
                text="unwanted",
                reply_to_author=ALICE,
            )
            for i in range(BURST)
        ]
        await asyncio.gather(*(core.handle_event(adapter, e) for e in events))
        assert len(adapter.removed()) == BURST
        assert core.metrics.value("verifybot_handler_failures_total") == 0
        assert len(await small_pool.list_held(ALICE, limit=BURST + 1)) == BURST
    finally:
        await core.stop()
