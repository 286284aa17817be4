"""What the bot adds to a Matrix sync, next to what matrix-nio itself spends on it.

Run by hand from the project root:
    PYTHONPATH=. .venv/bin/python benchmarks/matrix_hot_path.py [rounds] [runs]

For rooms whose power levels list 12, 312 and 5,312 users, a sync of 100 realistic events
(tests/unit/matrix_syncs.py) is parsed by nio alone (`SyncResponse.from_dict`) and, interleaved
in the same process, parsed and taken through the adapter's inbound path: the sync loop's
`_take` (state, translation, work items, room queues), the dispatcher, the core's routing and the
filters cog's decision, with a warm cache and a recording adapter. Prints per room size the
median µs per event of each and `ratio: X.XX`, then min/median over the runs, and the SQL
statements issued while measuring (0 once warm) and the events judged. Times are the process's
CPU time, so other work on the machine does not land in either side.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import tempfile
import time

import nio

from bot.storage import migrate
from bot.storage.repo import Store
from tests.unit.matrix_syncs import HotPath, assemble, sync_response, timeline

SIZES = (12, 312, 5_312)
# CPU time of this process: on a machine shared with other work, time spent descheduled would
# otherwise count against whichever side happened to be running (nothing here waits on I/O)
clock = time.process_time
EVENTS = 100


async def measure(hot: HotPath, rounds: int) -> tuple[float, float, float, int, int]:
    """(nio µs/event, nio + ours µs/event, ratio, statements, events judged): medians of
    rounds; the ratio is each round's own (nio and ours side by side), so load drifting on the
    machine touches both."""
    sync = sync_response(timeline(EVENTS))
    for _ in range(3):  # warm: the cache, the authors, the per-room structures
        await hot.take(nio.SyncResponse.from_dict(sync))
    judged: list[int] = [0]
    histogram = hot.core.metrics.time_decision

    def counted(seconds: float) -> None:
        judged[0] += 1
        histogram(seconds)

    hot.core.metrics.time_decision = counted  # type: ignore[method-assign]
    library: list[float] = []
    ours: list[float] = []
    before = hot.core.store.statements
    gc.collect()
    for _ in range(rounds):
        started = clock()
        nio.SyncResponse.from_dict(sync)
        library.append(clock() - started)
        started = clock()
        await hot.take(nio.SyncResponse.from_dict(sync))
        ours.append(clock() - started)
    statements = hot.core.store.statements - before
    hot.core.metrics.time_decision = histogram  # type: ignore[method-assign]
    per_event = 1e6 / EVENTS
    ratio = statistics.median(o / lib for o, lib in zip(ours, library, strict=True))
    return (
        statistics.median(library) * per_event,
        statistics.median(ours) * per_event,
        ratio,
        statements,
        judged[0],
    )


async def one_size(users: int, rounds: int) -> tuple[float, float, float, int, int]:
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite+aiosqlite:///{folder}/bench.db")
        await migrate.upgrade(store.engine)
        hot = await assemble(store, users)
        try:
            return await measure(hot, rounds)
        finally:
            await hot.matrix._queues.close()
            await hot.core.stop()
            await store.close()


async def main(rounds: int, runs: int) -> None:
    ratios: dict[int, list[float]] = {size: [] for size in SIZES}
    for run in range(1, runs + 1):
        print(f"run {run} ({rounds} rounds of a {EVENTS}-event sync each)")
        for users in SIZES:
            library, ours, ratio, statements, judged = await one_size(users, rounds)
            ratios[users].append(ratio)
            print(
                f"  {users:>5} users in power levels: nio {library:6.1f} µs/event,"
                f" nio + ours {ours:6.1f} µs/event (ours {ours - library:5.1f}),"
                f" {statements} SQL statements, {judged}/{rounds * EVENTS} judged,"
                f" ratio: {ratio:.2f}"
            )
    print(f"over {runs} runs:")
    for users in SIZES:
        values = ratios[users]
        print(
            f"  {users:>5} users: ratio min {min(values):.2f}, median"
            f" {statistics.median(values):.2f}"
        )


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(arguments + [30, 3][len(arguments) :])))
