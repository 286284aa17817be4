"""Assembles a running verifybot from a validated config: storage, core, adapters, cogs, web."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.adapters.base import ChatAdapter
from bot.cog import Cog
from bot.config import Config
from bot.core import BotCore
from bot.storage import migrate
from bot.storage.invalidation import PgInvalidation

if TYPE_CHECKING:
    from cogs.verification import Verification
from bot.storage.repo import Store
from bot.web.app import WebServer, create_app

log = logging.getLogger(__name__)


def default_cogs() -> list[type[Cog]]:
    """Every feature, in the order their commands appear in help."""
    from cogs.admin import Admin
    from cogs.badges import Badges
    from cogs.filters import Filters
    from cogs.help import Help
    from cogs.housekeeping import Housekeeping

    found: list[type[Cog]] = [Help]
    try:
        from cogs.verification import Verification
    except ImportError:  # the identity-check feature is optional at import time
        log.warning("identity checks are not available in this build")
    else:
        # before Badges: on a join, the identity limit is settled before a badge is restored
        found.append(Verification)
    return [*found, Badges, Filters, Admin, Housekeeping]


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
        self.web: WebServer | None = None
        if self.store.dialect == "postgresql":
            self.invalidation = PgInvalidation(config.database.url, self.core.cache)

    def _verification(self) -> Verification | None:
        try:
            from cogs.verification import Verification
        except ImportError:
            return None
        try:
            return self.core.cog(Verification)
        except LookupError:
            return None

    async def start(self) -> None:
        if self.config.database.auto_migrate:
            await migrate.upgrade(self.store.engine)
        if self.invalidation is not None:
            await self.invalidation.start()
        for adapter in build_adapters(self.config, self.core):
            self.core.add_adapter(adapter)
        await self.core.start()
        if self.config.web.enabled:
            verification = self._verification()
            service = verification.service if verification is not None else None
            web = self.config.web
            self.web = WebServer(
                create_app(self.core, service), host=web.listen_host, port=web.listen_port
            )
            await self.web.start()

    async def stop(self) -> None:
        if self.web is not None:
            await self.web.stop()
        verification = self._verification()
        if verification is not None:
            await verification.close()
        await self.core.stop()
        if self.invalidation is not None:
            await self.invalidation.stop()
        await self.store.close()
