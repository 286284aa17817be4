"""A burst of 5,000 replies on a cold cache: is every one judged, and how long to drain?

Run by hand from the project root:
    PYTHONPATH=. .venv/bin/python benchmarks/cold_burst.py [events] [runs]
    VERIFYBOT_TEST_PG_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test ... (adds PostgreSQL
    with two connections, on a fresh database of its own)

Each reply comes from a different unverified account and answers a member who filters replies:
every one needs its sender's facts loaded, a durable hold, a removal and a notice. All arrive at
once (as after a reconnect). Prints judged / sent, the time until the last was handled, events
per second, and `ratio: X.XX` (judged / sent: 1.00 is the target).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time

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
from bot.storage import migrate
from bot.storage.repo import Store
from cogs.filters import Filters
from tests.fixtures.database import PG_ENV, fresh_pg_database
from tests.recording import RecordingAdapter

SPACE = CommunityRef("matrix", "!space:hs")
ROOM = ChannelRef(SPACE, "!room:hs")
ALICE = MemberRef("matrix", "@alice:hs")


async def one_burst(store: Store, count: int, run: int) -> tuple[int, float]:
    adapter = RecordingAdapter(served=[SPACE])
    core = BotCore(parse_config({}).config, store, adapters=[adapter], cogs=[Filters])
    await core.start()
    try:
        await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, core.clock())
        core.cache.clear()  # cold: nothing about anyone is in memory
        events = [
            MessagePosted(
                MessageRef(ROOM, f"${run}-{i}"),
                Actor(MemberRef("matrix", f"@r{run}s{i}:hs")),
                text="unwanted",
                reply_to_author=ALICE,
            )
            for i in range(count)
        ]
        began = time.perf_counter()
        await asyncio.gather(*(core.handle_event(adapter, event) for event in events))
        took = time.perf_counter() - began
        return len(adapter.removed()), took
    finally:
        await core.stop()


async def measure(label: str, store: Store, count: int, runs: int) -> None:
    print(f"{label}: {count} replies at once on a cold cache, {runs} runs")
    judged_all: list[int] = []
    times: list[float] = []
    for run in range(runs):
        judged, took = await one_burst(store, count, run)
        judged_all.append(judged)
        times.append(took)
        print(f"  run {run + 1}: judged {judged}/{count}, drained in {took:.2f} s")
    median = statistics.median(times)
    print(f"  drained: min {min(times):.2f} s, median {median:.2f} s ({count / median:,.0f}/s)")
    print(f"  ratio: {min(judged_all) / count:.2f} (judged / sent, the worst run)")


async def main(count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite+aiosqlite:///{folder}/burst.db")
        await migrate.upgrade(store.engine)
        try:
            await measure("SQLite file", store, count, runs)
        finally:
            await store.close()
    if os.environ.get(PG_ENV):
        async with fresh_pg_database() as url:
            migrated = Store.open(url)
            await migrate.upgrade(migrated.engine)
            await migrated.close()
            small = Store(create_async_engine(url, pool_size=2, max_overflow=0, pool_timeout=2))
            try:
                await measure("PostgreSQL, 2 connections", small, count, runs)
            finally:
                await small.close()


if __name__ == "__main__":
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    asyncio.run(main(events, rounds))
