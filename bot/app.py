"""Assembles a running verifybot from a validated config: storage, core, adapters, cogs, web."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.adapters.base import ChatAdapter
from bot.cog import Cog
from bot.config import Config
from bot.core import BotCore
from bot.storage import migrate
from bot.storage.invalidation import PgInvalidation
from bot.storage.repo import Store
from bot.verification.service import VerificationService
from bot.web import operations
from bot.web.app import WebServer, create_app
from cogs.admin import Admin
from cogs.audit import AuditTrailCommands
from cogs.badges import Badges
from cogs.dashboard import Dashboard
from cogs.filters import Filters
from cogs.help import Help
from cogs.housekeeping import Housekeeping
from cogs.panel import Panel
from cogs.reports import Reports
from cogs.rights import DataRights
from cogs.setup import SetupCheck
from cogs.verification import Verification

log = logging.getLogger(__name__)

# How long a cancelled start-up may take to close what it opened before we stop regardless.
CANCEL_GRACE_SECONDS = 5.0


def build_cogs(core: BotCore) -> tuple[list[Cog], VerificationService | None]:
    """Every feature, in the order their commands appear in help. The verification service is
    built here and handed to the cog that uses it (and, by the caller, to the web pages), with
    the Badges cog's refresh so a finished check shows the badge by the same rule as always."""
    badges = Badges(core)
    service = VerificationService.maybe(core, refresh_badges=badges.refresh)
    # Verification before Badges: on a join, the identity limit is settled before a badge shows
    cogs: list[Cog] = [Help(core), Verification(core, service), badges]
    features = [Filters(core), Reports(core), AuditTrailCommands(core), DataRights(core)]
    staff = [Admin(core), Panel(core), SetupCheck(core), Dashboard(core), Housekeeping(core)]
    return [*cogs, *features, *staff], service


def build_adapters(config: Config, core: BotCore) -> list[ChatAdapter]:
    adapters: list[ChatAdapter] = []
    if config.discord is not None:
        from bot.adapters.discord import DiscordAdapter

        adapters.append(
            DiscordAdapter(config.discord, config, core.state_for("discord"), vault=core.store)
        )
    if config.matrix is not None:
        from bot.adapters.matrix import MatrixAdapter

        adapters.append(MatrixAdapter(config.matrix, config, core.state_for("matrix")))
    return adapters


class Application:
    """Start-up in the order that keeps promises: schema, then core, then networks."""

    def __init__(self, config: Config, *, dry_run: bool = False) -> None:
        self.config = config
        self.store = Store.open(config.database.url, pool_size=config.database.pool_size)
        self.core = BotCore(config, self.store, dry_run=dry_run)
        cogs, self.service = build_cogs(self.core)
        for cog in cogs:
            self.core.add_cog(cog)
        self.invalidation: PgInvalidation | None = None
        self.web: WebServer | None = None
        self.operations: WebServer | None = None  # /healthz, /metrics on web.metrics_port
        if self.store.dialect == "postgresql":
            self.invalidation = PgInvalidation(config.database.url, self.core.cache)

    async def start(self) -> None:
        """Migrate, then connect; `serve` runs the same two steps, and can be interrupted."""
        await self.migrate()
        await self.connect()

    async def migrate(self) -> None:
        if not self.config.database.auto_migrate:
            return
        await migrate.upgrade(self.store.engine)
        revision = await migrate.current_revision(self.store.engine)
        log.info("database schema is up to date (revision %s)", revision)

    async def connect(self) -> None:
        if self.invalidation is not None:
            await self.invalidation.start()
        adapters = build_adapters(self.config, self.core)
        for adapter in adapters:
            self.core.add_adapter(adapter)
        if adapters:
            log.info(
                "connecting to %s",
                ", ".join(_network_label(self.config, a.network) for a in adapters),
            )
        await self.core.start()
        if self.config.web.enabled:
            web = self.config.web
            self.web = WebServer(
                create_app(self.core, self.service), host=web.listen_host, port=web.listen_port
            )
            await self.web.start()
        if self.config.web.metrics_port is not None:
            self.operations = WebServer(
                operations.operations_app(self.core),
                host=self.config.web.listen_host,
                port=self.config.web.metrics_port,
            )
            await self.operations.start()

    async def serve(self, stop: asyncio.Event, force: asyncio.Event) -> bool:
        """Start, run until `stop` is set, then stop what started.

        `stop` is honoured at every moment: during start-up (a database or homeserver that does
        not answer) it cancels start-up. `force` cuts shutdown short. Returns False when it did.
        A start-up failure propagates once what had started is stopped.
        """
        try:
            if await self._migrate_unless(stop) and await _unless(stop, self.connect()):
                log.info("verifybot is running%s", " (dry run)" if self.core.dry_run else "")
                await stop.wait()
        finally:
            finished = await _unless(force, self.stop())
        return finished

    async def _migrate_unless(self, stop: asyncio.Event) -> bool:
        """Migrate unless `stop` comes first; True if start-up should go on.

        SQLite applies each DDL statement as it goes, so a migration cut in half would stay half
        done and the next start would fail: there it is always finished (it is local and quick).
        """
        if self.store.dialect != "sqlite":
            return await _unless(stop, self.migrate())
        work = asyncio.ensure_future(self.migrate())
        waiter = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({work, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if work not in done:
            log.info("finishing the database migration first (SQLite cannot undo half of one)")
        await work
        return not stop.is_set()

    async def stop(self) -> None:
        if self.web is not None:
            await self.web.stop()
        if self.operations is not None:
            await self.operations.stop()
        if self.service is not None:
            await self.service.close()
        await self.core.stop()
        if self.invalidation is not None:
            await self.invalidation.stop()
        await self.store.close()


def _network_label(config: Config, network: str) -> str:
    if network == "matrix" and config.matrix is not None:
        return f"Matrix at {config.matrix.homeserver} as {config.matrix.user_id}"
    return network.capitalize()


async def _unless(event: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run `work` to its end unless `event` is set first; then cancel it and return False.

    Failures of `work` propagate. A cancelled `work` gets a short grace to close what it opened.
    """
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # we are cancelled ourselves: take `work` with us
        task.cancel()
        raise
    finally:
        waiter.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    await asyncio.wait({task}, timeout=CANCEL_GRACE_SECONDS)
    if not task.done():
        log.warning("gave up waiting for %s to finish", getattr(work, "__qualname__", "a step"))
    elif not task.cancelled() and task.exception() is not None:
        log.debug("interrupted step failed as it stopped", exc_info=task.exception())
    return False
