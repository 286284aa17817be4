"""How long holding one reply durably takes: the write a removal waits for.

Run by hand from the project root:
    PYTHONPATH=. .venv/bin/python benchmarks/held_write.py [writes] [runs]
    VERIFYBOT_TEST_PG_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test ... (adds PostgreSQL,
    on a fresh database of its own)

Side by side in one process, on the same database: the former path (an ORM session building a
new INSERT per hold, as `add_held` did before the dedicated writer) and today's `add_held`
(a statement built once; on SQLite one hand-off to the writer thread). Prints the median and
p95 of each per run, the min/median over runs, and `ratio: X.XX` (today / former).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from bot.actions import HoldForMember
from bot.model import ChannelRef, CommunityRef, MemberRef, MessageRef, Relation
from bot.storage import migrate
from bot.storage import tables as t
from bot.storage.repo import Store
from tests.fixtures.database import PG_ENV, fresh_pg_database

ROOM = ChannelRef(CommunityRef("matrix", "!space:hs"), "!room:hs")
ALICE, MALLORY = MemberRef("matrix", "@alice:hs"), MemberRef("matrix", "@mallory:hs")


async def former_add_held(store: Store, hold: HoldForMember, at: datetime) -> None:
    """The write as it was: a session, a transaction, a statement built for this hold."""
    async with store._session() as session:
        channel = hold.message.channel
        stmt = (
            store._insert(t.HeldItem)
            .values(
                network=channel.network,
                community_id=channel.community.id,
                channel_id=channel.id,
                message_id=hold.message.id,
                for_account=hold.for_member.id,
                sender_account=hold.sender.id,
                relation=hold.relation.value,
                content=hold.content,
                reason=hold.reason,
                status="held",
                held_at=at,
                expires_at=at + timedelta(days=30),
            )
            .on_conflict_do_nothing(
                index_elements=["network", "message_id", "for_account", "relation"]
            )
        )
        await session.execute(stmt)


async def one_run(url: str, writes: int, run: int) -> tuple[float, float]:
    store = Store.open(url)
    await migrate.upgrade(store.engine)
    now = datetime.now(UTC)
    former: list[float] = []
    today: list[float] = []
    try:
        for n in range(writes):  # interleaved, so both see the same machine and file
            for name, samples in (("former", former), ("today", today)):
                hold = HoldForMember(
                    ALICE,
                    Relation.REPLY,
                    MessageRef(ROOM, f"${run}-{name}-{n}"),
                    MALLORY,
                    "hello",
                    "unverified",
                )
                began = time.perf_counter()
                if name == "former":
                    await former_add_held(store, hold, now)
                else:
                    await store.add_held([hold], at=now, expires_at=now + timedelta(days=30))
                samples.append(time.perf_counter() - began)
    finally:
        await store.close()
    warm = writes // 10
    f, d = sorted(former[warm:]), sorted(today[warm:])
    p95 = int(len(f) * 0.95)
    print(
        f"  run {run + 1}: former median {statistics.median(f) * 1e6:7.0f} µs"
        f" p95 {f[p95] * 1e6:7.0f} µs | today median {statistics.median(d) * 1e6:7.0f} µs"
        f" p95 {d[p95] * 1e6:7.0f} µs"
    )
    return statistics.median(f), statistics.median(d)


async def measure(label: str, urls: list[str], writes: int) -> None:
    print(f"{label}: {writes} holds each way per run")
    results = [await one_run(url, writes, run) for run, url in enumerate(urls)]
    ratios = [today / former for former, today in results]
    todays = [today * 1e6 for _, today in results]
    print(
        f"  today: min {min(todays):.0f} µs, median {statistics.median(todays):.0f} µs"
        " per durable hold"
    )
    print(f"  ratio: {statistics.median(ratios):.2f} (today / former, median of {len(urls)})")


async def main(writes: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        files = [f"sqlite+aiosqlite:///{folder}/hold{run}.db" for run in range(runs)]
        await measure("SQLite file", files, writes)
    if os.environ.get(PG_ENV):
        async with fresh_pg_database() as url:
            await measure("PostgreSQL", [url] * runs, writes)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    asyncio.run(main(count, rounds))
