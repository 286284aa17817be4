"""A room's queue gives each item its own allowance (`job_seconds`), though a run of waiting
items shares one timer: a stuck item is cut and counted, the items after it still run, and a run
of items that together take longer than one allowance is never cut.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest

from bot.adapters.matrix.queue import Batch, RoomQueues

ALLOWANCE = 0.5  # seconds


@dataclass(frozen=True)
class Job:
    queue: str
    what: str
    seconds: float = 0.0  # how long handling takes; negative: never ends by itself
    raises: type[Exception] | None = None


async def run(jobs: list[Job]) -> tuple[list[str], RoomQueues[Job], Batch]:
    done: list[str] = []

    async def handle(job: Job) -> None:
        if job.seconds < 0:
            await asyncio.Event().wait()
        await asyncio.sleep(job.seconds)
        if job.raises is not None:
            raise job.raises("from the handler")
        done.append(job.what)

    queues: RoomQueues[Job] = RoomQueues(100, handle, job_seconds=ALLOWANCE)
    batch = Batch("t")
    for job in jobs:
        await queues.put(job, batch)
    batch.seal()
    assert await queues.drain(10)
    await queues.close()
    return done, queues, batch


async def test_a_run_longer_than_one_allowance_is_not_cut() -> None:
    jobs = [Job("!a", f"a{i}", seconds=ALLOWANCE * 0.4) for i in range(4)]
    done, queues, batch = await run(jobs)
    assert done == ["a0", "a1", "a2", "a3"]
    assert queues.stats().timed_out == 0 and batch.done.is_set()


async def test_a_stuck_item_is_cut_and_the_next_ones_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jobs = [
        Job("!a", "a0", seconds=ALLOWANCE * 0.6),
        Job("!a", "stuck", seconds=-1),
        Job("!a", "a2", seconds=ALLOWANCE * 0.6),
        Job("!a", "a3", seconds=ALLOWANCE * 0.6),
    ]
    with caplog.at_level(logging.ERROR):
        done, queues, batch = await run(jobs)
    assert done == ["a0", "a2", "a3"]
    stats = queues.stats()
    assert (stats.timed_out, stats.failed, stats.handled) == (1, 0, 4)
    assert "stuck in !a took over" in caplog.text and batch.done.is_set()


async def test_a_handlers_own_timeout_and_failure_are_counted_apart() -> None:
    jobs = [
        Job("!a", "late", raises=TimeoutError),
        Job("!a", "broken", raises=ValueError),
        Job("!a", "fine"),
    ]
    done, queues, _ = await run(jobs)
    stats = queues.stats()
    assert done == ["fine"] and (stats.timed_out, stats.failed, stats.handled) == (1, 1, 3)
