"""Daily allowances kept in the database: one atomic statement per holder spends a unit.

A fixed window opens at the first use and lasts `window`; every process on the database shares
the count, because the count is the row. Spending is all or nothing over several holders (the
account and the address), in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case

from bot.storage import tables as t
from bot.storage.aggregate import Aggregate, owner
from bot.storage.database import Database

# an address's allowance is held by its keyed hash under the network "", so erasing an account
# (which matches its own network) leaves it: it names no account
BUDGETS = Aggregate("budgets", tables=(t.Budget,), accounts=(owner(t.Budget.holder),))


@dataclass(frozen=True, slots=True)
class Holder:
    """Whose allowance: an account (`network`, account id) or an address (`""`, keyed hash)."""

    network: str
    id: str


class Budgets(Database):
    """The part of `Store` that spends daily allowances."""

    async def spend(
        self,
        kind: str,
        holders: Sequence[Holder],
        *,
        limit: int,
        window: timedelta,
        now: datetime,
    ) -> bool:
        """One unit of `kind` for each holder, all or nothing; False when any holder has used
        its `limit` in the current window (then nothing is spent)."""
        expired = t.Budget.window_start <= now - window
        within = True
        async with self._session(immediate=True) as session:
            for holder in holders:
                statement = (
                    self._insert(t.Budget)
                    .values(
                        kind=kind,
                        network=holder.network,
                        holder=holder.id,
                        window_start=now,
                        used=1,
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
            if not within:
                await session.rollback()
        return within


__all__ = ["BUDGETS", "Budgets", "Holder"]
