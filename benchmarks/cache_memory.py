"""Bytes the read cache keeps per member, at 1,000,000 members with a verification and a filter.

Run by hand from the project root:
    PYTHONPATH=. .venv/bin/python benchmarks/cache_memory.py [members] [senders]
Each figure is measured in a fresh Python process, so nothing of one measurement stays in the
next: the growth of the resident set (RSS) and of what tracemalloc counts while the cache learns
each member's verification and filter through the write-through path (`ReadCache._apply`, what
the store announces after a commit), divided by the members; then the same for senders counted
by the `limited` rate window (six messages each). Prints `ratio: X.XX` (RSS bytes per member /
the 200-byte target).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from datetime import UTC, datetime, timedelta

TARGET = 200
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE


async def fill_members(count: int) -> object:
    """A cache that learned `count` verifications and filters, as after a write each."""
    from bot.model import CommunityRef, FilterLevel
    from bot.storage.cache import ReadCache
    from bot.storage.changes import FilterSet, Verified
    from bot.storage.records import VerificationRecord
    from bot.storage.repo import Store

    folder = tempfile.mkdtemp()
    store = Store.open(f"sqlite+aiosqlite:///{folder}/unused.db")  # never queried
    cache = ReadCache(store, size=count + 1)
    community = CommunityRef("discord", "800000000000000001")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    levels = (FilterLevel.OFF, FilterLevel.REPLIES, FilterLevel.ALL)
    start, begin = measure_start()
    for i in range(count):
        account = str(300_000_000_000_000_000 + i)  # a Discord snowflake, as the adapter gives it
        record = VerificationRecord(
            "discord",
            account,
            "email",
            "basic" if i % 2 else "strict",
            f"{i:064x}",
            now,
            now + timedelta(days=365, seconds=i),
        )
        await cache._apply(Verified(record, (community,)))
        await cache._apply(FilterSet(community, record.member, levels[i % 3]))
    return cache, measure_end(start, begin)


async def fill_senders(count: int) -> object:
    """A rate window that counted six messages from each of `count` senders."""
    from bot.model import CommunityRef, MemberRef
    from bot.storage.cache import ReadCache
    from bot.storage.repo import Store

    folder = tempfile.mkdtemp()
    cache = ReadCache(Store.open(f"sqlite+aiosqlite:///{folder}/unused.db"), size=count + 1)
    rates = cache.rates
    if hasattr(rates, "_max"):
        rates._max = count + 1
    community = CommunityRef("discord", "800000000000000001")
    start, begin = measure_start()
    for i in range(count):
        member = MemberRef("discord", str(300_000_000_000_000_000 + i))
        for tick in range(6):
            rates.hit(community, member, 1000.0 + i * 0.001 + tick)
    return cache, measure_end(start, begin)


def measure_start() -> tuple[int, int]:
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
    return rss(), traced


def measure_end(start: int, begin: int) -> tuple[int, int]:
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
    return rss() - start, traced - begin


def one(what: str, mode: str, count: int) -> None:
    """Child process: one measurement, printed as JSON."""
    if mode == "traced":
        tracemalloc.start()
    fill = fill_members if what == "members" else fill_senders
    _kept, (grown, traced) = asyncio.run(fill(count))
    per = (grown if mode == "rss" else traced) / count
    print(json.dumps({"bytes": per}))


def measure(what: str, mode: str, count: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--one", what, mode, str(count)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["bytes"])


def main(members: int, senders: int) -> None:
    figures = {
        (what, mode): measure(what, mode, count)
        for what, count in (("members", members), ("senders", senders))
        for mode in ("rss", "traced")
    }
    print(f"{members:,} members, each with a verification and a filter (fresh process each):")
    print(f"  RSS growth per member:        {figures['members', 'rss']:8.0f} bytes")
    print(f"  tracemalloc per member:       {figures['members', 'traced']:8.0f} bytes")
    print(f"{senders:,} senders in the rate window, six messages each:")
    print(f"  RSS growth per sender:        {figures['senders', 'rss']:8.0f} bytes")
    print(f"  tracemalloc per sender:       {figures['senders', 'traced']:8.0f} bytes")
    print(f"target {TARGET} bytes per member; ratio: {figures['members', 'rss'] / TARGET:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        one(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000,
            int(sys.argv[2]) if len(sys.argv) > 2 else 100_000,
        )
