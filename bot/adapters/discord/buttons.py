"""Choices offered with a notice, as Discord buttons that still work after a restart.

A button's `custom_id` is the command it runs and its words (`verifybot:resolve 12 warned`), so
a click needs nothing the bot kept in memory: `components.Components` reads it back and hands
the core the command as the clicker's own, access checked as for any command. The buttons ride
on a `discord.ui.View` only as their container: it is stopped before it is sent, so discord.py
keeps no view (and no timeout) for it.

Discord allows 5 buttons a row, 25 a message and 100 characters of custom id; a choice that does
not fit is written under the text as the command to run instead, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.adapters.discord.answers import COMPONENT_PREFIX, shorten
from bot.model import Choice

BUTTONS_PER_ROW = 5
BUTTONS_PER_MESSAGE = 25
CUSTOM_ID_LIMIT = 100
LABEL_LIMIT = 80
BUTTON = f"{COMPONENT_PREFIX}:"


def button_id(choice: Choice) -> str:
    """`verifybot:<command> <word> …`: what the click runs, readable by any later process."""
    return BUTTON + " ".join([choice.command, *choice.words])


def read_button_id(custom_id: str) -> tuple[str, tuple[str, ...]] | None:
    """The command and words a button of the bot's runs; None for any other custom id."""
    if not custom_id.startswith(BUTTON):
        return None
    name, *words = custom_id.removeprefix(BUTTON).split()
    return (name, tuple(words)) if name else None


def typed(choice: Choice) -> str:
    return choice.typed("/")


def with_buttons(text: str, choices: Sequence[Choice]) -> tuple[str, discord.ui.View | None]:
    """The text to send and the buttons to put under it. Choices that cannot be buttons (too
    many, a custom id too long, the same command twice) are added to the text as commands."""
    if not choices:
        return text, None
    view = discord.ui.View(timeout=None)
    seen: set[str] = set()
    written: list[str] = []
    for choice in choices:
        custom_id = button_id(choice)
        fits = len(custom_id) <= CUSTOM_ID_LIMIT and len(seen) < BUTTONS_PER_MESSAGE
        if not fits or custom_id in seen or not choice.command:
            written.append(f"{choice.label}: {typed(choice)}")
            continue
        view.add_item(
            discord.ui.Button(
                label=shorten(choice.label or typed(choice), LABEL_LIMIT),
                custom_id=custom_id,
                style=discord.ButtonStyle.secondary,
                row=len(seen) // BUTTONS_PER_ROW,
            )
        )
        seen.add(custom_id)
    view.stop()  # a container only: clicks are read by custom id, not by this object
    if written:
        text = "\n".join([text, *written])
    return text, view if seen else None


def typed_choices(text: str, choices: Sequence[Choice]) -> str:
    """For a place without buttons (a direct message outside the server): the commands."""
    if not choices:
        return text
    return "\n".join([text, *(f"{choice.label}: {typed(choice)}" for choice in choices)])
