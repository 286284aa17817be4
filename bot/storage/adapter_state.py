"""Small durable values adapters keep across restarts, and the events already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from bot.storage import tables as t
from bot.storage.aggregate import Aggregate
from bot.storage.database import Database, rowcount

# no column of these tables names an account. (An adapter may still write one into a value:
# see the note on `AdapterState`.)
ADAPTER_STATE = Aggregate("adapter state", tables=(t.AdapterStateEntry, t.ProcessedEvent))


class AdapterState(Database):
    """The part of `Store` that keeps adapters' key/value state and event idempotency.

    Values are opaque to storage, so erasure cannot find an account id inside one: an adapter
    must keep per-member facts out of them, or under a key that names the account."""

    async def get_state(self, network: str, key: str) -> str | None:
        value = await self._first(
            select(t.AdapterStateEntry.value).where(
                t.AdapterStateEntry.network == network, t.AdapterStateEntry.key == key
            )
        )
        return str(value) if value is not None else None

    async def set_state(self, network: str, key: str, value: str, at: datetime) -> None:
        stmt = self._insert(t.AdapterStateEntry).values(
            network=network, key=key, value=value, updated_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["network", "key"], set_={"value": value, "updated_at": at}
        )
        async with self._session() as session:
            await session.execute(stmt)

    async def claim_event(self, network: str, event_id: str, at: datetime) -> bool:
        """Record an event as handled; False if it already was (a redelivery to ignore)."""
        stmt = (
            self._insert(t.ProcessedEvent)
            .values(network=network, event_id=event_id, at=at)
            .on_conflict_do_nothing(index_elements=["network", "event_id"])
        )
        async with self._session() as session:
            return rowcount(await session.execute(stmt)) == 1

    async def purge_processed_events(self, before: datetime) -> int:
        async with self._session() as session:
            result = await session.execute(
                delete(t.ProcessedEvent).where(t.ProcessedEvent.at < before)
            )
            return rowcount(result)


__all__ = ["ADAPTER_STATE", "AdapterState"]
