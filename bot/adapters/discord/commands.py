"""Slash commands: CommandSpec -> Discord command, published; an interaction -> the core.

A spec with a `message_menu` also gets an entry on messages' own menu (`menus`), published
with the slash commands and hidden from members the same way.

discord.py builds slash commands from a callback's signature, so each spec gets a small callback
whose signature is written from the spec's params (types, choices, descriptions). Permission
*checks* stay in the core; `default_member_permissions` only hides moderator and admin commands
from members in Discord's command picker. Discord drops an interaction left unanswered for 3 s,
so one the core is slow to answer is deferred ("thinking…") after `DEFER_AFTER`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord import answers
from bot.adapters.discord.answers import AnswerLocks, shorten
from bot.adapters.discord.client import GatewayClient
from bot.adapters.discord.handover import Handover
from bot.adapters.discord.invocations import invocation_of
from bot.adapters.discord.menus import MessageMenus
from bot.adapters.discord.supervisor import ClientSupervisor
from bot.config import DiscordSettings
from bot.model import Access, CommandInvocation, CommandSpec, ParamKind, ParamSpec

log = logging.getLogger(__name__)

DEFER_AFTER = 2.0  # seconds; Discord drops an interaction that is not answered within 3
MENU_NAME_LIMIT = 32  # Discord's limit for a menu entry's name
REPUBLISH_SECONDS = 60.0  # an outdated command publishes the commands again at most this often
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
    return invocation_of(interaction, spec.name, args=tuple(args))


class SlashCommands:
    """The commands published on Discord, and each invocation handed to the core."""

    def __init__(
        self,
        clients: ClientSupervisor[GatewayClient],
        settings: DiscordSettings,
        handover: Handover,
        locks: AnswerLocks,
    ) -> None:
        self._clients = clients
        self._settings = settings
        self._handover = handover
        self._locks = locks
        self._specs: list[CommandSpec] = []
        self.menus = MessageMenus(self.run, handover)
        self._published_again = -REPUBLISH_SECONDS
        self._tasks: set[asyncio.Task[None]] = set()

    async def register(self, specs: Sequence[CommandSpec]) -> None:
        """Publish slash commands (and message menu entries): to `command_guilds` at once if
        set, else globally (slow). With `command_guilds`, global commands an earlier set-up
        published are removed, or members would see every command twice."""
        self._specs = list(specs)
        self.menus.set_specs(self._specs)
        client = self._clients.require()
        self.fill_tree(client)
        await self._publish(client)
        if self._settings.command_guilds:
            await self._sync(client, None)  # the tree holds no global command: clears them
        if self._settings.linked_roles:
            await self._handover.guard("linked roles", self._register_linked_role(client))

    async def _publish(self, client: GatewayClient) -> None:
        targets: list[discord.Object | None] = [
            discord.Object(int(g)) for g in self._settings.command_guilds
        ] or [None]
        for guild in targets:
            await self._sync(client, guild)

    async def _sync(self, client: GatewayClient, guild: discord.Object | None) -> None:
        try:
            await client.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            log.error(
                "could not publish slash commands%s: %s. Fix: re-invite the bot with the"
                " applications.commands scope",
                f" to guild {guild.id}" if guild else "",
                exc,
            )

    def publish_again_soon(self) -> None:
        """A member used a command as it no longer is: publish the commands again, at most
        once a minute (`tree.AnsweringTree`)."""
        now = time.monotonic()
        if now - self._published_again < REPUBLISH_SECONDS:
            return
        self._published_again = now
        client = self._clients.client
        if client is not None:
            task = asyncio.create_task(self._handover.guard("publishing", self._publish(client)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def fill_tree(self, client: GatewayClient) -> None:
        """The client's command tree holds exactly the known specs (also a restarted client's)."""
        guilds = [discord.Object(int(g)) for g in self._settings.command_guilds]
        client.tree.clear_commands(guild=None)
        for guild in guilds:
            client.tree.clear_commands(guild=guild)
        entries: list[app_commands.Command[Any, ..., None] | app_commands.ContextMenu] = [
            build_command(spec, self._on_command) for spec in self._specs
        ]
        for spec, menu in [*self.menus.entries(), *self._user_menus()]:
            menu.default_permissions = _DEFAULT_PERMISSIONS.get(spec.access)
            entries.append(menu)
        for entry in entries:
            if guilds:
                client.tree.add_command(entry, guilds=guilds)
            else:
                client.tree.add_command(entry)

    def _user_menus(self) -> list[tuple[CommandSpec, app_commands.ContextMenu]]:
        """An entry on a member's own menu for each spec with a `user_menu`: the command runs
        naming that member, answered privately like the slash command."""
        found = []
        for spec in self._specs:
            param = next((p for p in spec.params if p.kind is ParamKind.MEMBER), None)
            if spec.user_menu is not None and param is not None:
                found.append((spec, self._user_menu(spec, spec.user_menu, param.name)))
        return found

    def _user_menu(self, spec: CommandSpec, label: str, param: str) -> app_commands.ContextMenu:
        async def used(
            interaction: discord.Interaction, member: discord.Member | discord.User
        ) -> None:
            invocation = invocation_of(interaction, spec.name, args=((param, str(member.id)),))
            await self.run(f"the {spec.name} menu", interaction, invocation)

        return app_commands.ContextMenu(
            name=shorten(label, MENU_NAME_LIMIT),
            callback=used,
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=False, private_channel=False
            ),
        )

    async def _register_linked_role(self, client: GatewayClient) -> None:
        """Role-connection metadata `verified` (boolean), so servers can require the badge.

        One-time setup: Developer Portal → General Information → Linked Roles Verification URL
        set to the bot's web address; then in a server, Roles → a role → Links → add verifybot.
        """
        route = discord.http.Route(
            "PUT",
            "/applications/{application_id}/role-connections/metadata",
            application_id=client.application_id,
        )
        record = {
            "type": 7,
            "key": "verified",
            "name": "Verified",
            "description": "Verified with verifybot",
        }
        await client.http.request(route, json=[record])

    async def _on_command(
        self, spec: CommandSpec, interaction: discord.Interaction, values: dict[str, Any]
    ) -> None:
        await self.run(f"/{spec.name}", interaction, invocation_from(spec, interaction, values))

    def spec(self, name: str) -> CommandSpec | None:
        return next((s for s in self._specs if s.name == name), None)

    async def run(
        self, what: str, interaction: discord.Interaction, invocation: CommandInvocation
    ) -> bool:
        """Hand a command to the core (from a slash command, a button or a message menu); defer
        if the core needs longer than Discord waits. True when the core ran it to the end."""
        lock = self._locks.open(interaction.id)
        deferral = asyncio.create_task(answers.defer_later(interaction, lock, DEFER_AFTER))
        ran = False

        async def command() -> None:
            nonlocal ran
            ran = await self._handover.command(invocation)

        try:
            await self._handover.guard(what, command())
        finally:
            deferral.cancel()
            self._locks.close(interaction.id)
        return ran
