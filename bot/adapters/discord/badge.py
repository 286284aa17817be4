"""The badge on Discord: a role, found or created, checked against the role hierarchy, granted.

Whether the bot can manage the role is read from discord.py's cache before any request, so a
missing permission or a role placed above the bot's becomes one admin notice with the exact fix
instead of a storm of 403s. A change costs at most one request, paced inside Discord's advertised
limits (`pacing`): none when the member cache shows the badge already right (so a re-badge after
a restart skips what is done), and never a fetch of the member first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator

import discord

from bot.adapters.base import AdapterError
from bot.adapters.discord.admin_notices import AdminNotices
from bot.adapters.discord.client import GatewayClient
from bot.adapters.discord.events import community_ref, member_ref
from bot.adapters.discord.failures import failure_text
from bot.adapters.discord.fixes import cannot_create_role
from bot.adapters.discord.pacing import MemberRoles
from bot.adapters.discord.supervisor import ClientSupervisor
from bot.config import DiscordSettings
from bot.model import CommunityRef, MemberRef

log = logging.getLogger(__name__)
CHUNK_SECONDS = 60.0  # loading a large server's members over the gateway, once


def find_badge_role(guild: discord.Guild, name: str, known_id: int | None) -> discord.Role | None:
    """The badge role: the one used before if it still exists, else the oldest with the name."""
    if known_id is not None and (role := guild.get_role(known_id)) is not None:
        return role
    named = [r for r in guild.roles if r.name == name]
    return min(named, key=lambda r: r.id) if named else None


def badge_role_problems(guild: discord.Guild, role: discord.Role) -> list[str]:
    """Every reason the bot cannot give or take the badge role, each with the exact fix."""
    me = guild.me
    found: list[str] = []
    if not me.guild_permissions.manage_roles:
        found.append(
            f"I cannot give or take the {role.name} role: I lack the Manage Roles permission."
            f" Fix: Server Settings → Roles → {me.top_role.name} → turn on Manage Roles."
        )
    if role.managed:
        found.append(
            f"The role {role.name} belongs to an integration, so no bot can give it."
            f" Fix: rename or delete it, and I will create my own {role.name} role."
        )
    elif me.top_role <= role:
        found.append(
            f"I cannot give or take the {role.name} role: my highest role, {me.top_role.name},"
            f" is not above it. Fix: Server Settings → Roles, drag {me.top_role.name} above"
            f" {role.name} (or {role.name} below {me.top_role.name}), then run /badge again."
        )
    return found


def badge_role_problem(guild: discord.Guild, role: discord.Role) -> str | None:
    """The first reason the bot cannot give or take the badge role; None when it can."""
    found = badge_role_problems(guild, role)
    return found[0] if found else None


def verification_level_note(guild: discord.Guild, role_name: str) -> str | None:
    """Discord skips its server verification level for anyone holding a role; admins should know."""
    if guild.verification_level is discord.VerificationLevel.none:
        return None
    return (
        f"Note: this server's Discord verification level is {guild.verification_level.name}."
        f" Discord does not apply that level to members who hold any role, so members who get"
        f" the {role_name} role are exempt from it. If you rely on the level (for example a"
        " verified e-mail or phone), keep it in mind when choosing which checks earn the badge."
    )


class BadgeRole:
    """The badge role of every served guild: which role it is, and who gets it."""

    def __init__(
        self,
        clients: ClientSupervisor[GatewayClient],
        settings: DiscordSettings,
        admins: AdminNotices,
        roles: MemberRoles | None = None,
    ) -> None:
        self._clients = clients
        self._settings = settings
        self._admins = admins
        self.roles = roles or MemberRoles()
        self._known: dict[int, int] = {}  # guild -> the badge role's id
        self._creating: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def role(self, guild: discord.Guild) -> discord.Role:
        """The badge role, created (bottom of the list, no permissions) when missing."""
        name = self._settings.badge_role_name
        async with self._creating[guild.id]:
            role = find_badge_role(guild, name, self._known.get(guild.id))
            if role is None:
                role = await self._create(guild, name)
            self._known[guild.id] = role.id
            return role

    async def _create(self, guild: discord.Guild, name: str) -> discord.Role:
        if not guild.me.guild_permissions.manage_roles:
            raise await self._admins.refusal(
                guild, cannot_create_role(name, guild.me.top_role.name)
            )
        try:
            role = await guild.create_role(
                name=name,
                colour=discord.Colour.from_str(self._settings.badge_role_colour),
                permissions=discord.Permissions.none(),
                hoist=False,
                mentionable=False,
                reason="verifybot: the badge verified members carry",
            )
        except discord.HTTPException as exc:
            raise AdapterError(f"could not create the {name} role: {exc.text}") from exc
        log.info("created the %s role in %s", name, guild.id)
        return role

    def current(self, guild: discord.Guild) -> discord.Role | None:
        """The badge role as the cache shows it now; None until it exists (nothing created)."""
        return find_badge_role(guild, self._settings.badge_role_name, self._known.get(guild.id))

    async def prepare(self, guild: discord.Guild) -> None:
        """At start and on join: the badge role exists and can be managed, admins know caveats."""
        try:
            role = await self.role(guild)
        except AdapterError:
            return  # admins were told
        problem = badge_role_problem(guild, role)
        if problem is not None:
            await self._admins.notify(community_ref(guild.id), problem)
        note = verification_level_note(guild, role.name)
        if note is not None:
            await self._admins.tell_once(guild, "verification_level", note)

    async def set(self, member: MemberRef, community: CommunityRef, on: bool) -> None:
        """Give or take the badge role, after checking (from the cache) that the bot can."""
        guild = self._clients.guild(community)
        role = await self.role(guild)
        problem = badge_role_problem(guild, role)
        if problem is not None:
            raise await self._admins.refusal(guild, problem)
        user_id = int(member.id)
        target = guild.get_member(user_id)
        if target is not None and (target.get_role(role.id) is not None) == on:
            return  # already so: nothing to ask
        if target is None and guild.chunked:  # every member is cached: not in this server
            if on:
                raise AdapterError("the member is not in this server")
            return
        if on and target is not None and target.pending:
            # a role would let them past the server's membership screening; the badge is
            # given when they pass it (the intake hands that over as their arrival). Members
            # join into the cache (the members intent), so an uncached one is not asked about:
            # one request per badge, not a fetch first (see test_rebadge)
            log.info("badge in %s waits for a member to pass membership screening", guild.id)
            return
        try:
            await self.roles.change(
                self._clients.require(),
                guild.id,
                user_id,
                role.id,
                on=on,
                reason="verifybot: verified" if on else "verifybot: no longer verified",
            )
        except discord.NotFound as exc:
            if on:
                raise AdapterError("the member is not in this server") from exc
        except discord.Forbidden as exc:
            text = f"Discord refused to change the {role.name} role ({exc.text}). " + (
                badge_role_problem(guild, role) or "Check that my role is above it."
            )
            raise await self._admins.refusal(guild, text) from exc
        except discord.HTTPException as exc:
            raise AdapterError(failure_text(exc, f"change the {role.name} role")) from exc

    async def holders(self, community: CommunityRef) -> AsyncIterator[MemberRef]:
        """Members who carry the badge now (from the member cache), to reconcile at start.

        A server whose members are not all cached yet is loaded first with one gateway request,
        so the check that follows asks the cache, not Discord once per member."""
        guild = self._clients.guild(community)
        if not guild.chunked:
            with contextlib.suppress(TimeoutError, discord.ClientException):
                async with asyncio.timeout(CHUNK_SECONDS):
                    await guild.chunk()
        name = self._settings.badge_role_name
        role = find_badge_role(guild, name, self._known.get(guild.id))
        if role is None:
            return
        for holder in role.members:
            yield member_ref(holder.id)
