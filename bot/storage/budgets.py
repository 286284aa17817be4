"""Daily allowances kept in the database: one atomic statement per holder spends a unit.

A fixed window opens at the first use and lasts `window`; every process on the database shares
the count, because the count is the row. Spending is all or nothing over several holders (the
account and the address), in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import tables as t


@dataclass(frozen=True, slots=True)
class Holder:
    """Whose allowance: an account (`network`, account id) or an address (`""`, keyed hash)."""

    network: str
    id: str


async def spend(
    session: AsyncSession,
    insert: Any,
    kind: str,
    holders: Sequence[Holder],
    *,
    limit: int,
    window: timedelta,
    now: datetime,
) -> bool:
    """Use one unit of `kind` for every holder; False (the caller rolls back) when any of them
    has used its `limit` in the current window."""
    expired = t.Budget.window_start <= now - window
    within = True
    for holder in holders:
        statement = (
            insert.values(
                kind=kind, network=holder.network, holder=holder.id, window_start=now, used=1
            )
            .on_conflict_do_update(
                index_elements=["kind", "network", "holder"],
                set_={
                    "used": case((expired, 1), else_=t.Budget.used + 1),
                    "window_start": case((expired, now), else_=t.Budget.window_start),
                },
            )
            .returning(t.Budget.used)
        )
        used = (await session.execute(statement)).scalar_one()
        within = within and used <= limit
    return within
