"""Keeping a discord.Client running: started, waited for, restarted when it ends, closed at stop.

discord.py reconnects and resumes by itself; `Client.start` returns or raises only when it gives
up (a close code it does not survive, such as 4013, or an error outside event parsing, which
`gateway_guard` keeps in). Then a fresh client starts after a pause that doubles from
`restart_delay` up to 60 s, and starts over after five quiet minutes. A refused token or
privileged intent ends it for good, with the fix in words: retrying cannot help.

The supervisor is also where the rest of the adapter finds the current client (`require`,
`guild`): a restart replaces it, so nobody else keeps one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, MutableMapping
from typing import Generic, TypeVar

import discord
import yarl
from discord.gateway import DiscordWebSocket

from bot.adapters.base import AdapterError
from bot.adapters.discord.gateway_guard import where
from bot.config import ConfigError, DiscordSettings
from bot.model import CommunityRef

log = logging.getLogger(__name__)

C = TypeVar("C", bound=discord.Client)
MAX_DELAY = 60.0
QUIET_SECONDS = 300.0  # a client that ran this long resets the pause to `restart_delay`
CLOSE_SECONDS = 10.0  # how long stopping waits for the client to close

BAD_TOKEN = (
    "Discord refused the bot token: check discord.token (Developer Portal → Bot → Reset Token)"
)
NO_INTENTS = (
    "Discord refused the Server Members or Message Content intent: turn both on in the Developer"
    " Portal → Bot → Privileged Gateway Intents"
)


def bot_token(settings: DiscordSettings) -> str:
    """The token, or the configuration problem in the words `check-config` uses."""
    try:
        return settings.token.resolve()
    except ConfigError as exc:
        raise AdapterError(f"discord.token: {'; '.join(exc.problems)}") from None


def point_at_api(settings: DiscordSettings) -> None:
    """Tests only: discord.py reads its API and gateway addresses from class attributes."""
    if settings.api_base:
        log.warning("Discord API redirected to %s (testing only)", settings.api_base)
        discord.http.Route.BASE = settings.api_base.rstrip("/")
    if settings.gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


class ClientSupervisor(Generic[C]):
    """Runs `make_client()` clients one after another; `client` is the current one."""

    def __init__(self, make_client: Callable[[], C], metrics: MutableMapping[str, int]) -> None:
        self._make_client = make_client
        self.metrics = metrics
        self.restart_delay = 1.0
        self.client: C | None = None
        self.fatal: AdapterError | None = None  # why it gave up for good
        self.stopping = False
        self._task: asyncio.Task[None] | None = None

    # --- the current client -------------------------------------------------------------------

    def require(self) -> C:
        """The connected client; an action without one fails in words, not with a crash."""
        if self.client is None or self.client.is_closed():
            raise AdapterError("not connected to Discord")
        return self.client

    def guild(self, community: CommunityRef) -> discord.Guild:
        guild = self.require().get_guild(int(community.id))
        if guild is None:
            raise AdapterError(f"the bot is not in the Discord server {community.id}")
        return guild

    # --- start and stop -----------------------------------------------------------------------

    async def start(self, token: str, ready: asyncio.Event, within: float) -> bool:
        """Run clients in the background and wait until `ready` is set: True when it was, False
        when `within` seconds passed first; raises (why, if known) if the client ended first."""
        self.stopping = False
        self._task = asyncio.create_task(self.run(token), name="discord-client")
        waiting = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait(
            {waiting, self._task}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        if waiting in done:
            return True
        waiting.cancel()
        if self._task.done():
            raise self.fatal or AdapterError("the Discord client stopped during start-up")
        return False

    async def close(self) -> None:
        """Close the current client and wait (bounded) for the supervision to end."""
        self.stopping = True
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, CLOSE_SECONDS)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()

    async def run(self, token: str) -> None:
        """Until `stopping`: run a client; when it ends, log why, wait, and start a new one."""
        delay = self.restart_delay
        loop = asyncio.get_running_loop()
        while not self.stopping:
            client = self.client = self._make_client()
            began = loop.time()
            try:
                await client.start(token)
                why = "the client stopped by itself"
            except discord.LoginFailure:
                self._give_up(BAD_TOKEN)
                return
            except discord.PrivilegedIntentsRequired:
                self._give_up(NO_INTENTS)
                return
            except asyncio.CancelledError:
                await client.close()
                raise
            except Exception as exc:
                if self._stopped():  # closed under it while stopping: nothing went wrong
                    return
                why = where(exc)
                log.error("the Discord client crashed", exc_info=exc)
            finally:
                if not client.is_closed():
                    await client.close()
            if self._stopped():
                return
            self.metrics["client_restarts"] += 1
            if loop.time() - began > QUIET_SECONDS:
                delay = self.restart_delay
            log.error("Discord client ended (%s); restarting in %.1f s", why, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    def _stopped(self) -> bool:  # a method: `stop()` changes it while `run` awaits
        return self.stopping

    def _give_up(self, text: str) -> None:
        self.fatal = AdapterError(text)
        log.error("%s", text)
