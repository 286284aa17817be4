"""The SQLite writes a person waits on, in one thread hand-off instead of five.

Holding a reply must be durable before the reply is removed, so the removal waits for the write.
Through the async engine one small INSERT costs a connection check-out, BEGIN, the statement,
COMMIT and the pool's reset, each a trip to aiosqlite's thread and back (~1 ms in all, SQLite
itself ~20 µs). Here the whole transaction runs on one dedicated thread with one connection and
Core statements compiled once: one trip.

It is one more connection to the file, like each of the pool's: WAL lets readers run beside it,
and `BEGIN IMMEDIATE` takes the write lock at the start, so it waits its turn (up to the busy
timeout, on its own thread, never on the event loop) instead of failing midway. Durability is
the engine's: WAL with `synchronous=NORMAL`, committed before `run` returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.pool import StaticPool

T = TypeVar("T")
Work = Callable[[Connection], T]


def file_database(url: URL) -> bool:
    """Whether the SQLite URL names a file (an in-memory database is private to a connection)."""
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


class SqliteWriter:
    """One connection on one thread; `run` carries out a transaction there and commits it."""

    def __init__(
        self, url: URL, on_connect: Callable[[Any, Any], None], count: Callable[..., None]
    ) -> None:
        self._engine = create_engine(url.set(drivername="sqlite"), poolclass=StaticPool)
        event.listen(self._engine, "connect", on_connect)
        event.listen(self._engine, "begin", _begin_immediate)
        event.listen(self._engine, "before_cursor_execute", count)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="verifybot-sqlite-writer")

    async def run(self, work: Work[T]) -> T:
        """Run `work` in one transaction on the writer's thread; committed when this returns.

        If the caller is cancelled meanwhile, the transaction still finishes: a hold that was
        written is found again when the event is redelivered, never written twice."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._transaction, work)

    def _transaction(self, work: Work[T]) -> T:
        with self._engine.begin() as connection:
            return work(connection)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=True)


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


__all__ = ["SqliteWriter", "Work", "file_database"]
