"""The audit trail: people's decisions written before anyone is answered, the bot's own
routine actions written in batches off the hot path.

A moderator's or admin's decision (revoke, approve, resolve a report, a policy) and a member's own
(verify, forget) go through `write`: the row is in the database before the person is told it is
done. What the bot does by itself, many times a second in a raid (hold, remove, notify, badge
changes), goes through `record`: queued and written in batches by one background writer, so the
removal of an unwanted message waits for the held item (which the member is owed), not for its
audit row. The writer lingers a moment (`LINGER`) after the first entry of a batch before
writing it, so in a busy room it writes one batch now and then instead of one row right after
each removal, when the next message's frame is arriving (its write on the shared writer thread
would hold up that message's hold and removal). The queue is bounded, so a slow database slows
producers instead of growing memory; a full batch or a `flush` cuts the linger short. A crash can
lose the rows of the last moments' routine actions, never a decision or what it did.
After either, `mirror` (when set) may copy the rows to a community's audit channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress

from bot.storage.records import AuditDraft
from bot.storage.repo import Store

log = logging.getLogger(__name__)
BATCH = 500
LINGER = 0.25  # seconds a batch gathers before it is written
Mirror = Callable[[Sequence[AuditDraft]], Awaitable[None]]


class AuditTrail:
    def __init__(self, store: Store, capacity: int = 10_000, mirror: Mirror | None = None) -> None:
        self.store = store
        self.mirror = mirror
        self._queue: asyncio.Queue[AuditDraft] = asyncio.Queue(capacity)
        self._writer: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()  # write what is queued now: a full batch, or a flush
        self._flushing = 0  # flushes waiting: no linger until they are done
        self.high_water = 0
        self.written = 0

    def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_forever(), name="audit writer")

    async def write(self, draft: AuditDraft) -> None:
        """Write one entry now: a person's decision is recorded before they are answered (an
        error here reaches the caller, who must not claim it is done)."""
        await self.store.audit_many([draft])
        self.written += 1
        await self._mirror([draft])

    async def record(self, draft: AuditDraft) -> None:
        if self._writer is None:  # not started (a one-off tool or a test): write at once
            await self._write([draft])
            return
        await self._queue.put(draft)
        queued = self._queue.qsize()
        self.high_water = max(self.high_water, queued)
        if queued >= BATCH:
            self._hurry.set()

    async def flush(self) -> None:
        """Return once everything recorded so far is in the database."""
        if self._writer is not None:
            self._flushing += 1
            self._hurry.set()
            try:
                await self._queue.join()
            finally:
                self._flushing -= 1

    async def stop(self) -> None:
        await self.flush()
        if self._writer is not None:
            self._writer.cancel()
            with suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if not self._hurry.is_set():
                with suppress(TimeoutError):
                    async with asyncio.timeout(LINGER):
                        await self._hurry.wait()
            if not self._flushing and self._queue.qsize() < BATCH:
                self._hurry.clear()
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[AuditDraft]) -> None:
        try:
            await self.store.audit_many(batch)
            self.written += len(batch)
        except Exception:
            log.exception("could not write %d audit entries; they are lost", len(batch))
            return
        await self._mirror(batch)

    async def _mirror(self, drafts: Sequence[AuditDraft]) -> None:
        if self.mirror is None:
            return
        try:
            await self.mirror(drafts)
        except Exception:  # the rows are stored; a copy that did not arrive is only logged
            log.exception("could not copy %d audit entries to an audit channel", len(drafts))
