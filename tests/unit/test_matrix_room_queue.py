"""A room's queue keeps order under back-pressure, never holds more than its capacity, lets a
cancelled wait pass its turn on, and `drain` returns only once every item was handled."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.adapters.matrix.queue import Batch, RoomQueues


@dataclass(frozen=True)
class Job:
    queue: str
    what: str


async def test_a_full_room_makes_the_sync_loop_wait_and_keeps_the_order() -> None:
    gate = asyncio.Event()
    done: list[str] = []
    depths: list[int] = []

    async def handle(job: Job) -> None:
        await gate.wait()
        done.append(job.what)

    queues: RoomQueues[Job] = RoomQueues(2, handle)
    batch = Batch("t")

    async def producer() -> None:
        for n in range(6):
            await queues.put(Job("!a", f"a{n}"), batch)
            depths.append(queues.stats().deepest_room)
        batch.seal()

    task = asyncio.create_task(producer())
    await asyncio.sleep(0.05)
    assert not task.done(), "the producer should wait while the room is full"
    assert queues.stats().blocked_puts >= 1
    gate.set()
    await task
    await asyncio.wait_for(batch.done.wait(), 2)
    assert done == [f"a{n}" for n in range(6)]
    assert max(depths) <= 2
    stats = queues.stats()
    assert stats.handled == 6 and stats.enqueued == 6 and stats.depth == 0
    await queues.close()


async def test_offer_refuses_a_full_room_without_queueing() -> None:
    gate = asyncio.Event()

    async def handle(job: Job) -> None:
        await gate.wait()

    queues: RoomQueues[Job] = RoomQueues(1, handle)
    assert queues.offer(Job("!a", "first"))
    await asyncio.sleep(0)  # the worker takes it: the room has space again
    assert queues.offer(Job("!a", "second"))
    batch = Batch("t")
    assert not queues.offer(Job("!a", "third"), batch)
    batch.seal()
    assert batch.done.is_set(), "a refused offer must not count in its batch"
    assert queues.offer(Job("!b", "other room"))
    assert queues.stats().enqueued == 3
    gate.set()
    await queues.close()


async def test_a_cancelled_wait_passes_the_free_place_to_the_next_waiter() -> None:
    gate = asyncio.Event()
    done: list[str] = []

    async def handle(job: Job) -> None:
        await gate.wait()
        done.append(job.what)

    queues: RoomQueues[Job] = RoomQueues(1, handle)
    await queues.put(Job("!a", "one"))
    await asyncio.sleep(0)  # taken by the worker, which now waits at the gate
    await queues.put(Job("!a", "two"))  # fills the room
    first = asyncio.create_task(queues.put(Job("!a", "cancelled")))
    second = asyncio.create_task(queues.put(Job("!a", "three")))
    await asyncio.sleep(0.01)
    first.cancel()
    gate.set()
    await asyncio.wait_for(second, 2)
    assert await queues.drain(2)
    assert done == ["one", "two", "three"]
    await queues.close()


async def test_drain_waits_for_items_being_handled() -> None:
    release = asyncio.Event()
    done: list[str] = []

    async def handle(job: Job) -> None:
        await release.wait()
        done.append(job.what)

    queues: RoomQueues[Job] = RoomQueues(10, handle)
    for n in range(3):
        assert queues.offer(Job("!a", f"a{n}"))
    assert not await queues.drain(0.05)
    release.set()
    assert await queues.drain(2)
    assert done == ["a0", "a1", "a2"]
    await queues.close()
