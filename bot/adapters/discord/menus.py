"""A command on a message's own menu (Apps → "Report message"), read from its spec.

For a spec with `message_menu`, a message context-menu entry is published beside the slash
commands. Used on a message, it asks for what the spec needs, in Discord's own forms:

1. the spec's first required choice, as a select menu in an ephemeral answer;
2. its text parameter, as a modal with one optional paragraph (what the member wants to add);
3. the command, handed to the core like a slash command, `about` the message (its author and
   the start of its text as the menu delivered them); the select now shows what was chosen
   (so it is not sent twice), and the core's answer follows.

A step is skipped when the spec has no such parameter. What the menu was used on lives in a
short, bounded memory keyed by the menu's interaction (`MenuUses`); the select and the form
carry that key in their custom ids. After a restart (or when it has aged out) the key finds
nothing, and the member is asked, in words, to use the menu again.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.answers import COMPONENT_PREFIX, NO_PINGS, data_of, shorten
from bot.adapters.discord.events import channel_ref, member_ref
from bot.adapters.discord.handover import Handover
from bot.adapters.discord.invocations import invocation_of
from bot.model import CommandInvocation, CommandSpec, MemberRef, MessageRef, ParamKind, ParamSpec

log = logging.getLogger(__name__)

PICK = f"{COMPONENT_PREFIX}/pick:"  # select: verifybot/pick:<command>:<use>
FORM = f"{COMPONENT_PREFIX}/form:"  # modal: verifybot/form:<command>:<use>:<choice index>
TEXT_INPUT_ID = "text"
USES_KEPT = 1000  # menus opened and not yet finished, most recent kept
USE_SECONDS = 30 * 60.0  # how long a member may take to finish what they started
ABOUT_TEXT_LIMIT = 1000  # the start of the message that travels with the command
TEXT_LIMIT = 1000  # what the member may add in the form
TITLE_LIMIT = 45  # Discord's limit for a modal's title and a field's label
NAME_LIMIT = 32  # Discord's limit for a menu entry's name
OPTIONS_LIMIT = 25  # Discord's limit for a select's options

STALE = (
    "This form is no longer open (the bot may have restarted, or it was left too long)."
    " Please use “{label}” on the message again."
)
NOT_YOURS = "This form belongs to someone else. Use “{label}” on the message yourself."

# hands a command to the core; True when it ran to the end (`commands.SlashCommands.run`)
Run = Callable[[str, discord.Interaction, CommandInvocation], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class MenuUse:
    """What a member used the menu on, until they finish the form."""

    command: str
    user_id: int
    about: MessageRef
    about_author: MemberRef | None
    about_text: str
    at: float


class MenuUses:
    """Bounded, short-lived memory of menus in progress (lost on restart, on purpose: it holds
    the start of someone's message)."""

    def __init__(self, size: int = USES_KEPT, seconds: float = USE_SECONDS) -> None:
        self._size, self._seconds = size, seconds
        self._uses: OrderedDict[int, MenuUse] = OrderedDict()

    def put(self, key: int, use: MenuUse) -> None:
        self._uses[key] = use
        while len(self._uses) > self._size:
            self._uses.popitem(last=False)

    def get(self, key: int) -> MenuUse | None:
        use = self._uses.get(key)
        if use is not None and time.monotonic() - use.at > self._seconds:
            del self._uses[key]
            return None
        return use

    def pop(self, key: int) -> None:
        self._uses.pop(key, None)


def choice_param(spec: CommandSpec) -> ParamSpec | None:
    """The choice the select asks for: the first required one that has choices."""
    return next(
        (p for p in spec.params if p.kind is ParamKind.CHOICE and p.required and p.choices), None
    )


def text_param(spec: CommandSpec) -> ParamSpec | None:
    return next((p for p in spec.params if p.kind is ParamKind.TEXT), None)


def read_pick(custom_id: str) -> tuple[str, int] | None:
    """The command and the menu use of a select of the bot's; None for any other id."""
    if not custom_id.startswith(PICK):
        return None
    command, _, key = custom_id.removeprefix(PICK).partition(":")
    return (command, int(key)) if command and key.isdigit() else None


def read_form(custom_id: str) -> tuple[str, int, int | None] | None:
    """The command, the menu use and the chosen option's index of a form of the bot's."""
    if not custom_id.startswith(FORM):
        return None
    parts = custom_id.removeprefix(FORM).split(":")
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
        return None
    index = int(parts[2]) if parts[2].isdigit() else None
    return parts[0], int(parts[1]), index


def submitted_text(data: Any) -> str:
    """The paragraph a modal submission carries, in a label (today) or an action row (before)."""
    rows = data.get("components") if isinstance(data, dict) else None
    for row in rows or []:
        inner: Iterable[Any] = [row.get("component")] if "component" in row else []
        for item in [*inner, *(row.get("components") or [])]:
            if isinstance(item, dict) and item.get("custom_id") == TEXT_INPUT_ID:
                return str(item.get("value") or "").strip()
    return ""


class MessageMenus:
    """The message menu entries of the known specs, and the steps after one is used."""

    def __init__(self, run: Run, handover: Handover) -> None:
        self._run = run  # hands an invocation to the core, answered once (commands.SlashCommands)
        self._handover = handover
        self._specs: dict[str, CommandSpec] = {}
        self.uses = MenuUses()

    def set_specs(self, specs: Sequence[CommandSpec]) -> None:
        self._specs = {s.name: s for s in specs if s.message_menu}

    def entries(self) -> list[tuple[CommandSpec, app_commands.ContextMenu]]:
        """One entry per spec with a `message_menu`, beside the spec it runs."""
        return [(spec, self._entry(spec)) for spec in self._specs.values()]

    def _entry(self, spec: CommandSpec) -> app_commands.ContextMenu:
        assert spec.message_menu is not None

        async def used(interaction: discord.Interaction, message: discord.Message) -> None:
            await self._handover.guard(
                f"the {spec.name} menu", self.used(spec, interaction, message)
            )

        return app_commands.ContextMenu(
            name=shorten(spec.message_menu, NAME_LIMIT),
            callback=used,
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=False, private_channel=False
            ),
        )

    # --- the steps ----------------------------------------------------------------------------

    async def used(
        self, spec: CommandSpec, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Step 1: remember the message, then ask for the choice (or go on to the next step)."""
        guild_id = interaction.guild_id if message.guild is None else message.guild.id
        if guild_id is None:
            return
        use = MenuUse(
            command=spec.name,
            user_id=interaction.user.id,
            about=MessageRef(channel_ref(guild_id, message.channel.id), str(message.id)),
            about_author=None if message.webhook_id else member_ref(message.author.id),
            about_text=message.content[:ABOUT_TEXT_LIMIT],
            at=time.monotonic(),
        )
        self.uses.put(interaction.id, use)
        choice = choice_param(spec)
        if choice is None:
            await self._after_choice(spec, interaction, interaction.id, use, None)
            return
        await interaction.response.send_message(
            f"{spec.message_menu}: choose {_lowered(choice.help).rstrip('.')}.",
            view=_pick_view(spec, choice, interaction.id),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    async def picked(self, interaction: discord.Interaction, command: str, key: int) -> None:
        """Step 2: the choice is made; open the form (or hand the command over)."""
        found = await self._in_progress(interaction, command, key)
        if found is None:
            return
        spec, use = found
        choice = choice_param(spec)
        values = data_of(interaction).get("values") or []
        if choice is None or not values or values[0] not in choice.choices:
            await self._say(interaction, STALE, spec)
            return
        await self._after_choice(spec, interaction, key, use, choice.choices.index(values[0]))

    async def _in_progress(
        self, interaction: discord.Interaction, command: str, key: int
    ) -> tuple[CommandSpec, MenuUse] | None:
        """The command and the menu use a select or form belongs to; None (and the member
        told why) when it outlived the bot's memory or is someone else's."""
        spec, use = self._specs.get(command), self.uses.get(key)
        if spec is None or use is None:
            await self._say(interaction, STALE, spec)
            return None
        if use.user_id != interaction.user.id:
            await self._say(interaction, NOT_YOURS, spec)
            return None
        return spec, use

    async def _after_choice(
        self,
        spec: CommandSpec,
        interaction: discord.Interaction,
        key: int,
        use: MenuUse,
        index: int | None,
    ) -> None:
        text = text_param(spec)
        if text is None:
            await self._hand_over(spec, interaction, key, use, index, "")
            return
        await interaction.response.send_modal(_form(spec, text, key, index))

    async def submitted(
        self, interaction: discord.Interaction, command: str, key: int, index: int | None
    ) -> None:
        """Step 3: the form is sent; the command goes to the core, about the message."""
        found = await self._in_progress(interaction, command, key)
        if found is None:
            return
        spec, use = found
        choice = choice_param(spec)
        if index is not None and (choice is None or index >= len(choice.choices)):
            await self._say(interaction, STALE, spec)  # the choices changed since
            return
        text = submitted_text(data_of(interaction))[:TEXT_LIMIT]
        await self._hand_over(spec, interaction, key, use, index, text)

    async def _hand_over(
        self,
        spec: CommandSpec,
        interaction: discord.Interaction,
        key: int,
        use: MenuUse,
        index: int | None,
        text: str,
    ) -> None:
        args: list[tuple[str, str]] = []
        choice, text_spec = choice_param(spec), text_param(spec)
        chosen = choice.choices[index] if choice is not None and index is not None else None
        if choice is not None and chosen is not None:
            args.append((choice.name, chosen))
        if text_spec is not None and text:
            args.append((text_spec.name, text))
        self.uses.pop(key)  # one command per use of the menu
        await _close_select(interaction, spec, chosen)
        invocation = invocation_of(
            interaction,
            spec.name,
            args=tuple(args),
            about=use.about,
            about_author=use.about_author,
            about_text=use.about_text,
        )
        await self._run(f"the {spec.name} menu", interaction, invocation)

    async def _say(
        self, interaction: discord.Interaction, words: str, spec: CommandSpec | None
    ) -> None:
        label = spec.message_menu if spec is not None and spec.message_menu else "the menu"
        await interaction.response.send_message(
            words.format(label=label), ephemeral=True, allowed_mentions=NO_PINGS
        )


def _lowered(help: str) -> str:
    """`What it is about` reads on after a colon as `what it is about` (not `URL`, `ID`)."""
    return help[:1].lower() + help[1:] if help[1:2].islower() else help


async def _close_select(
    interaction: discord.Interaction, spec: CommandSpec, chosen: str | None
) -> None:
    """The select the member chose in (when this step came from it) now shows the choice
    instead, so it cannot be sent twice; the core's answer follows it."""
    if interaction.message is None:
        return
    label = spec.message_menu or spec.name
    try:
        await interaction.response.edit_message(
            content=label if chosen is None else f"{label}: {chosen}", view=None
        )
    except discord.HTTPException as exc:
        log.info("could not close the select of the %s menu (HTTP %s)", spec.name, exc.status)


def _pick_view(spec: CommandSpec, choice: ParamSpec, key: int) -> discord.ui.View:
    """A select of the choice's options; a container only (stopped: read by custom id)."""
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Select(
            custom_id=f"{PICK}{spec.name}:{key}",
            placeholder=shorten(choice.help, 150),
            options=[
                discord.SelectOption(label=shorten(option, 100), value=option)
                for option in choice.choices[:OPTIONS_LIMIT]
            ],
        )
    )
    view.stop()
    return view


def _form(spec: CommandSpec, text: ParamSpec, key: int, index: int | None) -> discord.ui.Modal:
    """One paragraph for the text parameter; stopped before it is sent, read by custom id."""
    custom_id = f"{FORM}{spec.name}:{key}:{'' if index is None else index}"
    modal = discord.ui.Modal(
        title=shorten(spec.message_menu or spec.name, TITLE_LIMIT), custom_id=custom_id
    )
    modal.add_item(
        discord.ui.Label(
            text=shorten(text.help, TITLE_LIMIT),
            description=shorten(text.help) if len(text.help) > TITLE_LIMIT else None,
            component=discord.ui.TextInput(
                custom_id=TEXT_INPUT_ID,
                style=discord.TextStyle.paragraph,
                required=text.required,
                max_length=TEXT_LIMIT,
            ),
        )
    )
    modal.stop()
    return modal
