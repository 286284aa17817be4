"""Erasure is complete by construction: every table is owned by an aggregate, every column that
can hold an account id is declared, and erasing a member with every aggregate leaves no row that
holds their id in any column (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)

from bot.actions import HoldForMember
from bot.model import ChannelRef, CommunityRef, FilterLevel, MemberRef, MessageRef, Relation
from bot.storage import (
    AGGREGATES,
    AUDIT,
    HELD_ITEMS,
    MEMBER_PREFERENCES,
    VERIFICATIONS,
    Aggregate,
    Erase,
    assert_no_account_ids_in_text,
)
from bot.storage.repo import Store
from bot.storage.rights import coverage_problems, is_account_column
from bot.storage.tables import ID, Base

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
GONE = MemberRef("discord", "acct-erase-me-7f3e")  # distinctive: found only where it was put
KEPT = MemberRef("discord", "acct-keep-me-91c2")
GUILD = CommunityRef("discord", "500")


def hold(*, for_member: MemberRef, sender: MemberRef) -> HoldForMember:
    message = MessageRef(ChannelRef(GUILD, "600"), "700")
    return HoldForMember(for_member, Relation.REPLY, message, sender, "hi", "reply")


def filler(column: Column[Any], n: int) -> Any:
    """A value for a column that names nobody (unique per row `n`, so no constraint trips)."""
    if isinstance(column.type, Boolean):
        return False
    if isinstance(column.type, Integer):
        return n
    if isinstance(column.type, JSON):
        return {"n": n}
    if isinstance(column.type, String | Text):
        return f"{column.name}-{n}"
    return NOW  # the only other type: UTC datetimes


def row(
    table: Table, n: int, *, naming: str | None = None, who: MemberRef = GONE
) -> dict[str, Any]:
    """A row of `table` on `who`'s network. `naming`: the one account column holding `who`'s
    id (the others hold a stranger's); the bot's own text and people's quoted words mention
    `who` as well."""
    texts = {(c.class_.__tablename__, c.key) for a in AGGREGATES for c in (*a.texts, *a.quoted)}
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.primary_key and isinstance(column.type, Integer):
            continue
        if column.name == "network":
            values[column.name] = who.network
        elif column.name == naming:
            values[column.name] = who.id
        elif is_account_column(column.name):
            values[column.name] = f"acct-stranger-{n}"
        elif (table.name, column.name) in texts:
            values[column.name] = f"did something to {who.id} (row {n})"
        else:
            values[column.name] = filler(column, n)
    return values


async def fill_every_table(store: Store) -> dict[str, list[tuple[str, int]]]:
    """For every account column, a row naming GONE there (and KEPT's like row); a plain row in
    tables with none. Returns, per table, the (column, n) of each row naming GONE."""
    naming: dict[str, list[tuple[str, int]]] = {}
    n = 0
    async with store.engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c.name for c in table.columns if is_account_column(c.name)]
            rows = []
            for column in columns:
                n += 1
                rows.append(row(table, n, naming=column))
                naming.setdefault(table.name, []).append((column, n))
                n += 1
                rows.append(row(table, n, naming=column, who=KEPT))
            n += 1
            rows.append(row(table, n))  # names nobody: must survive untouched
            await conn.execute(table.insert(), rows)
    return naming


async def cells(store: Store) -> list[tuple[str, dict[str, Any]]]:
    """Every row of every table, as (table name, values)."""
    found: list[tuple[str, dict[str, Any]]] = []
    async with store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for values in (await conn.execute(select(table))).mappings():
                found.append((table.name, dict(values)))
    return found


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


async def test_erasing_with_every_aggregate_leaves_no_row_naming_the_member(
    any_store: Store,
) -> None:
    naming = await fill_every_table(any_store)
    before = await cells(any_store)
    assert any(GONE.id in text_of(v) for _, r in before for v in r.values())  # the scan sees it
    assert await any_store.places_naming(GONE)  # and so does the store's own generic check

    assert await any_store.erase(GONE, AGGREGATES) > 0
    assert await any_store.places_naming(GONE) == []

    after = await cells(any_store)
    holding = [
        f"{table}.{column}"
        for table, values in after
        for column, value in values.items()
        if value is not None and GONE.id in text_of(value)
    ]
    assert holding == []
    # the member's own rows went; rows that merely named them stayed, as did everyone else's
    erase = {(a.table.name, a.column.key): a.erase for g in AGGREGATES for a in g.accounts}
    for table, rows in naming.items():
        left = sum(1 for name, _ in after if name == table)
        deleted = sum(1 for column, _ in rows if erase[(table, column)] is Erase.DELETE)
        assert left == sum(1 for name, _ in before if name == table) - deleted, table
    kept = sum(1 for _, values in after for value in values.values() if value == KEPT.id)
    assert kept == sum(1 for _, values in before for value in values.values() if value == KEPT.id)


def test_every_table_is_owned_and_every_account_column_declared() -> None:
    assert coverage_problems(Base.metadata, AGGREGATES) == []


def test_a_table_added_without_its_declaration_is_found() -> None:
    grown = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(grown)
    Table(
        "mutes",
        grown,
        Column("id", Integer, primary_key=True),
        Column("network", String(16)),
        Column("account_id", ID),
        Column("muted_by", ID),
    )
    Table("notes", grown, Column("id", Integer, primary_key=True), Column("moderator", ID))
    assert coverage_problems(grown, AGGREGATES) == [
        "table mutes is owned by no aggregate",
        "table notes is owned by no aggregate",
        "mutes.account_id holds an account id that no aggregate declares",
        "mutes.muted_by holds an account id that no aggregate declares",
        "notes.moderator is an id column the naming rule does not classify",
    ]


def test_a_table_owned_twice_is_found() -> None:
    twice = Aggregate("twice", tables=VERIFICATIONS.tables[:1])
    assert coverage_problems(Base.metadata, [*AGGREGATES, twice]) == [
        "table verifications is owned by ['verifications', 'twice']"
    ]


async def test_account_ids_in_the_bots_own_text_are_found_and_erased(any_store: Store) -> None:
    await any_store.audit(
        network=GONE.network,
        community_id="500",
        actor=KEPT.id,
        action="RemoveMessage",
        target=KEPT.id,
        detail=f"remove message of {GONE.id}",
        at=NOW,
    )
    with pytest.raises(AssertionError, match=r"audit_log\.detail#1"):
        await assert_no_account_ids_in_text(any_store, GONE)
    await assert_no_account_ids_in_text(any_store, KEPT)  # named in columns only: right
    assert await any_store.erase(GONE, [AUDIT]) == 1
    await assert_no_account_ids_in_text(any_store, GONE)
    [entry] = await any_store.list_audit()
    # the community's pseudonym for the erased member, never the id
    assert entry.detail.startswith("remove message of former member ") and entry.actor == KEPT.id


async def test_export_and_erase_take_only_the_aggregates_given(any_store: Store) -> None:
    await any_store.set_filter(GUILD, GONE, FilterLevel.ALL, NOW)
    holds = [hold(for_member=GONE, sender=KEPT), hold(for_member=KEPT, sender=GONE)]
    await any_store.add_held(holds, at=NOW, expires_at=NOW)

    exported = await any_store.export(GONE, [HELD_ITEMS])
    assert list(exported) == ["held_items"]
    # the items held for the member; what they sent that another's filter held is that other
    # member's to review, and not in this copy
    assert {(r["for_account"], r["sender_account"]) for r in exported["held_items"]} == {
        (GONE.id, KEPT.id),
    }
    assert await any_store.erase(GONE, [MEMBER_PREFERENCES]) == 1
    assert await any_store.get_filter(GUILD, GONE) is None
    assert len((await any_store.export(GONE, [HELD_ITEMS]))["held_items"]) == 1
    assert len((await any_store.export(KEPT, [HELD_ITEMS]))["held_items"]) == 1
