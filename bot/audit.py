"""The audit trail, written off the hot path.

Audit rows record what the bot did (or, in a dry run, would have done). Nobody is owed them before
the action happens, so they are queued and written in batches by one background writer: the
removal of an unwanted message waits for the held item (which the member is owed), not for its
audit row. The queue is bounded, so a slow database slows producers instead of growing memory.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from bot.storage.records import AuditDraft
from bot.storage.repo import Store

log = logging.getLogger(__name__)
BATCH = 500


class AuditTrail:
    def __init__(self, store: Store, capacity: int = 10_000) -> None:
        self.store = store
        self._queue: asyncio.Queue[AuditDraft] = asyncio.Queue(capacity)
        self._writer: asyncio.Task[None] | None = None
        self.high_water = 0
        self.written = 0

    def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_forever(), name="audit writer")

    async def record(self, draft: AuditDraft) -> None:
        if self._writer is None:  # not started (a one-off tool or a test): write at once
            await self._write([draft])
            return
        await self._queue.put(draft)
        self.high_water = max(self.high_water, self._queue.qsize())

    async def flush(self) -> None:
        """Return once everything recorded so far is in the database."""
        if self._writer is not None:
            await self._queue.join()

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
