"""Deletes what has outlived its purpose: held items, closed reports and audit entries past their
retention, expired checks, old event ids.

Privacy by design means keeping things only as long as they serve the member, so this runs on
its own schedule rather than waiting for someone to ask.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.cog import Cog

log = logging.getLogger(__name__)
PROCESSED_EVENT_DAYS = 7  # far longer than any redelivery window


class Housekeeping(Cog):
    interval_seconds: float = 3600.0

    async def on_ready(self) -> None:
        self.core.spawn(self._every_interval(), name="housekeeping")

    async def _every_interval(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("housekeeping sweep failed; trying again next interval")
            await asyncio.sleep(self.interval_seconds)

    async def sweep(self) -> dict[str, int]:
        now = self.core.clock()
        store = self.core.store
        retention = self.core.config.retention
        removed = {
            "held_items": await store.purge_held(now),
            "closed_reports": await store.purge_closed_reports(
                now - timedelta(days=retention.closed_reports_days)
            ),
            "audit_entries": await store.purge_audit(now - timedelta(days=retention.audit_days)),
            "pending_checks": await store.purge_pending(now),
            "processed_events": await store.purge_processed_events(
                now - timedelta(days=PROCESSED_EVENT_DAYS)
            ),
        }
        if any(removed.values()):
            log.info("housekeeping removed %s", removed)
        return removed
