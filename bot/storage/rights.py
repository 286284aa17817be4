"""Members' data rights: a copy of what is stored about them, and erasure, by aggregate.

Every table belongs to exactly one aggregate in `AGGREGATES`, and every column that can hold an
account id is declared by its aggregate (`coverage_problems` says where that is not so; a test
runs it). Erasing a member with every aggregate therefore leaves no row naming them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import MetaData, String, Text, func, select

from bot.model import MemberRef
from bot.storage import tables as t
from bot.storage.adapter_state import ADAPTER_STATE
from bot.storage.aggregate import Aggregate, Pseudonyms
from bot.storage.audit_log import AUDIT
from bot.storage.budgets import BUDGETS
from bot.storage.changes import Erased
from bot.storage.database import Database
from bot.storage.held import HELD_ITEMS
from bot.storage.notices import SENDER_NOTICES
from bot.storage.pending import PENDING_CHECKS
from bot.storage.preferences import MEMBER_PREFERENCES
from bot.storage.reports import REPORTS
from bot.storage.role_connections import ROLE_CONNECTIONS
from bot.storage.verifications import VERIFICATIONS

AGGREGATES: tuple[Aggregate, ...] = (
    VERIFICATIONS,
    MEMBER_PREFERENCES,
    PENDING_CHECKS,
    HELD_ITEMS,
    SENDER_NOTICES,
    BUDGETS,
    REPORTS,
    AUDIT,
    ADAPTER_STATE,
    ROLE_CONNECTIONS,
)

# The naming rule for columns that can hold an account id: these names, and names ending in
# `_account` (whose account) or `_by` (who did it). Every other id column must be listed as
# naming something else, so a new id column is classified on purpose, not by accident.
ACCOUNT_NAMES = frozenset({"account_id", "actor", "target", "holder", "routed_to"})
ACCOUNT_SUFFIXES = ("_account", "_by")
OTHER_IDS = frozenset({"community_id", "channel_id", "message_id", "event_id", "key"})
ID_LENGTH = 255  # `tables.ID`: the length of every column holding a network's id


def is_account_column(name: str) -> bool:
    return name in ACCOUNT_NAMES or name.endswith(ACCOUNT_SUFFIXES)


def coverage_problems(metadata: MetaData, aggregates: Iterable[Aggregate]) -> list[str]:
    """What the declarations miss: tables no aggregate owns (or two do), account columns no
    aggregate declares, id columns the naming rule does not classify. Empty is right."""
    aggregates = tuple(aggregates)
    owners: dict[str, list[str]] = {}
    for aggregate in aggregates:
        for name in aggregate.table_names:
            owners.setdefault(name, []).append(aggregate.name)
    declared = {(a.table.name, a.column.key) for g in aggregates for a in g.accounts}
    problems = [
        f"table {table.name} is owned by {owners.get(table.name) or 'no aggregate'}"
        for table in metadata.tables.values()
        if len(owners.get(table.name, [])) != 1
    ]
    for table in metadata.tables.values():
        for column in table.columns:
            where = f"{table.name}.{column.name}"
            if is_account_column(column.name) and (table.name, column.name) not in declared:
                problems.append(f"{where} holds an account id that no aggregate declares")
            elif (
                isinstance(column.type, String)
                and column.type.length == ID_LENGTH
                and not is_account_column(column.name)
                and column.name not in OTHER_IDS
            ):
                problems.append(f"{where} is an id column the naming rule does not classify")
    problems += [
        f"{table}.{column} is declared but is not an account column by the naming rule"
        for table, column in sorted(declared)
        if not is_account_column(column)
    ]
    return problems


class DataRights(Database):
    """The part of `Store` that exports and erases one member's data, aggregate by aggregate."""

    async def export(
        self, member: MemberRef, aggregates: Iterable[Aggregate]
    ) -> dict[str, list[dict[str, Any]]]:
        """The member's rows in these aggregates, as plain data by table (their copy)."""
        exported: dict[str, list[dict[str, Any]]] = {}
        async with self._reading() as session:
            for aggregate in aggregates:
                exported.update(await aggregate.export(session, member))
        return exported

    async def erase(self, member: MemberRef, aggregates: Iterable[Aggregate]) -> int:
        """Forget the member in these aggregates, in one transaction; returns rows touched.

        Their own rows go; where shared history (the audit trail, a revocation, another's
        verification) names them, the id is replaced, so the fact stays and the person does
        not. A revocation keeps barring the identity's keyed hash until it is lifted."""
        return await self._erase(member, tuple(aggregates), only=None)

    async def export_member(self, member: MemberRef) -> dict[str, list[dict[str, Any]]]:
        """Everything stored about an account (`export` over every aggregate)."""
        return await self.export(member, AGGREGATES)

    async def erase_member(self, member: MemberRef, *, tables: Sequence[str] | None = None) -> int:
        """Erase the account from all tables, or only the named ones (the older form of
        `erase`, which takes aggregates instead of table names)."""
        return await self._erase(member, AGGREGATES, only=tables)

    async def _erase(
        self, member: MemberRef, aggregates: tuple[Aggregate, ...], *, only: Collection[str] | None
    ) -> int:
        removed = 0
        pseudonyms = Pseudonyms()  # one per community, shared by every table in this erasure
        # immediate: it reads (pseudonyms, rows) before it writes; on SQLite a deferred
        # transaction whose snapshot another writer has moved past cannot start writing and
        # fails at once ("database is locked"), where this one waits its turn
        async with self._session(immediate=True) as session:
            for aggregate in aggregates:
                removed += await aggregate.erase(session, member, only=only, pseudonyms=pseudonyms)
        await self._changed(Erased(member))
        return removed

    async def places_naming(self, member: MemberRef) -> list[str]:
        """Every place in any table, any text column, that holds the account id, as
        `table.column#row`: after erasure this must be empty (the generic check)."""
        found: list[str] = []
        async with self._reading() as session:
            for table in t.Base.metadata.tables.values():
                if "network" not in table.columns:
                    continue
                key = next(iter(table.primary_key.columns))
                for column in table.columns:
                    if not isinstance(column.type, String | Text):
                        continue
                    rows = await session.execute(
                        select(key).where(
                            table.c.network == member.network,
                            column.contains(member.id, autoescape=True),
                        )
                    )
                    found += [f"{table.name}.{column.name}#{row}" for row in rows.scalars()]
        return found

    async def texts_naming(self, member: MemberRef) -> list[str]:
        """Where the bot's own free text (audit details, hold reasons) names the account, as
        `table.column#row`. Account ids belong in account columns; this should be empty."""
        async with self._reading() as session:
            return [
                place
                for aggregate in AGGREGATES
                for place in await aggregate.texts_naming(session, member)
            ]

    async def count_rows(self, table_name: str) -> int:
        """Row count of one table (health output and tests)."""
        table = t.Base.metadata.tables[table_name]
        return await self._count_of(select(func.count()).select_from(table))


async def assert_no_account_ids_in_text(store: DataRights, member: MemberRef) -> None:
    """For tests: fail, naming the places, when the bot's own text names the account."""
    found = await store.texts_naming(member)
    if found:
        raise AssertionError(f"account id {member.id!r} inside free text: {', '.join(found)}")


__all__ = [
    "AGGREGATES",
    "DataRights",
    "assert_no_account_ids_in_text",
    "coverage_problems",
    "is_account_column",
]
