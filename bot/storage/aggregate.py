"""What each aggregate stores about a member, declared once, so export and erasure follow from it.

An `Aggregate` names the tables it owns, every column in them that holds an account id (with what
erasure does to it) and the free text the bot writes there. `Store.export` and `Store.erase` take
aggregates; the tests check that every table is owned and every account column declared, so a
table added without its declaration fails the build instead of surviving an erasure.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.model import MemberRef
from bot.storage import tables as t
from bot.storage.database import rowcount

ERASED = "erased"  # what an account id, or its mention in the bot's own text, becomes

Column = InstrumentedAttribute[Any]


class Erase(enum.Enum):
    """What erasing a member does to a row that names them in one column."""

    DELETE = "delete"  # the row is the member's own: it goes
    ANONYMISE = "anonymise"  # the row is shared history or another's: the id is replaced


@dataclass(frozen=True, slots=True, eq=False)
class AccountColumn:
    """A column holding an account id, and what erasure and export do with it."""

    column: Column
    erase: Erase
    export: bool
    erased_as: Any = ERASED  # a literal, or an SQL expression over the row

    @property
    def table(self) -> Table:
        return self.column.class_.__table__  # type: ignore[no-any-return]


def owner(column: Column) -> AccountColumn:
    """The row is this account's own: it is in the member's copy, and erasure deletes it."""
    return AccountColumn(column, Erase.DELETE, export=True)


def mention(column: Column, *, export: bool = False, erased_as: Any = ERASED) -> AccountColumn:
    """The row names the account as actor or subject of something that outlives it: erasure
    replaces the id, keeping the fact that something happened."""
    return AccountColumn(column, Erase.ANONYMISE, export=export, erased_as=erased_as)


@dataclass(frozen=True, slots=True, eq=False)
class Aggregate:
    """What one part of the storage keeps about members. `accounts` empty: no member data.
    Each is a single object (compared by identity), so a set of them is what callers gather."""

    name: str
    tables: tuple[type[t.Base], ...]
    accounts: tuple[AccountColumn, ...] = ()
    texts: tuple[Column, ...] = ()  # free text the bot writes: an account id never belongs here

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(table.__tablename__ for table in self.tables)

    async def export(
        self, session: AsyncSession, member: MemberRef
    ) -> dict[str, list[dict[str, Any]]]:
        """The member's rows of each table, as plain data; a row naming them twice comes once."""
        exported: dict[str, list[dict[str, Any]]] = {}
        for table in self.tables:
            columns = [a.column for a in self.accounts if a.export and a.table is table.__table__]
            if not columns:
                continue
            query = (
                select(table)
                .where(_network(table) == member.network, or_(*(c == member.id for c in columns)))
                .order_by(*_key(table))
            )
            rows = (await session.execute(query)).scalars()
            exported[table.__tablename__] = [_plain(row) for row in rows]
        return exported

    async def erase(
        self, session: AsyncSession, member: MemberRef, *, only: Collection[str] | None = None
    ) -> int:
        """Delete the member's own rows, replace their id where others' rows name them, and
        take it out of the bot's own text; returns rows touched. `only`: these tables alone."""
        touched = 0
        wanted = [a for a in self.accounts if only is None or a.table.name in only]
        for account in sorted(wanted, key=lambda a: a.erase is not Erase.DELETE):
            table = account.column.class_
            named = [_network(table) == member.network, account.column == member.id]
            if account.erase is Erase.DELETE:
                statement: Any = delete(table).where(*named)
            else:
                statement = update(table).where(*named).values({account.column: account.erased_as})
            touched += rowcount(await session.execute(statement))
        for text in self.texts:
            table = text.class_
            if only is not None and table.__tablename__ not in only:
                continue
            result = await session.execute(
                update(table)
                .where(
                    _network(table) == member.network,
                    text.contains(member.id, autoescape=True),
                )
                .values({text: func.replace(text, member.id, ERASED)})
            )
            touched += rowcount(result)
        return touched

    async def texts_naming(self, session: AsyncSession, member: MemberRef) -> list[str]:
        """Where the bot's own text names the account (`table.column#row`); empty is right."""
        found: list[str] = []
        for text in self.texts:
            table = text.class_
            key = _key(table)[0]
            rows = await session.execute(
                select(key).where(
                    _network(table) == member.network,
                    text.contains(member.id, autoescape=True),
                )
            )
            found += [f"{table.__tablename__}.{text.key}#{row}" for row in rows.scalars()]
        return found


def _key(table: Any) -> list[Any]:
    """The table's primary-key columns."""
    return list(table.__table__.primary_key.columns)


def _network(table: Any) -> Any:
    """Every table that names accounts scopes them by network."""
    return table.network


def _plain(row: t.Base) -> dict[str, Any]:
    """A row as JSON-ready values (the member's copy of their data)."""
    values: dict[str, Any] = {}
    for column in row.__table__.columns:
        value = getattr(row, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return values


__all__ = ["ERASED", "AccountColumn", "Aggregate", "Erase", "mention", "owner"]
