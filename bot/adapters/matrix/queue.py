"""Event handling off the sync loop: one bounded, ordered queue per room, and sync batches.

nio-style callbacks run inside sync, so one slow action (a redaction round trip, a database write)
would stall every room. Here the sync loop only reads events into work items (`work.py`) and
enqueues them; a worker per room hands that room's items, in order, to one handler, and rooms
proceed in parallel. Queues are bounded: when a room's queue
is full the sync loop waits (the homeserver keeps the events meanwhile), and that waiting is
counted, so back-pressure is a number on /metrics rather than unbounded tasks and memory.

A `Batch` is one sync response. Its token may be stored only when every event in it (and in every
earlier batch) has been handled: at-least-once delivery across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)
_TIMER_SLACK = 1.01  # an item's timer may give it this much more than `job_seconds`


class Queued(Protocol):
    """What a queue needs to know of an item: whose order it keeps, and how to log it."""

    @property
    def queue(self) -> str: ...  # the room (or other ordered stream) it belongs to

    @property
    def what(self) -> str: ...  # for logs: its kind and event id, never what anyone wrote


ItemT = TypeVar("ItemT", bound=Queued)


class Batch:
    """The events of one sync response, and whether all of them have been handled."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.done = asyncio.Event()
        self._pending = 0
        self._sealed = False

    def add(self) -> None:
        self._pending += 1

    def finish_one(self) -> None:
        self._pending -= 1
        self._check()

    def seal(self) -> None:
        """No more events will be added; done once the pending ones are handled."""
        self._sealed = True
        self._check()

    def _check(self) -> None:
        if self._sealed and self._pending <= 0:
            self.done.set()


@dataclass(frozen=True, slots=True)
class QueueStats:
    rooms: int  # rooms with a queue
    depth: int  # items waiting now, all rooms together
    deepest_room: int  # items waiting now in the fullest room
    high_water: int  # the most items one room has had waiting since start
    capacity: int  # the bound per room
    enqueued: int
    handled: int
    failed: int
    timed_out: int
    blocked_puts: int  # times the sync loop waited because a room's queue was full
    blocked_seconds: float  # how long it waited in total


@dataclass(slots=True)
class _Entry(Generic[ItemT]):
    item: ItemT
    batch: Batch | None


class _RoomQueue(Generic[ItemT]):
    """One room's FIFO: a deque, the worker's wake-up and the sync loop's, and a count of items
    not yet handled (for `join`). `asyncio.Queue` does the same with a lock-free but general
    protocol whose put, get and bookkeeping cost a few µs of every event."""

    __slots__ = ("_getter", "_idle", "_putters", "capacity", "items", "unfinished")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: deque[_Entry[ItemT]] = deque()
        self.unfinished = 0
        self._idle: asyncio.Event | None = None  # made when someone joins
        self._getter: asyncio.Future[None] | None = None  # the worker, waiting for an item
        self._putters: deque[asyncio.Future[None]] = deque()  # puts waiting for room

    def full(self) -> bool:
        return len(self.items) >= self.capacity

    def append(self, entry: _Entry[ItemT]) -> None:
        self.items.append(entry)
        self.unfinished += 1
        getter = self._getter
        if getter is not None:
            self._getter = None
            if not getter.done():
                getter.set_result(None)

    async def put(self, entry: _Entry[ItemT]) -> None:
        """Wait while the room is full, then append (in the order the waits began)."""
        while self.full():
            waiter = asyncio.get_running_loop().create_future()
            self._putters.append(waiter)
            try:
                await waiter
            except BaseException:
                with contextlib.suppress(ValueError):
                    self._putters.remove(waiter)
                if not self.full():
                    self._wake_putter()  # the room it was given goes to the next one
                raise
        self.append(entry)

    async def get(self) -> _Entry[ItemT]:
        while not self.items:
            self._getter = asyncio.get_running_loop().create_future()
            await self._getter
        return self.take()

    def take(self) -> _Entry[ItemT]:
        entry = self.items.popleft()
        if self._putters:
            self._wake_putter()
        return entry

    def _wake_putter(self) -> None:
        while self._putters:
            waiter = self._putters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def task_done(self) -> None:
        self.unfinished -= 1
        if self.unfinished == 0 and self._idle is not None:
            self._idle.set()

    async def join(self) -> None:
        if self.unfinished:
            if self._idle is None:
                self._idle = asyncio.Event()
            self._idle.clear()
            await self._idle.wait()


