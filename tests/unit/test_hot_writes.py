"""The writes a person waits on (a held item, a sender's notice time, an audit batch) go through
one short transaction: on a SQLite file on a dedicated writer thread beside the pool.

What must hold: a write is committed and visible to every other connection when it returns; the
writer and the pool's connections write side by side without "database is locked"; a caller
cancelled midway leaves the write done once; every statement is counted like the pool's; an
in-memory database, private to one connection, never gets a second one; and the same on
PostgreSQL, where there is no writer thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.actions import HoldForMember
from bot.model import ChannelRef, CommunityRef, FilterLevel, MemberRef, MessageRef, Relation
from bot.storage import migrate
from bot.storage.records import AuditDraft
from bot.storage.repo import Store

SPACE = CommunityRef("matrix", "!space:hs")
ROOM = ChannelRef(SPACE, "!room:hs")
ALICE = MemberRef("matrix", "@alice:hs")
MALLORY = MemberRef("matrix", "@mallory:hs")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def hold(message: str, member: MemberRef = ALICE) -> HoldForMember:
    return HoldForMember(
        member, Relation.REPLY, MessageRef(ROOM, message), MALLORY, "go away", "unverified"
    )


async def add(store: Store, *holds: HoldForMember) -> int:
    return await store.add_held(list(holds), at=NOW, expires_at=NOW + timedelta(days=30))


async def test_a_hold_is_visible_everywhere_once_written_and_a_redelivery_adds_nothing(
    any_store: Store,
) -> None:
    assert await add(any_store, hold("$1"), hold("$1", MemberRef("matrix", "@bob:hs"))) == 2
    assert await any_store.count_held(ALICE) == 1  # read through the pool
    assert await add(any_store, hold("$1")) == 0
    [item] = await any_store.list_held(ALICE)
    assert (item.message_id, item.content, item.held_at) == ("$1", "go away", NOW)


async def test_notices_and_audit_batches_are_written_and_read_back(any_store: Store) -> None:
    await any_store.set_notice(SPACE, MALLORY, NOW)
    await any_store.set_notice(SPACE, MALLORY, NOW + timedelta(minutes=5))
    assert await any_store.get_notice(SPACE, MALLORY) == NOW + timedelta(minutes=5)
    drafts = [
        AuditDraft("matrix", SPACE.id, None, "Withhold", MALLORY.id, f"held {n}", NOW)
        for n in range(3)
    ]
    await any_store.audit_many(drafts)
    await any_store.audit_many([])
    entries = await any_store.list_audit(community_id=SPACE.id, network="matrix")
    assert sorted(e.detail for e in entries) == ["held 0", "held 1", "held 2"]


async def test_the_writer_and_the_pool_write_side_by_side(store: Store) -> None:
    """Holds on the writer, filters through the pool's sessions, all at once: none is refused."""
    members = [MemberRef("matrix", f"@m{n}:hs") for n in range(60)]
    results = await asyncio.gather(
        *(add(store, hold(f"${n}")) for n in range(60)),
        *(store.set_filter(SPACE, m, FilterLevel.REPLIES, NOW) for m in members),
    )
    assert results[:60] == [1] * 60
    assert await store.count_held(ALICE) == 60
    assert await store.filter_counts(SPACE) == {"replies": 60}


async def test_a_cancelled_caller_leaves_the_hold_written_once(
    store: Store, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "verifybot.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the lock is taken: the hold cannot be written at once
    task = asyncio.create_task(add(store, hold("$cut")))
    await asyncio.sleep(0)  # the write is on its way to the writer's thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    other.execute("ROLLBACK")
    other.close()
    for _ in range(100):  # the transaction finishes on its own thread
        if await store.count_held(ALICE) == 1:
            break
        await asyncio.sleep(0.01)
    assert await add(store, hold("$cut")) == 0  # redelivered: found held already
    assert await store.count_held(ALICE) == 1


async def test_every_statement_of_the_writer_is_counted(store: Store) -> None:
    before = store.statements
    await add(store, hold("$counted"))
    assert store.statements - before >= 2  # BEGIN IMMEDIATE and the INSERT at least


async def test_the_event_loop_is_free_while_the_writer_waits_for_a_lock(
    store: Store, tmp_path: Path
) -> None:
    """Another process holds the write lock: the hold waits on its own thread, not the loop."""
    other = sqlite3.connect(tmp_path / "verifybot.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    writing = asyncio.create_task(add(store, hold("$waits")))
    ticks = 0
    while not writing.done():
        await asyncio.sleep(0.01)
        ticks += 1
        if ticks == 20:  # the loop kept turning while the write waited: let it through
            other.execute("ROLLBACK")
    assert await writing == 1
    assert ticks >= 20
    other.close()


async def test_an_in_memory_database_keeps_one_connection() -> None:
    """A second connection to :memory: would be a different, empty database."""
    store = Store.open("sqlite+aiosqlite:///:memory:")
    try:
        await migrate.upgrade(store.engine)
        assert await add(store, hold("$mem")) == 1
        assert await store.count_held(ALICE) == 1
    finally:
        await store.close()
