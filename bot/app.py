"""Assembles a running verifybot from a validated config: storage, core, adapters, cogs, web."""

from __future__ import annotations

import logging

from bot.adapters.base import ChatAdapter
from bot.cog import Cog
from bot.config import Config
from bot.core import BotCore
from bot.storage import migrate
from bot.storage.invalidation import PgInvalidation
from bot.storage.repo import Store

log = logging.getLogger(__name__)


def default_cogs() -> list[type[Cog]]:
    """Every feature, in the order their commands appear in help."""
    from cogs.admin import Admin
    from cogs.badges import Badges
    from cogs.filters import Filters
    from cogs.help import Help
    from cogs.housekeeping import Housekeeping

    found: list[type[Cog]] = [Help, Badges, Filters, Admin, Housekeeping]
    try:
        from cogs.verification import Verification
    except ImportError:  # the identity-check feature is optional at import time
        log.warning("identity checks are not available in this build")
    else:
        found.append(Verification)
    return found


def build_adapters(config: Config, core: BotCore) -> list[ChatAdapter]:
    adapters: list[ChatAdapter] = []
    if config.discord is not None:
        from bot.adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter(config.discord, config, core.state_for("discord")))
    if config.matrix is not None:
        from bot.adapters.matrix import MatrixAdapter

        adapters.append(MatrixAdapter(config.matrix, config, core.state_for("matrix")))
    return adapters


class Application:
    """Start-up in the order that keeps promises: schema, then core, then networks."""

    def __init__(self, config: Config, *, dry_run: bool = False) -> None:
        self.config = config
        self.store = Store.open(config.database.url, pool_size=config.database.pool_size)
        self.core = BotCore(config, self.store, cogs=default_cogs(), dry_run=dry_run)
        self.invalidation: PgInvalidation | None = None
        if self.store.dialect == "postgresql":
            self.invalidation = PgInvalidation(config.database.url, self.core.cache)

    async def start(self) -> None:
        if self.config.database.auto_migrate:
            await migrate.upgrade(self.store.engine)
        if self.invalidation is not None:
            await self.invalidation.start()
        for adapter in build_adapters(self.config, self.core):
            self.core.add_adapter(adapter)
        await self.core.start()

    async def stop(self) -> None:
        await self.core.stop()
        if self.invalidation is not None:
            await self.invalidation.stop()
        await self.store.close()