class RoomQueues(Generic[ItemT]):
    """A bounded FIFO and a worker per room; items of one room never overlap or reorder."""

    def __init__(
        self,
        capacity: int,
        handle: Callable[[ItemT], Awaitable[None]],
        *,
        job_seconds: float = 120.0,
    ) -> None:
        self.capacity = capacity
        self.job_seconds = job_seconds
        self._handle = handle
        self._queues: dict[str, _RoomQueue[ItemT]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._high_water = 0
        self._enqueued = 0
        self._handled = 0
        self._failed = 0
        self._timed_out = 0
        self._blocked_puts = 0
        self._blocked_seconds = 0.0
        self._closed = False

    def _queue(self, room_id: str) -> _RoomQueue[ItemT]:
        if self._closed:
            raise RuntimeError("the room queues are closed")
        queue = self._queues.get(room_id)
        if queue is None:
            queue = self._queues[room_id] = _RoomQueue(self.capacity)
            self._workers[room_id] = asyncio.create_task(
                self._work(room_id, queue), name=f"matrix-room-{room_id}"
            )
        return queue

    def offer(self, item: ItemT, batch: Batch | None = None) -> bool:
        """Queue an item at once if its room has space (what nearly every event finds); False,
        with nothing queued, when the caller has to `await put` instead."""
        queue = self._queue(item.queue)
        if queue.full():
            return False
        if batch is not None:
            batch.add()
        queue.append(_Entry(item, batch))
        self._enqueued += 1
        depth = len(queue.items)
        if depth > self._high_water:
            self._high_water = depth
        return True

    async def put(self, item: ItemT, batch: Batch | None = None) -> None:
        """Queue an item behind its room's earlier ones; waits (counted) while the queue is full."""
        if self.offer(item, batch):
            return
        queue = self._queue(item.queue)
        if batch is not None:
            batch.add()
        self._blocked_puts += 1
        started = time.monotonic()
        try:
            await queue.put(_Entry(item, batch))
        except BaseException:
            if batch is not None:
                batch.finish_one()
            raise
        finally:
            self._blocked_seconds += time.monotonic() - started
        self._enqueued += 1
        self._high_water = max(self._high_water, len(queue.items))

    async def _work(self, room_id: str, queue: _RoomQueue[ItemT]) -> None:
        """Handle the room's items in order, each given at least `job_seconds` (at most 1 %
        more): a run of items waiting shares one timer, moved on only when less than that is
        left, as arming a timer per item cost more than many items' own handling."""
        loop = asyncio.get_running_loop()
        while True:
            entry = await queue.get()
            try:
                async with asyncio.timeout(None) as window:
                    while True:
                        deadline = window.when()
                        if deadline is None or deadline - loop.time() < self.job_seconds:
                            window.reschedule(loop.time() + self.job_seconds * _TIMER_SLACK)
                        await self._run(room_id, entry, queue)
                        if not queue.items:
                            break
                        entry = queue.take()
            except TimeoutError:  # the window ran out during `entry`
                self._timed_out_after(room_id, entry)

    async def _run(self, room_id: str, entry: _Entry[ItemT], queue: _RoomQueue[ItemT]) -> None:
        try:
            await self._handle(entry.item)
        except TimeoutError:  # the handler's own
            self._timed_out_after(room_id, entry)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._failed += 1
            log.exception("handling %s in %s failed; carrying on", entry.item.what, room_id)
        finally:
            self._handled += 1
            if entry.batch is not None:
                entry.batch.finish_one()
            queue.task_done()

    def _timed_out_after(self, room_id: str, entry: _Entry[ItemT]) -> None:
        self._timed_out += 1
        log.error(
            "%s in %s took over %.0f s; moving on", entry.item.what, room_id, self.job_seconds
        )

    async def drain(self, seconds: float) -> bool:
        """Wait until every queued item has been handled; False if that took too long."""
        try:
            async with asyncio.timeout(seconds):
                for queue in list(self._queues.values()):
                    await queue.join()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop the workers; items still queued are dropped (their batch is never stored)."""
        self._closed = True
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        self._queues.clear()

    def stats(self) -> QueueStats:
        depths = [len(q.items) for q in self._queues.values()]
        return QueueStats(
            rooms=len(depths),
            depth=sum(depths),
            deepest_room=max(depths, default=0),
            high_water=self._high_water,
            capacity=self.capacity,
            enqueued=self._enqueued,
            handled=self._handled,
            failed=self._failed,
            timed_out=self._timed_out,
            blocked_puts=self._blocked_puts,
            blocked_seconds=self._blocked_seconds,
        )
