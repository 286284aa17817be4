"""The slash-command tree, answering for commands it no longer has.

Discord clients keep the command list they were given, so after an update a member can still
pick a command the bot has since renamed or dropped, or one whose options changed. discord.py
would only log "Ignoring exception in command tree" and the member would see "The application
did not respond". Here the member is told, privately, and the commands are published again
(at most once a minute) so the client's list refreshes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands

log = logging.getLogger(__name__)

OUTDATED = "This command is outdated; it will refresh shortly. Please try again in a minute."
_OUTDATED_ERRORS = (app_commands.CommandNotFound, app_commands.CommandSignatureMismatch)


class AnsweringTree(app_commands.CommandTree[Any]):
    """A command tree that answers an outdated command and asks for the commands to be
    published again (`on_outdated`)."""

    def __init__(self, client: discord.Client, on_outdated: Callable[[], None]) -> None:
        super().__init__(client)
        self._on_outdated = on_outdated

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        if not isinstance(error, _OUTDATED_ERRORS):
            await super().on_error(interaction, error)
            return
        log.info("a member used a command this bot no longer has as sent; publishing again")
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(OUTDATED, ephemeral=True)
        except discord.HTTPException as exc:
            log.warning("could not answer an outdated command: %s", exc)
        self._on_outdated()
