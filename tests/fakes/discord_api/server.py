"""A loopback Discord: the REST API under /api/v10 and a websocket gateway, in one aiohttp app.

`FakeDiscord` puts together the world (`world`), the gateway (`gateway`, `activity`,
`interactions`, `components`: clicks, choices and submitted forms), one module of REST routes
per resource (`application`, `channels`, `members`, `automod`) and the injected faults
(`faults`); it records every request.

What it fakes, well enough for the real discord.py 2.7 client:
- Gateway: HELLO, IDENTIFY -> READY (with a loopback ``resume_gateway_url``) and one GUILD_CREATE
  per guild (roles, channels, threads, members, member_count), heartbeats and ACKs, sequence
  numbers, RESUME replaying every event missed while disconnected, REQUEST_GUILD_MEMBERS, intents
  (events the client did not ask for are not sent; without MESSAGE_CONTENT, content is blanked),
  shards (IDENTIFY with ``shard``: READY and GUILD_CREATE for that shard's guilds only, each
  guild's events to its shard's sessions, direct messages to shard 0; ``GET /gateway/bot``
  advertises `shard_count`).
  Closes with resumable codes (4000) keep the session; others (4007, 4009, ...) end it, so a
  RESUME gets INVALID_SESSION and what happened meanwhile is never delivered. IDENTIFY can be
  held back (`identify_held`) to open such a gap on purpose.
- REST: login (``users/@me``, ``oauth2/applications/@me``), command sync (global and guild;
  slash commands and message menu entries), interaction callbacks (no Authorization header,
  ``?with_response=1``; messages, deferrals, forms) and follow-ups, with expiry (10062 for the
  response, 401/50027 for webhooks), multipart uploads (``payload_json`` and ``files[n]``, kept
  in ``world.uploads``), components (buttons, selects) on messages, messages (one, or history with
  ``limit``/``after``/``before``, newest first, without the gateway-only ``member``/``guild_id``),
  reactions, member roles, roles, channel permission overwrites, AutoMod rules, DMs, linked-role
  metadata. State changes are echoed on the gateway as Discord does (GUILD_MEMBER_UPDATE, ...).
- Rules: Discord's permission arithmetic, role hierarchy (403/50013), unknown objects (404 with
  Discord's codes), AutoMod limits and blocking of matching messages, rate limits with Discord's
  headers and a ``Via`` header (discord.py takes a 429 without one for a Cloudflare ban): buckets
  a test switches on, or Discord's own (`enforce_rate_limits`: the global limit and the
  member-role bucket), every 429 counted (`too_many`);
  injected failures (`fail_next`: any status, Discord's error code) and slow answers (`delay_next`).
- Every response is ``Content-Type: application/json`` exactly; with a charset discord.py reads
  the body as text. Every request is recorded (method, path, arrival time, body, status).

What it does not fake: compression (text frames only), voice, presences, audit logs,
message edits by users, guild/channel creation over REST, a file's URL
(uploads are kept in `world.uploads`, not served).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from .activity import MemberActivity
from .application import ApplicationRoutes
from .automod import AutoModRoutes
from .channels import ChannelRoutes
from .components import ComponentActivity
from .errors import ApiError
from .faults import Delay, Failure, FaultControls, GlobalLimit, RateLimit
from .gateway import GatewaySession
from .interactions import InteractionRecord
from .members import MemberRoutes
from .oauth import OAuthRoutes, OAuthState
from .objects import Json, Upload, User
from .rest import API, BODY, FILES, Handler, json_response
from .world import World


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    at: float  # time.perf_counter() on arrival
    authorized: bool
    reason: str | None
    status: int | None = None
    files: list[Upload] = field(default_factory=list)  # multipart uploads, in order


class FakeDiscord(
    OAuthRoutes,
    ApplicationRoutes,
    ComponentActivity,
    ChannelRoutes,
    MemberRoutes,
    AutoModRoutes,
    MemberActivity,
    FaultControls,
):
    """The loopback Discord server. Build `world`, `await start()`, point discord.py at it."""

    def __init__(
        self,
        world: World | None = None,
        *,
        heartbeat_interval_ms: int = 41_250,
        shard_count: int = 1,
    ) -> None:
        self.world = world or World()
        self.oauth = OAuthState()
        self.shard_count = shard_count  # what GET /gateway/bot recommends
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.requests: list[RecordedRequest] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.interactions: dict[int, InteractionRecord] = {}
        self.heartbeats = 0
        self.identifies = 0
        self.gateway_paths: list[str] = []  # which URL each gateway connection used
        self.automod_blocks: list[Json] = []
        self._limits: list[RateLimit] = []
        self.global_limit: GlobalLimit | None = None  # on with `enforce_rate_limits()`
        self.too_many = 0
        self._failures: list[Failure] = []
        self._delays: list[Delay] = []
        self.identify_gate = asyncio.Event()
        self.identify_gate.set()
        self._pulse = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.app = web.Application(middlewares=[self._middleware])
        self.app.router.add_get("/gateway", self._gateway)
        self.app.router.add_get("/resume", self._gateway)
        self.add_routes(self.app)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for session in self.sessions.values():
            if session.ws is not None:
                await session.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # --- waiting and asserting (tests) ------------------------------------------------------

    def _notify(self) -> None:
        self._pulse.set()
        self._pulse = asyncio.Event()

    async def wait_until(
        self, predicate: Callable[[], Any], *, within: float = 5.0, what: str = ""
    ) -> Any:
        """Wait, bounded, until `predicate()` is truthy; re-checked after every request or frame."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not (result := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {within}s waiting for {what or predicate}")
            pulse = self._pulse
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pulse.wait(), remaining)
        return result

    def find_requests(self, method: str, path: str) -> list[RecordedRequest]:
        """Answered requests whose path fully matches the regular expression `path`."""
        pattern = re.compile(path)
        return [
            r
            for r in self.requests
            if r.method == method and r.status is not None and pattern.fullmatch(r.path)
        ]

    async def wait_for_request(
        self, method: str, path: str, *, count: int = 1, within: float = 5.0
    ) -> RecordedRequest:
        def enough() -> list[RecordedRequest] | None:
            found = self.find_requests(method, path)
            return found if len(found) >= count else None

        found = await self.wait_until(enough, within=within, what=f"{count}x {method} {path}")
        return found[count - 1]  # type: ignore[no-any-return]

    def bot_messages(self, channel_id: int | None = None) -> list[Json]:
        """Messages the bot created over REST (channel posts, DMs), oldest first."""
        return [
            m
            for m in self.world.messages.values()
            if int(m["author"]["id"]) == self.world.bot.id
            and (channel_id is None or int(m["channel_id"]) == channel_id)
            and m.get("type") == 0
        ]

    def dm_messages(self, user: User) -> list[Json]:
        channel = next((c for c in self.world.dm_channels.values() if c.recipient is user), None)
        return [] if channel is None else self.bot_messages(channel.id)

    # --- HTTP plumbing ----------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API):
            gateway: web.StreamResponse = await handler(request)
            return gateway
        path = request.path[len(API) :]
        body: Any = None
        files: list[Upload] = []
        if request.content_type == "multipart/form-data":
            body, files = await _multipart(request)
        elif request.can_read_body:
            raw = await request.read()
            body = json.loads(raw) if request.content_type == "application/json" else raw.decode()
        reason = request.headers.get("X-Audit-Log-Reason")
        token_in_url = path.startswith(("/interactions/", "/webhooks/"))
        authorized = request.headers.get("Authorization") == f"Bot {self.world.token}"
        # a member's own token, or the application's credentials (checked by the route)
        authorized |= path == "/oauth2/token" or self.bearer_user(request) is not None
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            body=body,
            at=time.perf_counter(),
            authorized=authorized,
            reason=None if reason is None else unquote(reason),
            files=files,
        )
        self.requests.append(record)
        self._notify()  # arrival counts too: a test may wait for a request still being answered
        request[BODY] = body
        request[FILES] = files
        response = await self._answer(request, handler, path, token_in_url or authorized)
        record.status = response.status
        self.too_many += int(response.status == 429)
        self._notify()
        return response

    async def _answer(
        self, request: web.Request, handler: Handler, path: str, authorized: bool
    ) -> web.StreamResponse:
        if not authorized:
            return json_response(401, {"message": "401: Unauthorized", "code": 0})
        injected = await self._injected(request, path)
        if injected is not None:
            return injected
        headers, too_many = self._rate_limited(request, path)
        if too_many is not None:
            return too_many
        try:
            result = await handler(request)
        except ApiError as exc:
            return json_response(exc.status, exc.body(), headers)
        if isinstance(result, web.StreamResponse):
            return result
        return json_response(204 if result is None else 200, result, headers)


async def _multipart(request: web.Request) -> tuple[Any, list[Upload]]:
    """discord.py's upload: `payload_json` (the JSON body) and `files[n]` fields, in order."""
    form = await request.post()
    body: Any = json.loads(str(form["payload_json"])) if "payload_json" in form else None
    files = [
        Upload(value.filename, value.file.read())
        for name, value in form.items()
        if name.startswith("files[") and isinstance(value, web.FileField)
    ]
    return body, files
