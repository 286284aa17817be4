"""Identity checks in chat: verify, unverify, badge, whois, revoke, lift, approve, deny.

The commands hand out links and report outcomes; the checks themselves run in
`bot.verification` and its web pages. Network-neutral: the same words on every network. One cog
in several files (as Red keeps a big cog in a folder): members' commands, moderators' commands,
what happens when someone joins, and the cog's lifecycle and data rights here.
"""

from __future__ import annotations

import asyncio
import logging

from bot.cog import CoreView
from bot.storage import PENDING_CHECKS, VERIFICATIONS
from bot.verification.service import VerificationService
from cogs.verification.base import VerificationBase
from cogs.verification.joins import Joins
from cogs.verification.members import MemberCommands
from cogs.verification.moderators import ModeratorCommands

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 300.0


class Verification(MemberCommands, ModeratorCommands, Joins, VerificationBase):
    """Optional identity checks and the badge they earn."""

    stores = (VERIFICATIONS, PENDING_CHECKS)

    def __init__(self, core: CoreView, service: VerificationService | None = None) -> None:
        """`service` is built and handed in by the application; without one (a test, a
        configuration with no method) the cog builds its own, or answers that checks are off."""
        super().__init__(core)
        if service is None:
            service = VerificationService.maybe(core)
        self.service = service

    async def on_ready(self) -> None:
        if self.service is not None:
            self.core.spawn(self._sweep_forever(), "verification expiry sweep")

    async def _sweep_forever(self) -> None:
        assert self.service is not None
        while True:
            try:
                reminded, expired = await self.service.sweep()
                if reminded or expired:
                    log.info("verification sweep: %d reminded, %d expired", reminded, expired)
            except Exception:
                log.exception("verification sweep failed; will retry")
            await asyncio.sleep(SWEEP_INTERVAL_SECONDS)


__all__ = ["Verification"]
