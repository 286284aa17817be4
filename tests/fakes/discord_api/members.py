"""Guild members and roles: fetching a member, giving and taking roles, creating and editing
roles, with the role hierarchy (only roles below the bot's highest may be touched).
"""

from __future__ import annotations

from aiohttp import web

from .errors import ApiError
from .guilds import Guild
from .objects import Json, Role
from .permissions import Perm
from .rest import BODY, RestRoutes, Route, path_id


class MemberRoutes(RestRoutes):
    """Members' roles and the roles themselves; mixed into `FakeDiscord`."""

    def routes(self) -> list[Route]:
        return [
            *super().routes(),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self._add_member_role),
            (
                "DELETE",
                "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
                self._remove_member_role,
            ),
            ("GET", "/guilds/{guild_id}/roles", self._list_roles),
            ("POST", "/guilds/{guild_id}/roles", self._create_role),
            ("PATCH", "/guilds/{guild_id}/roles/{role_id}", self._edit_role),
        ]

    async def _get_member(self, request: web.Request) -> Json:
        guild, _ = self._guild(request)
        return guild.member(path_id(request, "user_id")).payload()

    async def _change_member_role(self, request: web.Request, add: bool) -> None:
        guild, bot = self._guild(request)
        member = guild.member(path_id(request, "user_id"))
        role = guild.role(path_id(request, "role_id"))
        guild.require(bot, Perm.MANAGE_ROLES)
        guild.require_above(bot, role)
        if role.managed_by_bot is not None or role.id == guild.id:
            raise ApiError(403, 50013, "Missing Permissions")
        if add == (role.id in member.roles):
            return
        if add:
            member.roles.append(role.id)
        else:
            member.roles.remove(role.id)
        await self.dispatch(
            "GUILD_MEMBER_UPDATE", {"guild_id": str(guild.id), **member.payload()}, guild
        )

    async def _add_member_role(self, request: web.Request) -> None:
        await self._change_member_role(request, add=True)

    async def _remove_member_role(self, request: web.Request) -> None:
        await self._change_member_role(request, add=False)

    async def _list_roles(self, request: web.Request) -> list[Json]:
        guild, _ = self._guild(request)
        return [r.payload() for r in guild.roles.values()]

    async def _role_event(self, event: str, guild: Guild, role: Role) -> None:
        await self.dispatch(event, {"guild_id": str(guild.id), "role": role.payload()}, guild)

    async def _create_role(self, request: web.Request) -> Json:
        """New roles go to the bottom (position 1), as on Discord; the others move up one."""
        guild, bot = self._guild(request)
        guild.require(bot, Perm.MANAGE_ROLES)
        body = request[BODY]
        perms = int(body.get("permissions") or 0)
        if perms & ~guild.base_permissions(bot):
            raise ApiError(403, 50013, "Missing Permissions")
        moved = [r for r in guild.roles.values() if r.id != guild.id]
        for other in moved:
            other.position += 1
        role = self.world.add_role(
            guild, body.get("name") or "new role", perms, position=1, colour=_colour(body),
            hoist=bool(body.get("hoist")), mentionable=bool(body.get("mentionable")),
        )  # fmt: skip
        await self._role_event("GUILD_ROLE_CREATE", guild, role)
        for other in moved:
            await self._role_event("GUILD_ROLE_UPDATE", guild, other)
        return role.payload()

    async def _edit_role(self, request: web.Request) -> Json:
        guild, bot = self._guild(request)
        role = guild.role(path_id(request, "role_id"))
        guild.require(bot, Perm.MANAGE_ROLES)
        guild.require_above(bot, role)
        body = request[BODY]
        if "name" in body:
            role.name = body["name"]
        if "color" in body or "colors" in body:
            role.colour = _colour(body)
        if "permissions" in body:
            role.permissions = int(body["permissions"])
        role.hoist = bool(body.get("hoist", role.hoist))
        role.mentionable = bool(body.get("mentionable", role.mentionable))
        await self._role_event("GUILD_ROLE_UPDATE", guild, role)
        return role.payload()


def _colour(body: Json) -> int:
    colours = body.get("colors")
    if isinstance(colours, dict):
        return int(colours.get("primary_color") or 0)
    return int(body.get("color") or 0)
