"""The engine, its transactions and the connection gate, shared by every part of `Store`.

Each aggregate's queries live in their own module as a subclass of `Database`; `Store` is all of
them together over one engine. Writes commit before they return, so a caller that answers a
person afterwards has made what it promised durable first.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import cache
from typing import Any, Self, TypeVar, cast

from sqlalchemy import Connection, Select, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.storage import tables as t
from bot.storage.changes import Change
from bot.storage.writer import SqliteWriter, Work, file_database

log = logging.getLogger(__name__)

SQLITE_BEGIN = "verifybot_sqlite_begin"

Watcher = Callable[[Change], Awaitable[None]]
T = TypeVar("T")


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; foreign keys are off by default in SQLite.

    The driver's own transaction handling is switched off (isolation_level None) and BEGIN is
    sent by `_begin_sqlite` instead, so savepoints work and DDL is transactional: a migration
    cut short is rolled back rather than left half done."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    dbapi_connection.isolation_level = None


def _begin_sqlite(connection: Any) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


def _pool_capacity(engine: AsyncEngine) -> int:
    """How many connections the pool can hand out at once (its size plus overflow)."""
    pool = engine.pool
    size = getattr(pool, "size", lambda: 5)()
    overflow = max(0, int(getattr(pool, "_max_overflow", 0)))
    return max(1, int(size) + overflow)


@cache
def insert_for(dialect: str, table: type[t.Base]) -> Any:
    """A table's INSERT (with ON CONFLICT support) built once per dialect: the hot path binds
    values to it instead of building and keying a new statement each time."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return dialect_insert(table)


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (0 when the driver cannot say)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


class Database:
    """Owns the engine. `statements` counts every SQL statement sent (tests use it to prove the
    hot path issues none once the cache is warm).

    Work waits for a free connection here, in an unbounded asyncio queue, never in the
    connection pool (whose wait times out after 30 s): a burst of thousands of events on a cold
    cache is then slow for a moment, not dropped."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.statements = 0
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._connections = asyncio.Semaphore(_pool_capacity(engine))
        self._watchers: list[weakref.WeakMethod[Watcher]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)
        self._writer = (
            SqliteWriter(engine.url, _enable_sqlite_pragmas, self._count)
            if file_database(engine.url)
            else None
        )

    @classmethod
    def open(cls, url: str, *, pool_size: int = 10) -> Self:
        if url.startswith("sqlite"):
            engine = create_async_engine(url)
            event.listen(engine.sync_engine, "connect", _enable_sqlite_pragmas)
            event.listen(engine.sync_engine, "begin", _begin_sqlite)
        else:
            engine = create_async_engine(url, pool_size=pool_size, pool_pre_ping=True)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _count(self, *_args: Any) -> None:
        self.statements += 1

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
        await self.engine.dispose()

    async def ping(self) -> bool:
        """True when the database answers; used by /healthz."""
        try:
            async with self._connections, self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            log.warning("database ping failed", exc_info=True)
            return False

    # --- cached facts -------------------------------------------------------------------------

    def watch(self, watcher: Watcher) -> None:
        """Have `watcher` (a bound method, held weakly) told of every change to a cached fact."""
        self._watchers.append(weakref.WeakMethod(watcher))

    async def _changed(self, change: Change) -> None:
        """Tell the watchers what a committed write changed (call after the transaction)."""
        alive = [(ref, ref()) for ref in self._watchers]
        self._watchers = [ref for ref, watcher in alive if watcher is not None]
        for _ref, watcher in alive:
            if watcher is not None:
                await watcher(change)

    # --- sessions -----------------------------------------------------------------------------

    @asynccontextmanager
    async def _session(self, *, immediate: bool = False) -> AsyncIterator[AsyncSession]:
        """One transaction. `immediate`: on SQLite, take the write lock at the start, so a
        transaction that reads before it writes waits its turn instead of failing midway."""
        async with self._connections, self._sessions() as session, session.begin():
            if immediate:
                await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
            yield session

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only (no transaction of its own to commit)."""
        async with self._connections, self._sessions() as session:
            yield session

    async def _write(self, work: Work[T]) -> T:
        """One short write transaction of Core statements, committed when this returns: on a
        SQLite file on its dedicated writer (one thread hand-off), elsewhere on the pool."""
        if self._writer is not None:
            return await self._writer.run(work)
        async with self._connections, self.engine.begin() as connection:
            return await connection.run_sync(work)

    async def _insert_rows(
        self,
        stmt: Any,
        keys: Sequence[str],
        rows: Sequence[dict[str, Any]],
        *,
        count_new: bool = True,
    ) -> int:
        """`rows` (each with every one of `keys`) through the INSERT `stmt`, built once by the
        caller, in one transaction committed when this returns; how many rows were new (with
        `count_new` off, elsewhere than on SQLite, one batch whose count is not asked for). On a
        SQLite file: the writer's compiled statement on a DBAPI cursor (`SqliteWriter.insert`)."""
        if not rows:
            return 0
        if self._writer is not None:
            return await self._writer.insert(stmt, keys, rows)

        def write(connection: Connection) -> int:
            if not count_new:
                connection.execute(stmt, list(rows))
                return len(rows)
            return sum(rowcount(connection.execute(stmt, row)) for row in rows)

        return await self._write(write)

    def _insert(self, table: type[t.Base]) -> Any:
        """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table)

    async def _first(self, query: Select[Any]) -> Any:
        async with self._reading() as session:
            return (await session.execute(query)).scalars().first()

    async def _all(self, query: Select[Any]) -> Sequence[Any]:
        async with self._reading() as session:
            rows: Sequence[Any] = (await session.execute(query)).scalars().all()
            return rows

    async def _count_of(self, query: Select[Any]) -> int:
        """The single number a `SELECT count(...)` answers."""
        async with self._reading() as session:
            return int((await session.execute(query)).scalar_one())


__all__ = ["SQLITE_BEGIN", "Connection", "Database", "Watcher", "insert_for", "rowcount"]
