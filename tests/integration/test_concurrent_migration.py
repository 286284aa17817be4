"""Several bot processes started at once on one PostgreSQL each migrate at start: exactly one
brings the schema up, the others wait for it and find nothing left to do; none fails."""

from __future__ import annotations

import asyncio

from bot.storage import migrate
from bot.storage.repo import Store


async def test_processes_migrating_at_the_same_moment_all_start(pg_url: str) -> None:
    stores = [Store.open(pg_url) for _ in range(4)]  # one engine (pool) per process
    try:
        results = await asyncio.wait_for(  # two migrations stuck on each other never end
            asyncio.gather(
                *(migrate.upgrade(store.engine) for store in stores), return_exceptions=True
            ),
            60,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert failures == [], f"a process failed to start: {failures[0]!r}"
        for store in stores:
            assert await migrate.current_revision(store.engine) == migrate.head_revision()
    finally:
        for store in stores:
            await store.close()
