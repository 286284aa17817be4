"""A held item written through the writer's compiled INSERT on the raw DBAPI cursor is stored
exactly as SQLAlchemy stores it, and every column reads back equal through the normal read path.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.actions import HoldForMember
from bot.model import ChannelRef, CommunityRef, MemberRef, MessageRef, Relation
from bot.storage import tables as t
from bot.storage import writer
from bot.storage.database import insert_for
from bot.storage.held import HOLD_COLUMNS
from bot.storage.records import AuditDraft
from bot.storage.repo import Store

ROOM = ChannelRef(CommunityRef("discord", "111"), "222")
ALICE, MALLORY = MemberRef("discord", "333"), MemberRef("discord", "444")
AT = datetime(2026, 11, 26, 12, 34, 56, 789012, tzinfo=UTC)
EXPIRES = AT + timedelta(days=30, microseconds=1)


def hold(message: str, content: str = "hi 👋 'quoted' \"too\"") -> HoldForMember:
    return HoldForMember(ALICE, Relation.REPLY, MessageRef(ROOM, message), MALLORY, content, "why")


def stored(path: Path, message_id: str) -> tuple[object, ...]:
    """The row as SQLite holds it, every column but the id, with each value's storage class."""
    names = [c for c in (*HOLD_COLUMNS, "resolved_at") if c != "message_id"]
    columns = ", ".join(f"{c}, typeof({c})" for c in names)
    with sqlite3.connect(path) as db:
        row = db.execute(
            f"SELECT {columns} FROM held_items WHERE message_id = ?", (message_id,)
        ).fetchone()
    assert row is not None
    return tuple(row)


async def test_every_column_reads_back_equal(store: Store) -> None:
    assert await store.add_held([hold("555")], at=AT, expires_at=EXPIRES) == 1
    [item] = await store.list_held(ALICE)
    assert item.id > 0
    assert (
        item.network,
        item.community_id,
        item.channel_id,
        item.message_id,
        item.for_account,
        item.sender_account,
        item.relation,
        item.content,
        item.reason,
        item.status,
        item.held_at,
        item.expires_at,
        item.resolved_at,
    ) == (
        "discord",
        "111",
        "222",
        "555",
        "333",
        "444",
        Relation.REPLY,
        hold("555").content,
        "why",
        "held",
        AT,
        EXPIRES,
        None,
    )
    assert item.held_at.tzinfo is not None
    assert await store.get_held(ALICE, item.id) == item


async def test_stored_exactly_as_sqlalchemy_stores_it(store: Store, sqlite_url: str) -> None:
    path = Path(sqlite_url.split("///", 1)[1])
    await store.add_held([hold("raw")], at=AT, expires_at=EXPIRES)
    row = {
        "network": "discord",
        "community_id": "111",
        "channel_id": "222",
        "message_id": "core",
        "for_account": "333",
        "sender_account": "444",
        "relation": Relation.REPLY.value,
        "content": hold("core").content,
        "reason": "why",
        "status": "held",
        "held_at": AT,
        "expires_at": EXPIRES,
    }
    async with store.engine.begin() as connection:
        await connection.execute(insert_for("sqlite", t.HeldItem), row)
    assert stored(path, "raw") == stored(path, "core")


async def test_a_zone_other_than_utc_is_bound_as_sqlalchemy_binds_it(store: Store) -> None:
    """Whatever SQLAlchemy's processors make of a value, the raw path makes the same."""
    elsewhere = AT.astimezone(timezone(timedelta(hours=2)))
    await store.add_held([hold("zone")], at=elsewhere, expires_at=EXPIRES)
    async with store.engine.begin() as connection:
        await connection.execute(
            insert_for("sqlite", t.HeldItem),
            {
                **{c: "x" for c in HOLD_COLUMNS},
                "message_id": "zone-core",
                "network": "discord",
                "for_account": "333",
                "relation": Relation.REPLY.value,
                "status": "held",
                "held_at": elsewhere,
                "expires_at": EXPIRES,
            },
        )
    items = {i.message_id: i for i in await store.list_held(ALICE)}
    assert items["zone"].held_at == items["zone-core"].held_at


async def test_a_naive_datetime_is_refused_before_anything_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        await store.add_held([hold("naive")], at=AT.replace(tzinfo=None), expires_at=EXPIRES)
    assert await store.count_held(ALICE) == 0
    assert await store.add_held([hold("after")], at=AT, expires_at=EXPIRES) == 1


async def test_several_holds_in_one_transaction_count_only_the_new(store: Store) -> None:
    assert await store.add_held([hold("a"), hold("b")], at=AT, expires_at=EXPIRES) == 2
    assert await store.add_held([hold("a"), hold("c")], at=AT, expires_at=EXPIRES) == 1
    assert await store.count_held(ALICE) == 3


async def test_notice_times_and_audit_batches_read_back_equal(store: Store) -> None:
    """The sender's notice time and an audit batch take the same compiled path."""
    community, sender = CommunityRef("discord", "111"), MALLORY
    await store.set_notice(community, sender, AT)
    await store.set_notice(community, sender, EXPIRES)  # the one row takes the latest
    assert await store.get_notice(community, sender) == EXPIRES
    drafts = [
        AuditDraft("discord", "111", None, "Withhold", "444", "held a reply", AT, False),
        AuditDraft("discord", None, "333", "SetBadge", None, "badge", EXPIRES, True),
    ]
    await store.audit_many(drafts)
    read = sorted(await store.list_audit(network="discord"), key=lambda r: r.id)
    assert [
        (r.at, r.network, r.community_id, r.actor, r.action, r.target, r.detail, r.dry_run)
        for r in read
    ] == [
        (d.at, d.network, d.community_id, d.actor, d.action, d.target, d.detail, d.dry_run)
        for d in drafts
    ]


async def test_with_the_lock_free_a_hold_is_committed_before_the_caller_is_suspended(
    store: Store, sqlite_url: str
) -> None:
    """Written at once on the loop; seen by another connection before anything else runs."""
    path = Path(sqlite_url.split("///", 1)[1])
    task = asyncio.ensure_future(store.add_held([hold("now")], at=AT, expires_at=EXPIRES))
    await asyncio.sleep(0)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM held_items").fetchone() == (1,)
    assert await task == 1
    assert await store.add_held([hold("now")], at=AT, expires_at=EXPIRES) == 0


async def test_the_thread_checkpoints_what_was_written_at_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's connection leaves checkpoints to the thread: one per CHECKPOINT_EVERY."""
    monkeypatch.setattr(writer, "CHECKPOINT_EVERY", 2)
    before = store.statements
    for n in range(4):
        assert await store.add_held([hold(f"cp{n}")], at=AT, expires_at=EXPIRES) == 1
    await store._write(lambda _connection: None)  # after the checkpoints, on the same thread
    # BEGIN and INSERT per hold, two checkpoints, the BEGIN of the empty transaction
    assert store.statements - before == 4 * 2 + 2 + 1
    assert await store.count_held(ALICE) == 4
