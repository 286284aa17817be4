"""Clicks and forms: every component or modal interaction, routed by its custom id's prefix.

discord.py hands each interaction to `on_interaction` as well as to its own view store; the
bot keeps no views (they are stopped before being sent), so this is the one place a button, a
select or a modal of the bot's is read, by what its custom id says. That is why they work the
same after a restart:

* `verifybot:<command> <words…>` (`buttons`): the command, run as the clicker's own, access
  checked by the core as for any command, answered privately;
* `verifybot/pick:…` and `verifybot/form:…` (`menus`): the steps after a message menu.

Anything else (another bot's component, an old format) is left alone.
"""

from __future__ import annotations

import logging

import discord

from bot.adapters.discord.answers import data_of
from bot.adapters.discord.buttons import read_button_id
from bot.adapters.discord.handover import Handover
from bot.adapters.discord.invocations import invocation_of
from bot.adapters.discord.menus import MessageMenus, Run, read_form, read_pick

log = logging.getLogger(__name__)


class Components:
    """Reads the bot's buttons, selects and forms back into commands."""

    def __init__(self, run: Run, menus: MessageMenus, handover: Handover) -> None:
        self._run = run
        self._menus = menus
        self._handover = handover

    async def interaction(self, interaction: discord.Interaction) -> None:
        """Every interaction discord.py saw; slash commands and menus are the tree's."""
        if interaction.type not in (
            discord.InteractionType.component,
            discord.InteractionType.modal_submit,
        ):
            return
        custom_id = data_of(interaction).get("custom_id")
        if isinstance(custom_id, str):
            await self._handover.guard("a button or form", self._route(interaction, custom_id))

    async def _route(self, interaction: discord.Interaction, custom_id: str) -> None:
        if interaction.type is discord.InteractionType.modal_submit:
            form = read_form(custom_id)
            if form is not None:
                await self._menus.submitted(interaction, *form)
            return
        button = read_button_id(custom_id)
        if button is not None:
            name, words = button
            invocation = invocation_of(interaction, name, positional=words)
            await self._run(f"the {name} button", interaction, invocation)
            return
        pick = read_pick(custom_id)
        if pick is not None:
            await self._menus.picked(interaction, *pick)
