"""The sync loop: long-poll the homeserver, take each response in, queue its work, and store the
sync token once all of it was handled.

One response is one `Batch`. Its rooms' state is taken in first (so every event is read knowing
which community its room belongs to), then each timeline event is read into a work item
(`inbound.py`) and queued on its room's ordered, bounded queue (`queue.py`); a full queue makes
this loop wait, which is the back-pressure. The token is stored only when every item of its batch,
and of every earlier batch, was handled: at-least-once delivery across restarts (the core's
actions are idempotent by event id, so a restart neither misses nor doubles anything).

A timeline sync cut short (`limited`, after an outage) is filled in from the room's history, so
nothing sent while the bot was away goes unjudged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
import nio

from bot.adapters.base import AdapterError, AdapterState
from bot.adapters.matrix.connection import ClientSource, JsonDict, error_text, is_error, raw_event
from bot.adapters.matrix.directory import RoomDirectory
from bot.adapters.matrix.inbound import InboundReader
from bot.adapters.matrix.joins import room_added, start_checks
from bot.adapters.matrix.queue import Batch, RoomQueues
from bot.adapters.matrix.rooms import RoomFacts
from bot.adapters.matrix.work import ConsiderInvite, WorkItem

log = logging.getLogger(__name__)

SYNC_TOKEN_KEY = "sync_token"
# What we ask sync for: no presence or account data; enough timeline that a short outage needs no
# backfill; every member's state (we judge power and membership ourselves).
SYNC_FILTER: JsonDict = {
    "presence": {"types": []},
    "account_data": {"types": []},
    "room": {
        "timeline": {"limit": 50},
        "state": {"lazy_load_members": False},
        "ephemeral": {"types": []},
        "account_data": {"types": []},
    },
}
_BACKFILL_PAGES = 20


class SyncLoop:
    def __init__(
        self,
        client: ClientSource,
        state: AdapterState,
        directory: RoomDirectory,
        reader: InboundReader,
        queues: RoomQueues[WorkItem],
        *,
        long_poll_ms: int,
    ) -> None:
        self._client = client
        self._state = state
        self._directory = directory
        self._reader = reader
        self._queues = queues
        self._long_poll_ms = long_poll_ms
        self._batches: asyncio.Queue[Batch] = asyncio.Queue()
        self._sync_task: asyncio.Task[None] | None = None
        self._commit_task: asyncio.Task[None] | None = None
        self.received_token: str | None = None  # the newest response's, handled or not
        self.committed_token: str | None = None  # the newest stored, all of it handled
        self.failures = 0  # syncs that failed or were refused (the homeserver away)

    async def catch_up(self) -> str:
        """The first sync: every room's state, and what happened since the stored token.

        No stored token means the bot's very first start, and the history is not news. Returns
        where the loop goes on from.
        """
        token = await self._state.get(SYNC_TOKEN_KEY)
        first = await self._client().sync(
            timeout=0, since=token, full_state=True, sync_filter=SYNC_FILTER
        )
        if is_error(first):
            raise AdapterError(f"the first sync failed: {error_text(first)}")
        await self._take(first, since=token, replay=token is not None, initial=True)
        return str(first.next_batch)

    def run(self, since: str) -> None:
        """Sync on in the background, and store tokens as their batches are handled."""
        self._commit_task = asyncio.create_task(self._commit_forever(), name="matrix-commit")
        self._sync_task = asyncio.create_task(self._sync_forever(since), name="matrix-sync")

    async def stop_syncing(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
            self._sync_task = None

    async def stop_committing(self, seconds: float) -> None:
        """Store the tokens of batches handled by now (waiting at most `seconds`), then stop."""
        if self._commit_task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._batches.join()
        self._commit_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._commit_task
        self._commit_task = None

    async def _sync_forever(self, since: str) -> None:
        delay = 1.0
        while True:
            try:
                answer = await self._client().sync(
                    timeout=self._long_poll_ms, since=since, sync_filter=SYNC_FILTER
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                log.warning("sync failed; retrying in %.0f s", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            if is_error(answer):
                self.failures += 1
                log.warning("sync refused (%s); retrying in %.0f s", error_text(answer), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            delay = 1.0
            try:
                await self._take(answer, since=since, replay=True, initial=False)
            except asyncio.CancelledError:
                raise
            except Exception:
                # never let one odd response stop the bot; its events are lost only if this
                # repeats, and the log says so
                log.exception("could not take in a sync response; skipping it")
            since = str(answer.next_batch)

    async def _commit_forever(self) -> None:
        while True:
            batch = await self._batches.get()
            try:
                await batch.done.wait()
                await self._state.set(SYNC_TOKEN_KEY, batch.token)
                self.committed_token = batch.token
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not store the sync token; a restart may repeat some events")
            finally:
                self._batches.task_done()

    async def _take(self, answer: Any, *, since: str | None, replay: bool, initial: bool) -> None:
        """Fold one sync response into room state and queue its work (in order, per room).

        The batch is sealed however this ends, so one bad response can never hold back the
        storing of every later sync token.
        """
        batch = Batch(str(answer.next_batch))
        self.received_token = batch.token
        try:
            await self._take_rooms(answer.rooms, batch, since=since, replay=replay, initial=initial)
        finally:
            batch.seal()
            self._batches.put_nowait(batch)

    async def _take_rooms(
        self, rooms: Any, batch: Batch, *, since: str | None, replay: bool, initial: bool
    ) -> None:
        directory, reader, bot_id = self._directory, self._reader, self._directory.bot_id
        # State first (rooms, spaces and memberships as of the timelines' start), so every
        # event below is read knowing which community its room belongs to.
        structure_changed = initial
        was_joined: set[str] = set()
        for room_id, info in rooms.join.items():
            facts = directory.rooms.setdefault(room_id, RoomFacts(room_id))
            if facts.membership(bot_id) == "join":
                was_joined.add(room_id)
            for event in info.state:
                structure_changed |= reader.apply_state(facts, raw_event(event))
        for room_id, info in rooms.leave.items():
            facts = directory.rooms.setdefault(room_id, RoomFacts(room_id))
            for event in [*info.state, *info.timeline.events]:
                reader.apply_state(facts, raw_event(event))
            structure_changed = True
        if structure_changed:
            directory.reindex()
        queues = self._queues
        for room_id, info in rooms.join.items():
            facts = directory.rooms[room_id]
            timeline = [raw_event(e) for e in info.timeline.events]
            if replay and since and info.timeline.limited and info.timeline.prev_batch:
                timeline = await self._backfill(room_id, info.timeline.prev_batch, since) + timeline
            for event in timeline:
                try:
                    item = reader.read(facts, event, replay)
                    if item is not None and not queues.offer(item, batch):
                        await queues.put(item, batch)  # the room is full: wait, counted
                except Exception:
                    log.exception("could not read event %s in %s", event.get("event_id"), room_id)
        newly_joined = [
            room_id
            for room_id in rooms.join
            if room_id not in was_joined and directory.bot_joined(room_id)
        ]
        for room_id, invite in rooms.invite.items():
            invite_state = tuple(raw_event(e) for e in invite.invite_state)
            await self._queues.put(ConsiderInvite(room_id, invite_state), batch)
        if initial:
            for item in start_checks(directory):
                await self._queues.put(item, batch)
        else:
            for room_id in newly_joined:
                added = room_added(directory, room_id)
                if added is not None:
                    await self._queues.put(added, batch)

    async def _backfill(self, room_id: str, prev_batch: str, since: str) -> list[JsonDict]:
        """Events sync left out (a limited timeline) between the stored token and this batch."""
        found: list[JsonDict] = []
        start = prev_batch
        for _ in range(_BACKFILL_PAGES):
            try:
                page = await self._client().room_messages(
                    room_id, start=start, end=since, direction=nio.MessageDirection.back, limit=100
                )
            except (OSError, TimeoutError, aiohttp.ClientError) as exc:
                log.warning("could not fetch the events sync left out in %s: %s", room_id, exc)
                break
            if is_error(page) or not page.chunk:
                break
            found.extend(raw_event(e) for e in page.chunk)
            if not page.end or page.end == start:
                break
            start = page.end
        log.info("caught up %d events in %s that sync left out", len(found), room_id)
        # state in the gap is older than the state sync gave us, so only messages matter here
        return [e for e in reversed(found) if not isinstance(e.get("state_key"), str)]
