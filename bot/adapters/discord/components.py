"""Clicks and forms: every component or modal interaction, routed by its custom id's prefix.

discord.py hands each interaction to `on_interaction` as well as to its own view store; the
bot keeps no views (they are stopped before being sent), so this is the one place a button, a
select or a modal of the bot's is read, by what its custom id says. That is why they work the
same after a restart:

* `verifybot:<command> <words…>` (`buttons`): the command, run as the clicker's own, access
  checked by the core as for any command, answered privately; `verifybot/stay:…` and
  `verifybot/one:…` likewise, for a standing offer (a panel's buttons and select), which stays;
* `verifybot/pick:…` and `verifybot/form:…` (`menus`): the steps after a message menu;
* `verifybot/ask:<command> <words…>` (`asks`): the form a button opens for words it cannot
  carry (a reason); once a button's command ran, its notice shows who decided.

Anything else (another bot's component, an old format) is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import discord

from bot.adapters.discord.answers import data_of
from bot.adapters.discord.asks import (
    ask_form,
    asked_text,
    clicked_label,
    mark_decided,
    missing_text,
    read_ask,
)
from bot.adapters.discord.buttons import BUTTON, read_button_id, read_pick_one
from bot.adapters.discord.handover import Handover
from bot.adapters.discord.invocations import invocation_of
from bot.adapters.discord.menus import MessageMenus, Run, read_form, read_pick
from bot.model import CommandSpec

log = logging.getLogger(__name__)


class Components:
    """Reads the bot's buttons, selects and forms back into commands."""

    def __init__(
        self,
        run: Run,
        menus: MessageMenus,
        handover: Handover,
        spec: Callable[[str], CommandSpec | None],
    ) -> None:
        self._run = run
        self._menus = menus
        self._handover = handover
        self._spec = spec  # a command's spec by name, to see what a button leaves out

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
            asked = read_ask(custom_id)
            if asked is not None:
                await self._answered(interaction, *asked)
            return
        button = read_button_id(custom_id)
        if button is not None:
            await self._clicked(interaction, custom_id, *button)
            return
        pick = read_pick(custom_id)
        if pick is not None:
            await self._menus.picked(interaction, *pick)
            return
        one = read_pick_one(custom_id, data_of(interaction).get("values"))
        if one is not None:  # a standing select (a panel's): run, and the select stays
            name, words = one
            invocation = invocation_of(interaction, name, positional=words)
            await self._run(f"the {name} select", interaction, invocation)

    async def _clicked(
        self, interaction: discord.Interaction, custom_id: str, name: str, words: tuple[str, ...]
    ) -> None:
        """Run the button's command as the clicker's own; a command that needs words the
        button cannot carry asks for them first (`asks`)."""
        param = missing_text(self._spec(name), words)
        if param is not None:
            label = clicked_label(interaction.message, custom_id) or name
            form = ask_form(name, words, label, param)
            if form is not None:
                await interaction.response.send_modal(form)
                return
        invocation = invocation_of(interaction, name, positional=words)
        if await self._run(f"the {name} button", interaction, invocation):
            await mark_decided(interaction, custom_id)

    async def _answered(
        self, interaction: discord.Interaction, name: str, words: tuple[str, ...]
    ) -> None:
        """The form a button opened is sent: its command runs with what was typed."""
        param = missing_text(self._spec(name), words)
        args = () if param is None else ((param.name, asked_text(interaction)),)
        invocation = invocation_of(interaction, name, args=args, positional=words)
        if await self._run(f"the {name} form", interaction, invocation):
            await mark_decided(interaction, BUTTON + " ".join([name, *words]))
