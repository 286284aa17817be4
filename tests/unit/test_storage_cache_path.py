"""Every write of a fact the read cache keeps reaches the cache, whichever way it was made; and
code outside storage makes those writes through the cache (one API)."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.model import CommunityRef, FilterLevel, MemberRef, UnverifiedPolicy
from bot.storage import AGGREGATES
from bot.storage.cache import CACHED_WRITES, ReadCache
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ALICE = MemberRef("discord", "1001")
BOB = MemberRef("discord", "1002")
GUILD = CommunityRef("discord", "500")
HASH = "a" * 64
RECORD = VerificationRecord("discord", ALICE.id, "oidc", "identity", HASH, NOW)

Scenario = Callable[[Store, ReadCache], Awaitable[None]]


async def save_verification(store: Store, cache: ReadCache) -> None:
    assert await cache.verification(ALICE) is None
    await store.save_verification(RECORD)
    assert await cache.verification(ALICE) == RECORD


async def store_verification(store: Store, cache: ReadCache) -> None:
    assert await cache.verification(ALICE) is None
    await store.take_identity_place(GUILD, ALICE, "b" * 64, limit=1, at=NOW)  # another identity
    await store.take_identity_place(GUILD, BOB, "b" * 64, limit=1, at=NOW)
    assert await cache.refused(GUILD, BOB)
    bob = VerificationRecord("discord", BOB.id, "oidc", "identity", HASH, NOW)
    assert (await store.store_verification(bob, [GUILD], limit=1, bind=True)).ok
    assert await cache.verification(BOB) == bob
    assert not await cache.refused(GUILD, BOB)


async def take_identity_place(store: Store, cache: ReadCache) -> None:
    await store.take_identity_place(GUILD, ALICE, HASH, limit=1, at=NOW)
    assert not await cache.refused(GUILD, BOB)
    assert not await store.take_identity_place(GUILD, BOB, HASH, limit=1, at=NOW)
    assert await cache.refused(GUILD, BOB)


async def revoke_verification(store: Store, cache: ReadCache) -> None:
    await store.save_verification(RECORD)
    assert (await cache.verification(ALICE)) == RECORD
    await store.revoke_verification(ALICE, by="9", reason="abuse", at=NOW)
    revoked = await cache.verification(ALICE)
    assert revoked is not None and revoked.revoked_at == NOW


async def delete_verification(store: Store, cache: ReadCache) -> None:
    await store.take_identity_place(GUILD, ALICE, HASH, limit=1, at=NOW)
    await store.take_identity_place(GUILD, BOB, HASH, limit=1, at=NOW)
    await store.save_verification(RECORD)
    assert await cache.verification(ALICE) == RECORD and await cache.refused(GUILD, BOB)
    await store.delete_verification(BOB)
    await store.delete_verification(ALICE)
    assert await cache.verification(ALICE) is None and not await cache.refused(GUILD, BOB)


async def mark_reminded(store: Store, cache: ReadCache) -> None:
    await store.save_verification(RECORD)
    assert (await cache.verification(ALICE)) == RECORD
    await store.mark_reminded(ALICE, NOW)
    reminded = await cache.verification(ALICE)
    assert reminded is not None and reminded.reminded_at == NOW


async def set_filter(store: Store, cache: ReadCache) -> None:
    assert await cache.filter_level(GUILD, ALICE) is None
    await store.set_filter(GUILD, ALICE, FilterLevel.ALL, NOW)
    assert await cache.filter_level(GUILD, ALICE) is FilterLevel.ALL


async def set_policy(store: Store, cache: ReadCache) -> None:
    assert (await cache.policies(GUILD)).community is None
    await store.set_policy(GUILD, None, UnverifiedPolicy.READ_ONLY, by="9", at=NOW)
    assert (await cache.policies(GUILD)).community is UnverifiedPolicy.READ_ONLY


async def set_notice(store: Store, cache: ReadCache) -> None:
    assert await cache.last_notice(GUILD, ALICE) is None
    await store.set_notice(GUILD, ALICE, NOW)
    assert await cache.last_notice(GUILD, ALICE) == NOW


SCENARIOS: dict[str, Scenario] = {
    scenario.__name__: scenario
    for scenario in (
        save_verification,
        store_verification,
        take_identity_place,
        revoke_verification,
        delete_verification,
        mark_reminded,
        set_filter,
        set_policy,
        set_notice,
    )
}


def test_every_cached_write_has_its_scenario() -> None:
    assert set(SCENARIOS) == CACHED_WRITES


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_a_cached_fact_written_on_the_store_reaches_the_cache(
    store: Store, name: str
) -> None:
    await SCENARIOS[name](store, ReadCache(store))


async def test_erasure_on_the_store_empties_the_cache(store: Store) -> None:
    cache = ReadCache(store)
    await cache.save_verification(RECORD)
    await cache.set_filter(GUILD, ALICE, FilterLevel.ALL, NOW)
    await cache.note_notice(GUILD, ALICE, NOW)
    assert await cache.verification(ALICE) == RECORD
    await store.erase(ALICE, AGGREGATES)
    assert await cache.verification(ALICE) is None  # read again, not served stale
    assert await cache.filter_level(GUILD, ALICE) is None
    assert await cache.last_notice(GUILD, ALICE) is None


async def test_a_cache_is_not_kept_alive_by_its_store(store: Store) -> None:
    import gc
    import weakref

    gone = weakref.ref(ReadCache(store))
    gc.collect()
    assert gone() is None
    await store.set_filter(GUILD, ALICE, FilterLevel.ALL, NOW)  # no watcher left: still fine


async def test_erasure_in_one_process_empties_the_others_cache(pg_store: Store) -> None:
    from bot.storage.invalidation import PgInvalidation

    url = pg_store.engine.url.render_as_string(hide_password=False)
    other_store = Store.open(url)
    mine, theirs = ReadCache(pg_store), ReadCache(other_store)
    mine_sync, theirs_sync = PgInvalidation(url, mine), PgInvalidation(url, theirs)
    await mine_sync.start()
    await theirs_sync.start()
    try:
        await mine.save_verification(RECORD)
        assert await theirs.verification(ALICE) == RECORD
        received = theirs_sync.received
        await pg_store.erase(ALICE, AGGREGATES)
        for _ in range(100):
            if theirs_sync.received > received:
                break
            await asyncio.sleep(0.02)
        assert await theirs.verification(ALICE) is None
    finally:
        await mine_sync.stop()
        await theirs_sync.stop()
        await other_store.close()


# --- outside storage, cached facts are written through the cache ------------------------------


def store_writes_of_cached_facts(path: Path) -> list[str]:
    """Calls like `self.core.store.set_filter(...)` or `store.mark_reminded(...)` in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CACHED_WRITES
        ):
            continue
        receiver = node.func.value
        name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
        if name.lstrip("_") in {"store", "db"}:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.attr}")
    return found


def test_the_scan_finds_a_store_write_of_a_cached_fact() -> None:
    sample = ROOT / "tests" / "unit" / "test_storage_cache_path.py"
    assert any("save_verification" in hit for hit in store_writes_of_cached_facts(sample))


def test_code_outside_storage_writes_cached_facts_through_the_cache() -> None:
    storage = ROOT / "bot" / "storage"
    offenders = [
        hit
        for folder in ("bot", "cogs")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if storage not in path.parents
        for hit in store_writes_of_cached_facts(path)
    ]
    assert offenders == []
