"""How long deciding on one message takes once the cache is warm, and how many queries it costs.

Run by hand from the project root:
    PYTHONPATH=. .venv/bin/python benchmarks/hot_path.py [messages]
Prints the median and p99 decision time per message and the SQL statements issued while deciding.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime

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
from tests.recording import RecordingAdapter

SPACE = CommunityRef("matrix", "!space:hs")
ROOM = ChannelRef(SPACE, "!room:hs")


async def main(count: int) -> None:
    config = parse_config({}).config
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite+aiosqlite:///{folder}/bench.db")
        await migrate.upgrade(store.engine)
        adapter = RecordingAdapter(served=[SPACE])
        core = BotCore(config, store, adapters=[adapter], cogs=[Filters])
        await core.start()
        members = [MemberRef("matrix", f"@m{i}:hs") for i in range(1000)]
        now = datetime.now(UTC)
        for member in members[::10]:
            await core.cache.set_filter(SPACE, member, FilterLevel.REPLIES, now)
        events = [
            MessagePosted(
                MessageRef(ROOM, f"$e{i}"),
                Actor(members[(i * 7) % 1000]),
                text="hello",
                reply_to_author=members[(i * 13 + 1) % 1000 | 1],  # odd: never a filtered member
            )
            for i in range(count)
        ]
        for event in events[:2000]:  # warm the cache
            await core.handle_event(adapter, event)
        samples: list[float] = []  # each decision's time, as it goes to the histogram
        histogram = core.metrics.time_decision

        def timed(seconds: float) -> None:
            samples.append(seconds)
            histogram(seconds)

        core.metrics.time_decision = timed  # type: ignore[method-assign]
        before = store.statements
        started = time.perf_counter()
        for event in events:
            await core.handle_event(adapter, event)
        elapsed = time.perf_counter() - started
        queries = store.statements - before
        samples.sort()
        await core.stop()
        await store.close()
    print(
        f"{count} messages: median decision {statistics.median(samples) * 1e6:.1f} µs,"
        f" p99 {samples[int(len(samples) * 0.99)] * 1e6:.1f} µs,"
        f" {count / elapsed:,.0f} messages/s end to end, {queries} SQL statements while deciding"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
