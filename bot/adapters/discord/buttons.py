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


def written(choice: Choice) -> str:
    """`/resolve 12 warned — Warned`: as Matrix writes its choices, with Discord's prefix."""
    return f"{choice.typed('/')} — {choice.label}"


def with_buttons(text: str, choices: Sequence[Choice]) -> tuple[str, discord.ui.View | None]:
    """The text to send and the buttons to put under it. Choices that cannot be buttons (too
    many, a custom id too long) are added to the text as commands; the same command twice is
    one button."""
    if not choices:
        return text, None
    view = discord.ui.View(timeout=None)
    seen: set[str] = set()
    rest: list[str] = []
    for choice in choices:
        custom_id = button_id(choice)
        if custom_id in seen:
            continue
        if len(custom_id) > CUSTOM_ID_LIMIT or len(seen) >= BUTTONS_PER_MESSAGE:
            rest.append(written(choice))
            continue
        view.add_item(
            discord.ui.Button(
                label=shorten(choice.label or choice.typed("/"), LABEL_LIMIT),
                custom_id=custom_id,
                style=discord.ButtonStyle.secondary,
                row=len(seen) // BUTTONS_PER_ROW,
            )
        )
        seen.add(custom_id)
    view.stop()  # a container only: clicks are read by custom id, not by this object
    if rest:
        text = "\n".join([text, "Or run one of:", *rest])
    return text, view if seen else None


def typed_choices(text: str, choices: Sequence[Choice]) -> str:
    """For a place where buttons would not help (a direct message: the commands answer only
    in the server), the commands to run there."""
    if not choices:
        return text
    return "\n".join([text, "To answer, run one of these in the server:", *map(written, choices)])
