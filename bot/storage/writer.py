"""The SQLite writes a person waits on, in one thread hand-off instead of five.

Holding a reply must be durable before the reply is removed, so the removal waits for the write.
Through the async engine one small INSERT costs a connection check-out, BEGIN, the statement,
COMMIT and the pool's reset, each a trip to aiosqlite's thread and back (~1 ms in all, SQLite
itself ~20 µs). Here the whole transaction runs on one dedicated thread with one connection and
Core statements compiled once: one trip. The hot INSERTs (`insert`) skip SQLAlchemy's
per-execution machinery altogether: their SQL is compiled once from the Core statement for this
dialect, each value is bound by the very processors SQLAlchemy would apply (so a datetime is stored
exactly as the rest of storage reads it back), and BEGIN IMMEDIATE, the statement and COMMIT go
straight to the connection's DBAPI cursor, still in one hand-off and still counted.

A few rows are first tried at once, on the event loop, on a second connection that never waits:
its busy timeout is 0, so when any other connection holds the write lock, BEGIN IMMEDIATE fails
at once and the rows go to the writer's thread as above. Such a transaction runs from BEGIN to
COMMIT without an await, so it never holds the lock while anything else runs, and costs the loop
what SQLite does (~25 µs: WAL with `synchronous=NORMAL` syncs nothing at commit); it leaves WAL
checkpoints to the writer's thread (`wal_autocheckpoint=0`): every `CHECKPOINT_EVERY` commits at
once, the thread runs a passive checkpoint, so the WAL does not grow while only holds are written.

It is one more connection to the file, like each of the pool's: WAL lets readers run beside it,
and `BEGIN IMMEDIATE` takes the write lock at the start, so it waits its turn (up to the busy
timeout, on its own thread, never on the event loop) instead of failing midway. Durability is
the engine's: WAL with `synchronous=NORMAL`, committed before `run` returns.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.pool import PoolProxiedConnection, StaticPool

T = TypeVar("T")
INLINE_ROWS = 16  # at most this many rows are tried on the loop; more go to the thread
CHECKPOINT_EVERY = 1000  # commits on the loop between two checkpoints on the thread
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
Work = Callable[[Connection], T]


def file_database(url: URL) -> bool:
    """Whether the SQLite URL names a file (an in-memory database is private to a connection)."""
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


class Prepared:
    """A Core INSERT compiled once for one dialect: its SQL, and each value bound in order by the
    processor SQLAlchemy itself would apply (a TypeDecorator's, then the type's own)."""

    def __init__(self, stmt: Any, dialect: Dialect, keys: Iterable[str]) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
        order = list(compiled.positiontup or ())
        if sorted(order) != sorted(keys):
            raise ValueError(f"the statement binds {order}, not {sorted(keys)}")
        processors = compiled._bind_processors
        self.sql = str(compiled)
        self._binds = tuple((key, processors.get(key)) for key in order)

    def params(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row[key] if bind is None else bind(row[key]) for key, bind in self._binds)


class SqliteWriter:
    """One connection on one thread; `run` carries out a transaction there and commits it."""

    def __init__(
        self, url: URL, on_connect: Callable[[Any, Any], None], count: Callable[..., None]
    ) -> None:
        self._engine = create_engine(url.set(drivername="sqlite"), poolclass=StaticPool)
        self._count = count
        self._raw: PoolProxiedConnection | None = None  # the one connection, opened on the thread
        self._prepared: dict[int, tuple[Any, Prepared]] = {}
        self._on_connect = on_connect
        self._inline: sqlite3.Connection | None = None  # the loop's own, never waiting
        self._since_checkpoint = 0
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

    async def insert(
        self, stmt: Any, keys: Sequence[str], rows: Sequence[Mapping[str, Any]]
    ) -> int:
        """Insert `rows` with the Core INSERT `stmt` (built once by the caller) in one
        transaction (at once on the loop when the lock is free, else on the writer's thread);
        returns how many rows were new. Cancelling the caller does not cut the transaction short,
        as with `run`."""
        prepared = self._prepare(stmt, keys)
        if len(rows) <= INLINE_ROWS:
            added = self._insert_at_once(prepared, rows)
            if added is not None:
                return added
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._insert, prepared, rows)

    def _insert_at_once(self, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> int | None:
        """The rows in one transaction now, or None (nothing written) when the lock is taken."""
        params = [prepared.params(row) for row in rows]  # a refused value fails before BEGIN
        connection = self._inline or self._open_inline()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in _BUSY:
                return None
            raise
        self._count()
        try:
            self._count()
            added = max(int(connection.executemany(prepared.sql, params).rowcount), 0)
            connection.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            connection.execute("ROLLBACK")
            if exc.sqlite_errorcode in _BUSY:
                return None  # rolled back: the thread writes it, once
            raise
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY:
            self._since_checkpoint = 0
            self._thread.submit(self._checkpoint)
        return added

    def _checkpoint(self) -> None:
        """Copy the WAL back into the database file, not waiting for anyone (on the thread)."""
        if self._raw is None:
            self._raw = self._engine.raw_connection()
        raw = self._raw.driver_connection
        assert raw is not None
        self._count()
        raw.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _open_inline(self) -> sqlite3.Connection:
        database = self._engine.url.database
        assert database is not None
        connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self._on_connect(connection, None)
        connection.execute("PRAGMA busy_timeout=0")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        self._inline = connection
        return connection

    def _prepare(self, stmt: Any, keys: Sequence[str]) -> Prepared:
        known = self._prepared.get(id(stmt))
        if known is None or known[0] is not stmt:  # the statement is kept: its id stays its own
            known = (stmt, Prepared(stmt, self._engine.dialect, keys))
            self._prepared[id(stmt)] = known
        return known[1]

    def _insert(self, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> int:
        params = [prepared.params(row) for row in rows]  # a refused value fails before BEGIN
        if self._raw is None:
            self._raw = self._engine.raw_connection()
        raw = self._raw.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            self._count()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                self._count()
                cursor.executemany(prepared.sql, params)
                added = max(int(cursor.rowcount), 0)
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
            return added
        finally:
            cursor.close()

    async def close(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._dispose)
        self._thread.shutdown(wait=True)

    def _dispose(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None
        self._engine.dispose()


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


__all__ = ["Prepared", "SqliteWriter", "Work", "file_database"]
