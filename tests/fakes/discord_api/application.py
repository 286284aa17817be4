"""The application: who the bot is (login), its commands (global and per guild; slash commands
and message menu entries) and its linked-role metadata.
"""

from __future__ import annotations

from aiohttp import web

from .objects import Json
from .rest import BODY, RestRoutes, Route


class ApplicationRoutes(RestRoutes):
    """Login and the application's commands; mixed into `FakeDiscord`."""

    def routes(self) -> list[Route]:
        apps = "/applications/{app_id}"
        return [
            *super().routes(),
            ("GET", "/users/@me", self._me),
            ("GET", "/gateway/bot", self._gateway_bot),
            ("GET", "/oauth2/applications/@me", self._application),
            ("PUT", f"{apps}/commands", self._put_commands),
            ("GET", f"{apps}/commands", self._get_commands),
            ("PUT", f"{apps}/guilds/{{guild_id}}/commands", self._put_commands),
            ("GET", f"{apps}/guilds/{{guild_id}}/commands", self._get_commands),
            ("PUT", f"{apps}/role-connections/metadata", self._put_role_metadata),
        ]

    def _bot_user(self) -> Json:
        return {**self.world.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0}

    async def _me(self, request: web.Request) -> Json:
        """The bot, or with a member's own OAuth2 token, that member."""
        user_id = self.bearer_user(request)  # type: ignore[attr-defined]
        if user_id is not None:
            return dict(self.world.users[user_id].payload())
        return self._bot_user()

    async def _gateway_bot(self, request: web.Request) -> Json:
        """Where to connect and how many shards Discord recommends (`shard_count`)."""
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return {
            "url": f"ws://127.0.0.1:{self.port}/gateway",
            "shards": self.shard_count,
            "session_start_limit": limit,
        }

    async def _application(self, request: web.Request) -> Json:
        return {
            "id": str(self.world.application_id),
            "name": self.world.bot.username,
            "icon": None,
            "description": "loopback application",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.world.owner.payload(),
            "flags": 1 << 19 | 1 << 15,  # GATEWAY_MESSAGE_CONTENT_LIMITED, GATEWAY_GUILD_MEMBERS
            "team": None,
            "bot": self.world.bot.payload(),
        }

    async def _put_commands(self, request: web.Request) -> list[Json]:
        guild_id = request.match_info.get("guild_id")
        if guild_id is not None:
            self.world.guild(int(guild_id))
        commands = []
        for spec in request[BODY]:
            command = {
                "id": str(self.world.snowflake()),
                "application_id": str(self.world.application_id),
                "version": str(self.world.snowflake()),
                "type": 1,
                "description": "",  # message and user menu entries have none; Discord sends ""
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                **spec,
            }
            if command["default_member_permissions"] is not None:  # Discord answers a string
                command["default_member_permissions"] = str(command["default_member_permissions"])
            if guild_id is not None:
                command["guild_id"] = guild_id
            commands.append(command)
        if guild_id is None:
            self.world.global_commands = commands
        else:
            self.world.guild_commands[int(guild_id)] = commands
        return commands

    async def _get_commands(self, request: web.Request) -> list[Json]:
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return self.world.global_commands
        return self.world.guild_commands.get(int(guild_id), [])

    async def _put_role_metadata(self, request: web.Request) -> list[Json]:
        self.world.role_connection_metadata = list(request[BODY])
        return self.world.role_connection_metadata
