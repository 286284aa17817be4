"""Buttons that decide something: a form for the words only a person can type, and the notice
then showing who decided.

A notice's buttons run commands (`buttons.py`). Some need words a button cannot carry — "Deny"
needs the reason the member will be told. Clicking such a button opens a form asking for it
(custom id `verifybot/ask:<command> <words…>`, so it needs nothing kept in memory and works
after a restart); the command runs when the form is sent. Once a button's command ran to the
end, its notice is edited: the buttons go, and a line says what was chosen and by whom, so
moderators do not decide twice.
"""

from __future__ import annotations

import logging

import discord

from bot.adapters.discord.answers import COMPONENT_PREFIX, NO_PINGS, data_of, shorten
from bot.adapters.discord.buttons import BUTTON
from bot.adapters.discord.menus import TEXT_INPUT_ID, TEXT_LIMIT, TITLE_LIMIT, submitted_text
from bot.model import CommandSpec, ParamKind, ParamSpec

log = logging.getLogger(__name__)

ASK = f"{COMPONENT_PREFIX}/ask:"
CUSTOM_ID_LIMIT = 100
MESSAGE_LIMIT = 2000


def missing_text(spec: CommandSpec | None, words: tuple[str, ...]) -> ParamSpec | None:
    """The required text parameter a button's words leave out, if the command has one."""
    if spec is None:
        return None
    required = [p for p in spec.params if p.required]
    if len(words) >= len(required):
        return None
    missing = required[len(words)]
    return missing if missing.kind is ParamKind.TEXT else None


def ask_form(
    command: str, words: tuple[str, ...], label: str, param: ParamSpec
) -> discord.ui.Modal | None:
    """The form asking for `param`; None when its custom id would not fit (then the command
    runs as is, and the core says what is missing)."""
    custom_id = ASK + " ".join([command, *words])
    if len(custom_id) > CUSTOM_ID_LIMIT:
        return None
    modal = discord.ui.Modal(title=shorten(label, TITLE_LIMIT), custom_id=custom_id)
    modal.add_item(
        discord.ui.Label(
            text=shorten(param.help[:1].upper() + param.help[1:], TITLE_LIMIT),
            component=discord.ui.TextInput(
                custom_id=TEXT_INPUT_ID,
                style=discord.TextStyle.paragraph,
                required=True,
                max_length=TEXT_LIMIT,
            ),
        )
    )
    modal.stop()  # read back by custom id, like every component of the bot's
    return modal


def read_ask(custom_id: str) -> tuple[str, tuple[str, ...]] | None:
    if not custom_id.startswith(ASK):
        return None
    name, *words = custom_id.removeprefix(ASK).split()
    return (name, tuple(words)) if name else None


def asked_text(interaction: discord.Interaction) -> str:
    return submitted_text(data_of(interaction))[:TEXT_LIMIT]


def clicked_label(message: discord.Message | None, custom_id: str) -> str | None:
    """The label of the button (or the button a form came from) on the notice."""
    if message is None:
        return None
    for row in message.components:
        for item in getattr(row, "children", ()):
            if getattr(item, "custom_id", None) == custom_id:
                return str(getattr(item, "label", None) or "") or None
    return None


async def mark_decided(interaction: discord.Interaction, button_id: str) -> None:
    """The notice the button was on loses its buttons and says who chose what."""
    message = interaction.message
    label = clicked_label(message, button_id)
    if message is None or label is None or not button_id.startswith(BUTTON):
        return
    content = f"{message.content}\n{label} — by {interaction.user.mention}"
    if len(content) > MESSAGE_LIMIT:
        content = content[: MESSAGE_LIMIT - 1] + "…"
    try:
        await message.edit(content=content, view=None, allowed_mentions=NO_PINGS)
    except discord.HTTPException as exc:
        log.info("could not mark a notice as decided (HTTP %s)", exc.status)
