"""CommandSpec -> Discord slash command, and an interaction back -> CommandInvocation.

discord.py builds slash commands from a callback's signature, so each spec gets a small callback
whose signature is written from the spec's params (types, choices, descriptions). Permission
*checks* stay in the core; `default_member_permissions` only hides moderator and admin commands
from members in Discord's command picker.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.events import actor_of, channel_ref, community_ref
from bot.model import Access, CommandInvocation, CommandSpec, ParamKind, ParamSpec

DESCRIPTION_LIMIT = 100  # Discord's limit for command and option descriptions
CommandCallback = Callable[[CommandSpec, discord.Interaction, dict[str, Any]], Awaitable[None]]

_ANNOTATIONS: dict[ParamKind, Any] = {
    ParamKind.TEXT: str,
    ParamKind.WORD: str,
    ParamKind.CHOICE: str,
    ParamKind.INTEGER: int,
    ParamKind.MEMBER: discord.User,  # a Member when resolved in a guild; only the id is used
    ParamKind.CHANNEL: app_commands.AppCommandChannel | app_commands.AppCommandThread,
}
_DEFAULT_PERMISSIONS = {
    Access.MODERATOR: discord.Permissions(manage_messages=True),
    Access.ADMIN: discord.Permissions(manage_guild=True),
}


def shorten(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_command(
    spec: CommandSpec, on_invoke: CommandCallback
) -> app_commands.Command[Any, ..., None]:
    """One slash command for one spec; every invocation goes to `on_invoke` with raw values."""

    async def invoke(interaction: discord.Interaction, **values: Any) -> None:
        await on_invoke(spec, interaction, values)

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for param in spec.params:
        annotation = _ANNOTATIONS[param.kind]
        parameters.append(
            inspect.Parameter(
                param.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=annotation if param.required else annotation | None,
                default=inspect.Parameter.empty if param.required else None,
            )
        )
    invoke.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    invoke.__name__ = invoke.__qualname__ = spec.name
    if spec.params:
        app_commands.describe(**{p.name: shorten(p.help) for p in spec.params})(invoke)
    choices = {p.name: _choices(p) for p in spec.params if p.kind is ParamKind.CHOICE and p.choices}
    if choices:
        app_commands.choices(**choices)(invoke)
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=spec.name, description=shorten(spec.help), callback=invoke
    )
    command.default_permissions = _DEFAULT_PERMISSIONS.get(spec.access)
    command.allowed_contexts = app_commands.AppCommandContext(
        guild=True, dm_channel=spec.direct_ok, private_channel=False
    )
    return command


def _choices(param: ParamSpec) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=c, value=c) for c in param.choices[:25]]


def invocation_from(
    spec: CommandSpec, interaction: discord.Interaction, values: dict[str, Any]
) -> CommandInvocation:
    """Option values become the strings the core's binder parses (ids for members/channels)."""
    args: list[tuple[str, str]] = []
    for name, value in values.items():
        if value is None:
            continue
        args.append((name, str(value.id) if hasattr(value, "id") else str(value)))
    guild_id = interaction.guild_id
    channel_id = interaction.channel_id
    self_id = interaction.client.user.id if interaction.client.user else None
    return CommandInvocation(
        name=spec.name,
        community=None if guild_id is None else community_ref(guild_id),
        channel=None
        if guild_id is None or channel_id is None
        else channel_ref(guild_id, channel_id),
        invoker=actor_of(interaction.user, self_id),
        args=tuple(args),
        reply_handle=interaction,
        event_id=str(interaction.id),
    )
