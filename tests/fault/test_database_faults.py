"""The database on a bad day: SQLite locked by another process, PostgreSQL connections cut.
The bot waits, or fails one action clearly and counts it, and carries on; nothing is removed
that was not first held."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.core import BotCore
from bot.model import FilterLevel, MessageRef
from bot.storage import migrate
from bot.storage.repo import Store
from cogs.filters import Filters
from tests.fault.killable import ALICE, CONFIG, MALLORY, ROOM, SPACE, the_reply
from tests.recording import RecordingAdapter


async def a_bot(store: Store) -> tuple[BotCore, RecordingAdapter]:
    adapter = RecordingAdapter(served=[SPACE])
    core = BotCore(CONFIG, store, adapters=[adapter], cogs=[Filters])
    await core.start()
    await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, core.clock())
    return core, adapter


@pytest.fixture
async def sqlite_bot(sqlite_url: str, tmp_path: Path) -> AsyncIterator[tuple[BotCore, Path]]:
    store = Store.open(sqlite_url)
    await migrate.upgrade(store.engine)
    core, _ = await a_bot(store)
    try:
        yield core, tmp_path / "verifybot.db"
    finally:
        await core.stop()
        await store.close()


def lock_for(path: Path, seconds: float) -> threading.Thread:
    """Another process's write transaction on the file, held for `seconds`."""
    ready = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        ready.set()
        threading.Event().wait(seconds)
        other.execute("ROLLBACK")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    ready.wait()
    return thread


async def test_sqlite_locked_for_a_moment_waits(sqlite_bot: tuple[BotCore, Path]) -> None:
    core, path = sqlite_bot
    adapter = core.adapter("matrix")
    assert isinstance(adapter, RecordingAdapter)
    locker = lock_for(path, 1.0)
    await core.handle_event(adapter, the_reply())
    locker.join()
    assert adapter.removed() == [MessageRef(ROOM, "$unwanted")]
    assert await core.store.count_held(ALICE) == 1


async def test_sqlite_locked_too_long_fails_one_action_and_carries_on(
    sqlite_bot: tuple[BotCore, Path],
) -> None:
    core, path = sqlite_bot
    adapter = core.adapter("matrix")
    assert isinstance(adapter, RecordingAdapter)
    locker = lock_for(path, 7.0)  # beyond the 5 s the bot waits for a lock
    await core.handle_event(adapter, the_reply())
    locker.join()
    assert adapter.removed() == []  # not held, so not removed
    assert core.metrics.value("verifybot_action_failures_total", kind="withhold") == 1
    await core.handle_event(adapter, the_reply())  # the network delivers it again
    assert adapter.removed() == [MessageRef(ROOM, "$unwanted")]
    assert await core.store.count_held(ALICE) == 1


@pytest.mark.postgres
async def test_postgresql_connections_cut_are_replaced(pg_store: Store, pg_url: str) -> None:
    core, adapter = await a_bot(pg_store)
    try:
        await core.cache.verification(MALLORY)  # the pool holds live connections now
        url = make_url(pg_url)
        admin = await asyncpg.connect(
            url.set(drivername="postgresql", database="postgres").render_as_string(
                hide_password=False
            )
        )
        try:
            cut = await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                url.database,
            )
        finally:
            await admin.close()
        assert cut, "no connection was cut"
        core.cache.clear()
        await core.handle_event(adapter, the_reply())
        assert adapter.removed() == [MessageRef(ROOM, "$unwanted")]
        assert await pg_store.count_held(ALICE) == 1
    finally:
        await core.stop()
