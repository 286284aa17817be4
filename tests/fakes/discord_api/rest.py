"""What every REST route of the loopback Discord shares: the prefix, the parsed body (the JSON,
or a multipart request's `payload_json`) and its uploaded files, ids from the path, exact JSON
responses, and the route table each resource adds to.

A handler takes an aiohttp request and returns the JSON body (None for 204) or raises `ApiError`;
`server.FakeDiscord` turns that into a response, records the request and applies injected faults.
State changes are echoed on the gateway (GUILD_MEMBER_UPDATE, CHANNEL_UPDATE, ...) as Discord does.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .errors import ApiError
from .gateway import Gateway
from .guilds import Guild
from .objects import Member, Upload

API = "/api/v10"
BODY: web.RequestKey[Any] = web.RequestKey(
    "body"
)  # the parsed JSON body, set by the server's middleware


FILES: web.RequestKey[list[Upload]] = web.RequestKey("files")  # the uploads, set likewise
Handler = Callable[[web.Request], Awaitable[Any]]
Route = tuple[str, str, Handler]  # method, path under API, handler


def json_response(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> web.Response:
    """Exactly `application/json`: aiohttp's json_response adds a charset discord.py rejects."""
    if body is None and status == 204:
        return web.Response(status=204, headers=headers)
    out = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(status=status, body=json.dumps(body).encode(), headers=out)


def path_id(request: web.Request, key: str) -> int:
    """A snowflake from the path; anything else is a 404, as Discord answers it."""
    try:
        return int(request.match_info[key])
    except ValueError:
        raise ApiError(404, 0, "404: Not Found") from None


class RestRoutes(Gateway):
    """The base of every resource's routes: each adds its own to `routes()`."""

    def routes(self) -> list[Route]:
        return []

    def add_routes(self, app: web.Application) -> None:
        for method, path, handler in self.routes():
            app.router.add_route(method, API + path, handler)

    def _guild(self, request: web.Request) -> tuple[Guild, Member]:
        guild = self.world.guild(path_id(request, "guild_id"))
        return guild, self.world.bot_member(guild)
