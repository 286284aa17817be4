"""Cross-process cache invalidation on PostgreSQL (LISTEN/NOTIFY).

When several bot processes share one database, a write in one must not leave a stale fact in
another's read cache. Each process publishes what it changed on one channel; every other process
drops that entry and reloads it on the next read. SQLite is single-process, so nothing runs there.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from sqlalchemy.engine import make_url

from bot.storage.cache import ReadCache

log = logging.getLogger(__name__)
CHANNEL = "verifybot_cache"


class PgInvalidation:
    def __init__(self, database_url: str, cache: ReadCache) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._cache = cache
        self._origin = uuid.uuid4().hex
        self._conn: Any = None
        self.received = 0

    async def start(self) -> None:
        import asyncpg

        self._conn = await asyncpg.connect(self._dsn)
        await self._conn.add_listener(CHANNEL, self._on_notify)
        self._cache.publish = self.publish
        # whatever changed while this process was not listening is unknown: start clean
        self._cache.clear()

    async def stop(self) -> None:
        self._cache.publish = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def publish(self, kind: str, key: tuple[str, ...]) -> None:
        if self._conn is None:
            return
        payload = json.dumps({"o": self._origin, "k": kind, "key": list(key)})
        try:
            await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        except Exception:
            # other processes keep a stale entry until it is evicted; say so, do not fail the write
            log.warning("could not publish a cache invalidation", exc_info=True)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            log.warning("ignoring a malformed cache invalidation: %r", payload[:200])
            return
        if data.get("o") == self._origin:
            return
        self.received += 1
        self._cache.apply_invalidation(
            str(data.get("k")), tuple(str(k) for k in data.get("key", ()))
        )
