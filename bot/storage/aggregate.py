"""What each aggregate stores about a member, declared once, so export and erasure follow from it.

An `Aggregate` names the tables it owns, every column in them that holds an account id (with what
erasure does to it), the free text the bot writes there, the words of people it keeps (a report's
details, a held message) and what stays out of a member's copy. `Store.export` and `Store.erase`
take aggregates; the tests check that every table is owned and every account column declared, so
a table added without its declaration fails the build instead of surviving an erasure.

Where erasure keeps a row for moderation (a report about the member, the audit trail), the id
becomes a pseudonym that is the same throughout one community and different in each: moderators
still see that the reports concern one former member, and nobody can join them up across
communities or back to the account.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
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
    pseudonym: bool = False  # erased as the community's pseudonym for the member

    @property
    def table(self) -> Table:
        return self.column.class_.__table__  # type: ignore[no-any-return]


def owner(column: Column, *, export: bool = True) -> AccountColumn:
    """The row is this account's own: erasure deletes it; it is in the member's copy unless it
    is something addressed to someone else (`export=False`)."""
    return AccountColumn(column, Erase.DELETE, export=export)


def mention(
    column: Column, *, export: bool = False, erased_as: Any = ERASED, pseudonym: bool = False
) -> AccountColumn:
    """The row names the account as actor or subject of something that outlives it: erasure
    replaces the id (with a per-community pseudonym where moderators need to see that several
    rows concern one person), keeping the fact that something happened."""
    return AccountColumn(
        column, Erase.ANONYMISE, export=export, erased_as=erased_as, pseudonym=pseudonym
    )


@dataclass(slots=True)
class Pseudonyms:
    """One erasure's pseudonyms: the same within a community, unrelated between communities,
    and not derived from the account, so nothing leads back to it."""

    given: dict[str | None, str] = field(default_factory=dict)

    def of(self, community_id: str | None) -> str:
        if community_id is None:
            return ERASED
        if community_id not in self.given:
            self.given[community_id] = f"former member {secrets.token_hex(3)}"
        return self.given[community_id]


@dataclass(frozen=True, slots=True, eq=False)
class Aggregate:
    """What one part of the storage keeps about members. `accounts` empty: no member data.
    Each is a single object (compared by identity), so a set of them is what callers gather."""

    name: str
    tables: tuple[type[t.Base], ...]
    accounts: tuple[AccountColumn, ...] = ()
    texts: tuple[Column, ...] = ()  # free text the bot writes: an account id never belongs here
    # people's own words the bot keeps (they may name an account; erasure takes the id out)
    quoted: tuple[Column, ...] = ()
    private: tuple[Column, ...] = ()  # kept out of the member's copy (moderators' notes, hashes)

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
            hidden = {c.key for c in self.private if c.class_ is table}
            exported[table.__tablename__] = [_plain(row, hidden) for row in rows]
        return exported

    async def erase(
        self,
        session: AsyncSession,
        member: MemberRef,
        *,
        only: Collection[str] | None = None,
        pseudonyms: Pseudonyms | None = None,
    ) -> int:
        """Delete the member's own rows, replace their id where others' rows name them, and
        take it out of the bot's own text and people's quoted words; returns rows touched.
        `only`: these tables alone."""
        pseudonyms = pseudonyms if pseudonyms is not None else Pseudonyms()
        touched = 0
        wanted = [a for a in self.accounts if only is None or a.table.name in only]
        for account in sorted(wanted, key=lambda a: a.erase is not Erase.DELETE):
            table = account.column.class_
            named = [_network(table) == member.network, account.column == member.id]
            if account.erase is Erase.DELETE:
                touched += rowcount(await session.execute(delete(table).where(*named)))
            elif account.pseudonym:
                for community_id in await _communities(session, table, named):
                    statement = (
                        update(table)
                        .where(*named, _in(table, community_id))
                        .values({account.column: pseudonyms.of(community_id)})
                    )
                    touched += rowcount(await session.execute(statement))
            else:
                statement = update(table).where(*named).values({account.column: account.erased_as})
                touched += rowcount(await session.execute(statement))
        for text in (*self.texts, *self.quoted):
            table = text.class_
            if only is not None and table.__tablename__ not in only:
                continue
            naming = [_network(table) == member.network, text.contains(member.id, autoescape=True)]
            has_community = "community_id" in table.__table__.columns
            places = await _communities(session, table, naming) if has_community else [None]
            for community_id in places:
                where = [*naming, _in(table, community_id)] if has_community else naming
                result = await session.execute(
                    update(table)
                    .where(*where)
                    .values({text: func.replace(text, member.id, pseudonyms.of(community_id))})
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


def _in(table: Any, community_id: str | None) -> Any:
    """Rows of this community (or of none, for what happened outside any community)."""
    column = table.community_id
    return column.is_(None) if community_id is None else column == community_id


async def _communities(session: AsyncSession, table: Any, where: list[Any]) -> list[str | None]:
    """The communities of the rows that match (each gets its own pseudonym)."""
    rows = await session.execute(select(table.community_id).where(*where).distinct())
    return list(rows.scalars())


def _plain(row: t.Base, hidden: Collection[str] = ()) -> dict[str, Any]:
    """A row as JSON-ready values (the member's copy of their data)."""
    values: dict[str, Any] = {}
    for column in row.__table__.columns:
        if column.key in hidden:
            continue
        value = getattr(row, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return values


__all__ = ["ERASED", "AccountColumn", "Aggregate", "Erase", "Pseudonyms", "mention", "owner"]
