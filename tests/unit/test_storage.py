"""Storage on the embedded default and on PostgreSQL: migrations, repository and the read cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.actions import HoldForMember
from bot.model import (
    ChannelRef,
    CommunityRef,
    FilterLevel,
    MemberRef,
    MessageRef,
    Relation,
    UnverifiedPolicy,
)
from bot.storage import migrate
from bot.storage.cache import ReadCache
from bot.storage.records import CommunityPolicies, PendingRecord, VerificationRecord
from bot.storage.repo import Store
from bot.storage.tables import Base

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ALICE = MemberRef("discord", "1001")
BOB = MemberRef("discord", "1002")
GUILD = CommunityRef("discord", "500")
TABLES = {
    "verifications",
    "identity_bindings",
    "member_filters",
    "policies",
    "pending_checks",
    "held_items",
    "reports",
    "audit_log",
    "adapter_state",
    "processed_events",
    "sender_notices",
}


async def test_migrations_go_up_and_down(any_url: str) -> None:
    db = Store.open(any_url)
    try:
        await migrate.upgrade(db.engine)
        assert await migrate.current_revision(db.engine) == migrate.head_revision()
        async with db.engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert names >= TABLES
        await migrate.downgrade(db.engine, "base")
        async with db.engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert not (TABLES & names)
        await migrate.upgrade(db.engine)  # and up again from base
        assert await migrate.current_revision(db.engine) == migrate.head_revision()
    finally:
        await db.close()


async def test_models_and_migrations_agree(any_store: Store) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with any_store.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def test_no_column_can_hold_a_name_address_or_raw_subject() -> None:
    forbidden = (
        "name",
        "email",
        "mail",
        "address",
        "subject",
        "sub",
        "display",
        "phone",
        "document",
    )
    for table in Base.metadata.tables.values():
        for column in table.columns:
            assert not any(
                word == column.name or column.name.startswith(word + "_") for word in forbidden
            ), f"{table.name}.{column.name}"


async def test_verification_roundtrip_revoke_and_delete(any_store: Store) -> None:
    record = VerificationRecord(
        "discord", ALICE.id, "oidc", "identity", "a" * 64, NOW, NOW + timedelta(days=365)
    )
    await any_store.save_verification(record)
    assert await any_store.get_verification(ALICE) == record
    revoked = await any_store.revoke_verification(ALICE, by="9", reason="abuse", at=NOW)
    assert revoked is not None and revoked.revoked_at == NOW and revoked.revoke_reason == "abuse"
    assert await any_store.revoke_verification(ALICE, by="9", reason="again", at=NOW) is None
    assert await any_store.delete_verification(ALICE)  # the member's own unverify
    assert await any_store.get_verification(ALICE) is None


async def test_a_revocation_sticks_to_account_and_identity_until_lifted(any_store: Store) -> None:
    record = VerificationRecord("discord", ALICE.id, "oidc", "identity", "a" * 64, NOW)
    assert (await any_store.store_verification(record, [GUILD], limit=1, bind=True)).ok
    await any_store.revoke_verification(ALICE, by="9", reason="abuse", at=NOW, community=GUILD)
    await any_store.delete_verification(ALICE)  # unverify does not end the revocation
    again = await any_store.store_verification(record, [GUILD], limit=1, bind=True)
    assert not again.ok and again.revoked is not None and again.revoked.reason == "abuse"
    # another account cannot take the revoked identity's place either
    bob = VerificationRecord("discord", BOB.id, "oidc", "identity", "a" * 64, NOW)
    assert (await any_store.store_verification(bob, [GUILD], limit=1, bind=True)).revoked
    assert await any_store.get_verification(BOB) is None
    assert await any_store.lift_revocation(ALICE, by="9", at=NOW)
    assert not await any_store.lift_revocation(ALICE, by="9", at=NOW)
    assert (await any_store.store_verification(record, [GUILD], limit=1, bind=True)).ok


async def test_an_identity_takes_at_most_its_places_and_a_full_one_stores_nothing(
    any_store: Store,
) -> None:
    other = CommunityRef("discord", "555")
    h = "b" * 64

    def check(member: MemberRef) -> VerificationRecord:
        return VerificationRecord("discord", member.id, "oidc", "identity", h, NOW)

    carol, dave = MemberRef("discord", "1003"), MemberRef("discord", "1004")
    assert (await any_store.store_verification(check(ALICE), [GUILD], limit=2, bind=True)).ok
    assert (await any_store.store_verification(check(BOB), [GUILD], limit=2, bind=True)).ok
    # verifying again keeps one's own place
    assert (await any_store.store_verification(check(ALICE), [GUILD], limit=2, bind=True)).ok
    full = await any_store.store_verification(check(carol), [other, GUILD], limit=2, bind=True)
    assert full.full == (GUILD,)
    # all or nothing: no record, and no place taken in the community that had room
    assert await any_store.get_verification(carol) is None
    assert await any_store.accounts_for_identity("discord", other.id, h) == []
    # an account that arrives later is recorded as refused, taking no place
    assert not await any_store.take_identity_place(GUILD, dave, h, limit=2, at=NOW)
    assert await any_store.is_refused(GUILD, dave)
    assert sorted(await any_store.accounts_for_identity("discord", GUILD.id, h)) == sorted(
        [ALICE.id, BOB.id]
    )
    # when one leaves (unverify), a place opens
    await any_store.delete_verification(BOB)
    assert await any_store.take_identity_place(GUILD, dave, h, limit=2, at=NOW)
    assert not await any_store.is_refused(GUILD, dave)


async def test_pending_checks_are_single_use_and_expire(any_store: Store) -> None:
    pending = PendingRecord(
        "chk1",
        "discord",
        ALICE.id,
        GUILD.id,
        "oidc",
        "open",
        {"nonce": "n"},
        NOW,
        NOW + timedelta(minutes=15),
    )
    await any_store.create_pending(pending)
    assert await any_store.consume_pending("chk1", NOW + timedelta(minutes=1))
    assert not await any_store.consume_pending("chk1", NOW + timedelta(minutes=2))  # replay
    late = PendingRecord(
        "chk2", "discord", ALICE.id, GUILD.id, "oidc", "open", {}, NOW, NOW + timedelta(minutes=15)
    )
    await any_store.create_pending(late)
    assert not await any_store.consume_pending("chk2", NOW + timedelta(minutes=16))  # expired


async def test_held_items_are_idempotent_per_message_and_member(any_store: Store) -> None:
    message = MessageRef(ChannelRef(GUILD, "600"), "700")
    hold = HoldForMember(ALICE, Relation.REPLY, message, BOB, "hi", "reply from an unverified")
    carol = MemberRef("discord", "333")
    both = (hold, HoldForMember(carol, Relation.MENTION, message, BOB, "hi", "mention"))
    expires = NOW + timedelta(days=30)
    assert await any_store.add_held(both, at=NOW, expires_at=expires) == 2
    assert await any_store.add_held(both, at=NOW, expires_at=expires) == 0  # redelivered
    items = await any_store.list_held(ALICE)
    assert [(i.message_id, i.sender_account, i.content) for i in items] == [("700", BOB.id, "hi")]
    assert await any_store.resolve_held(BOB, items[0].id, "dismissed", NOW) is None  # not Bob's
    assert (await any_store.resolve_held(ALICE, items[0].id, "dismissed", NOW)) is not None
    assert await any_store.list_held(ALICE) == []


async def test_events_are_claimed_once_and_state_survives(any_store: Store) -> None:
    assert await any_store.claim_event("matrix", "$e1", NOW)
    assert not await any_store.claim_event("matrix", "$e1", NOW)
    await any_store.set_state("matrix", "sync_token", "s1", NOW)
    await any_store.set_state("matrix", "sync_token", "s2", NOW)
    assert await any_store.get_state("matrix", "sync_token") == "s2"


async def test_export_and_erase_cover_every_table(any_store: Store) -> None:
    await any_store.save_verification(
        VerificationRecord("discord", ALICE.id, "oidc", "identity", "a" * 64, NOW)
    )
    assert await any_store.take_identity_place(GUILD, ALICE, "a" * 64, limit=1, at=NOW)
    await any_store.revoke_verification(ALICE, by="9", reason="abuse", at=NOW)
    await any_store.set_filter(GUILD, ALICE, FilterLevel.ALL, NOW)
    await any_store.audit(
        network="discord",
        community_id=GUILD.id,
        actor=ALICE.id,
        action="SetBadge",
        target=ALICE.id,
        detail="grant",
        at=NOW,
    )
    exported = await any_store.export_member(ALICE)
    assert (
        exported["verifications"] and exported["member_filters"] and exported["identity_bindings"]
    )
    assert exported["revocations"][0]["reason"] == "abuse"
    assert await any_store.erase_member(ALICE) >= 3
    after = await any_store.export_member(ALICE)
    assert all(rows == [] for rows in after.values())
    # the revocation no longer names the account, but still bars the identity
    barred = await any_store.active_revocation(MemberRef("discord", "999"), "a" * 64)
    assert barred is not None and barred.account_id.startswith("erased-")


async def test_deciding_facts_cost_no_queries_once_the_cache_is_warm(store: Store) -> None:
    cache = ReadCache(store)
    await cache.save_verification(
        VerificationRecord("discord", ALICE.id, "oidc", "identity", "a" * 64, NOW)
    )
    await cache.set_filter(GUILD, BOB, FilterLevel.REPLIES, NOW)
    await cache.set_policy(GUILD, "600", UnverifiedPolicy.LIMITED, by="1", at=NOW)

    async def facts() -> tuple[object, ...]:
        # what decisions read of a verification (level, expiry); the whole record is a command's
        return (
            await cache.live_verification(ALICE),
            await cache.live_verification(BOB),
            await cache.filter_level(GUILD, BOB),
            await cache.filter_level(GUILD, ALICE),
            await cache.policies(GUILD),
            await cache.last_notice(GUILD, BOB),
        )

    cold = await facts()
    before = store.statements
    warm = await facts()
    assert store.statements == before  # zero queries
    assert warm == cold
    policies = warm[4]
    assert isinstance(policies, CommunityPolicies)
    assert warm[2] is FilterLevel.REPLIES and policies.channels == {"600": UnverifiedPolicy.LIMITED}


async def test_cache_writes_reach_the_database_first(store: Store) -> None:
    cache = ReadCache(store)
    await cache.set_filter(GUILD, ALICE, FilterLevel.ALL, NOW)
    assert await store.get_filter(GUILD, ALICE) is FilterLevel.ALL
    other = ReadCache(store)  # a restarted process sees the same
    assert await other.filter_level(GUILD, ALICE) is FilterLevel.ALL


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite:///plain.db"])
def test_unsupported_database_urls_are_refused_by_config(url: str) -> None:
    from bot.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match=r"database\.url"):
        parse_config({"database": {"url": url}})


async def test_a_write_in_one_process_invalidates_the_others_cache(pg_store: Store) -> None:
    import asyncio

    from bot.storage.invalidation import PgInvalidation

    url = pg_store.engine.url.render_as_string(hide_password=False)
    other_store = Store.open(url)
    mine, theirs = ReadCache(pg_store), ReadCache(other_store)
    mine_sync, theirs_sync = PgInvalidation(url, mine), PgInvalidation(url, theirs)
    await mine_sync.start()
    await theirs_sync.start()
    try:
        assert await theirs.filter_level(GUILD, ALICE) is None  # cached as "no filter"
        await mine.set_filter(GUILD, ALICE, FilterLevel.ALL, NOW)
        for _ in range(100):
            if theirs_sync.received:
                break
            await asyncio.sleep(0.02)
        assert await theirs.filter_level(GUILD, ALICE) is FilterLevel.ALL
        assert mine_sync.received == 0  # a process ignores its own notices
    finally:
        await mine_sync.stop()
        await theirs_sync.stop()
        await other_store.close()


async def test_attempts_are_counted_atomically_even_in_parallel(any_store: Store) -> None:
    import asyncio

    pending = PendingRecord(
        "code1",
        "discord",
        ALICE.id,
        GUILD.id,
        "email_code",
        "open",
        {},
        NOW,
        NOW + timedelta(minutes=10),
    )
    await any_store.create_pending(pending)
    counts = await asyncio.gather(*(any_store.count_attempt("code1", NOW) for _ in range(12)))
    assert sorted(c for c in counts if c is not None) == list(range(1, 13))
    assert await any_store.consume_pending("code1", NOW)
    assert await any_store.count_attempt("code1", NOW) is None  # a closed check counts nothing
