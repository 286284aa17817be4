"""Keeping a discord.Client running: a new one whenever it ends, unless Discord refused it.

discord.py reconnects and resumes by itself; `Client.start` returns or raises only when it gives
up (a close code it does not survive, such as 4013, or an error outside event parsing, which
`gateway_guard` keeps in). Then a fresh client starts after a pause that doubles from
`restart_delay` up to 60 s, and starts over after five quiet minutes. A refused token or
privileged intent ends it for good, with the fix in words: retrying cannot help.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, MutableMapping
from typing import Generic, TypeVar

import discord

from bot.adapters.base import AdapterError
from bot.adapters.discord.gateway_guard import where

log = logging.getLogger(__name__)

C = TypeVar("C", bound=discord.Client)
MAX_DELAY = 60.0
QUIET_SECONDS = 300.0  # a client that ran this long resets the pause to `restart_delay`

BAD_TOKEN = (
    "Discord refused the bot token: check discord.token (Developer Portal → Bot → Reset Token)"
)
NO_INTENTS = (
    "Discord refused the Server Members or Message Content intent: turn both on in the Developer"
    " Portal → Bot → Privileged Gateway Intents"
)


class ClientSupervisor(Generic[C]):
    """Runs `make_client()` clients one after another; `client` is the current one."""

    def __init__(self, make_client: Callable[[], C], metrics: MutableMapping[str, int]) -> None:
        self._make_client = make_client
        self.metrics = metrics
        self.restart_delay = 1.0
        self.client: C | None = None
        self.fatal: AdapterError | None = None  # why it gave up for good
        self.stopping = False

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
