"""Choices offered with a notice, as Discord buttons that still work after a restart.

A button's `custom_id` is the command it runs and its words (`verifybot:resolve 12 warned`), so
a click needs nothing the bot kept in memory: `components.Components` reads it back and hands
the core the command as the clicker's own, access checked as for any command. The buttons ride
on a `discord.ui.View` only as their container: it is stopped before it is sent, so discord.py
keeps no view (and no timeout) for it.

A decision's buttons (`verifybot:`) go once one is taken (`asks.mark_decided`); a standing
offer's (`verifybot/stay:`, a panel's) stay, and choices sharing a `group` become one select
(`verifybot/one:<command> <shared words>`, the chosen option's words follow).

Discord allows 5 rows, 5 buttons a row, 25 options a select and 100 characters of custom id; a
choice that does not fit is written under the text as the command to run instead, never
dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.adapters.discord.answers import COMPONENT_PREFIX, shorten
from bot.model import Choice

BUTTONS_PER_ROW = 5
BUTTONS_PER_MESSAGE = 25
ROWS = 5
CUSTOM_ID_LIMIT = 100
LABEL_LIMIT = 80
OPTIONS_LIMIT = 25
BUTTON = f"{COMPONENT_PREFIX}:"  # a decision: the notice loses its buttons once it is taken
STAY = f"{COMPONENT_PREFIX}/stay:"  # a standing offer (a panel): the message keeps it
ONE = f"{COMPONENT_PREFIX}/one:"  # a standing pick among a group: the chosen words follow


def button_id(choice: Choice) -> str:
    """`verifybot:<command> <word> …`: what the click runs, readable by any later process."""
    return (STAY if choice.stays else BUTTON) + " ".join([choice.command, *choice.words])


def read_button_id(custom_id: str) -> tuple[str, tuple[str, ...]] | None:
    """The command and words a button of the bot's runs; None for any other custom id."""
    for prefix in (BUTTON, STAY):
        if custom_id.startswith(prefix):
            name, *words = custom_id.removeprefix(prefix).split()
            return (name, tuple(words)) if name else None
    return None


def read_pick_one(custom_id: str, values: object) -> tuple[str, tuple[str, ...]] | None:
    """The command a group's select runs: its words, then the chosen option's."""
    if not custom_id.startswith(ONE) or not isinstance(values, list) or len(values) != 1:
        return None
    name, *words = custom_id.removeprefix(ONE).split()
    return (name, (*words, *str(values[0]).split())) if name else None


def written(choice: Choice) -> str:
    """`/resolve 12 warned — Warned`: as Matrix writes its choices, with Discord's prefix."""
    return f"{choice.typed('/')} — {choice.label}"


def with_buttons(text: str, choices: Sequence[Choice]) -> tuple[str, discord.ui.View | None]:
    """The text to send and the buttons (and, for a group, a select) to put under it. Choices
    that cannot be shown so (too many, a custom id too long) are added to the text as commands;
    the same command twice is one button."""
    if not choices:
        return text, None
    view = discord.ui.View(timeout=None)
    groups: dict[tuple[str, str], list[Choice]] = {}
    for choice in choices:
        if choice.group:
            groups.setdefault((choice.group, choice.command), []).append(choice)
    limit = min(BUTTONS_PER_MESSAGE, (ROWS - len(groups)) * BUTTONS_PER_ROW)
    seen: set[str] = set()
    rest: list[str] = []
    for choice in choices:
        custom_id = button_id(choice)
        if choice.group or custom_id in seen:
            continue
        if len(custom_id) > CUSTOM_ID_LIMIT or len(seen) >= limit:
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
    row = -(-len(seen) // BUTTONS_PER_ROW)
    for (group, command), members in groups.items():
        select = _select(group, command, members, row)
        if select is None:
            rest.extend(map(written, members))
            continue
        view.add_item(select)
        row += 1
    view.stop()  # a container only: clicks are read by custom id, not by this object
    if rest:
        text = "\n".join([text, "Or run one of:", *rest])
    return text, view if view.children else None


def _select(
    group: str, command: str, members: list[Choice], row: int
) -> discord.ui.Select[discord.ui.View] | None:
    """One pick among a group's choices: the words they share go in the custom id, the rest
    is each option's value. None when it cannot be one (too many, too long, a row too many)."""
    common = list(members[0].words)
    for choice in members[1:]:
        while common and list(choice.words[: len(common)]) != common:
            common.pop()
    custom_id = ONE + " ".join([command, *common])
    values = [" ".join(c.words[len(common) :]) for c in members]
    if (
        row >= ROWS
        or len(custom_id) > CUSTOM_ID_LIMIT
        or len(members) > OPTIONS_LIMIT
        or not all(values)
        or len(set(values)) != len(values)
    ):
        return None
    return discord.ui.Select(
        custom_id=custom_id,
        placeholder=shorten(group, 150),
        options=[
            discord.SelectOption(label=shorten(c.label, 100), value=v)
            for c, v in zip(members, values, strict=True)
        ],
        row=row,
    )


def typed_choices(text: str, choices: Sequence[Choice]) -> str:
    """For a place where buttons would not help (a direct message: the commands answer only
    in the server), the commands to run there."""
    if not choices:
        return text
    return "\n".join([text, "To answer, run one of these in the server:", *map(written, choices)])
