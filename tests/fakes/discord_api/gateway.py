"""The loopback Discord's gateway: one websocket per client, sequence numbers, RESUME, intents.

Each IDENTIFY opens a session that keeps every frame it was sent (or would have been sent while
the client was away), so a RESUME replays exactly what was missed. An IDENTIFY with
`shard: [id, count]` opens a shard's session, as on Discord: its READY lists only the guilds
with (guild_id >> 22) % count == id, each guild's events go only to the sessions of the shard
that owns it, and direct messages only to shard 0. What members do reaches the
gateway through `activity` (messages, reactions, joins) and `interactions` (slash commands).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .guilds import Guild
from .objects import Json
from .world import World

INTENT_BITS = {"guilds": 0, "members": 1, "messages": 9, "reactions": 10, "dm": 12}
DM_REACTIONS, MESSAGE_CONTENT, AUTOMOD_CONFIG, AUTOMOD_EXECUTION = 13, 15, 20, 21
PRIVILEGED_INTENTS = 1 << 1 | 1 << 8 | 1 << MESSAGE_CONTENT  # members, presences, content
GUILD_EVENTS = {
    "GUILD_CREATE",
    "GUILD_ROLE_CREATE",
    "GUILD_ROLE_UPDATE",
    "GUILD_ROLE_DELETE",
    "CHANNEL_UPDATE",
    "THREAD_CREATE",
}
MEMBER_EVENTS = {"GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE"}
# Close codes after which Discord keeps the session for a RESUME; after the others (4007 Invalid
# seq, 4009 Session timed out, and the fatal 4004, 4010-4014) it is gone: a RESUME is answered
# with INVALID_SESSION (d=false) and the client must IDENTIFY anew. Events meanwhile are lost.
RESUMABLE_CLOSE_CODES = frozenset({1000, 1001, 4000, 4001, 4002, 4003, 4005, 4008})


@dataclass
class Frame:
    """One dispatch the gateway sent (or queued, while the client was away)."""

    session_id: str
    seq: int
    event: str
    data: Json
    sent_at: float | None  # None while queued for a RESUME


@dataclass
class GatewaySession:
    id: str
    intents: int
    seq: int = 0
    frames: list[Frame] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    resumes: int = 0
    loaded: bool = False  # READY and every GUILD_CREATE sent
    shard: tuple[int, int] | None = None  # (id, count) from IDENTIFY; None: every guild

    def wants(self, bit: int) -> bool:
        return bool(self.intents & (1 << bit))

    def receives(self, guild_id: int | None) -> bool:
        """Whether Discord routes this guild's events (None: direct messages) to this session."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return shard_id == (0 if guild_id is None else (guild_id >> 22) % count)


class Gateway:
    """Gateway behaviour; the base of `FakeDiscord`, which provides these attributes."""

    world: World
    port: int
    shard_count: int
    heartbeat_interval_ms: int
    heartbeats: int
    identifies: int
    sessions: dict[str, GatewaySession]
    gateway_paths: list[str]
    identify_gate: asyncio.Event
    _notify: Callable[[], None]
    wait_until: Any
    _bot_user: Callable[[], Json]

    # --- the websocket -------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.gateway_paths.append(request.path)
        session: GatewaySession | None = None
        await ws.send_json(
            {
                "op": 10,
                "s": None,
                "t": None,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms},
            }
        )
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                op, data = payload.get("op"), payload.get("d")
                if op == 1:
                    self.heartbeats += 1
                    await ws.send_json({"op": 11, "s": None, "t": None, "d": None})
                elif op == 2:
                    session = await self._identify(ws, data)
                elif op == 6:
                    session = await self._resume(ws, data)
                elif op == 8 and session is not None:
                    await self._member_chunk(session, data)
                self._notify()
        finally:
            if session is not None and session.ws is ws:
                session.ws = None
            self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: Json) -> GatewaySession | None:
        if data.get("token") != self.world.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = int(data.get("intents", 0))
        if not self.world.privileged_intents and intents & PRIVILEGED_INTENTS:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        shard = data.get("shard")
        if shard is not None and not (
            isinstance(shard, list) and len(shard) == 2 and 0 <= int(shard[0]) < int(shard[1])
        ):
            await ws.close(code=4010, message=b"Invalid shard.")
            return None
        await self.identify_gate.wait()  # see `identify_held`
        self.identifies += 1
        session = GatewaySession(secrets.token_hex(16), intents, ws=ws)
        if shard is not None:
            session.shard = (int(shard[0]), int(shard[1]))
        self.sessions[session.id] = session
        guilds = [g for g in self.world.guilds.values() if session.receives(g.id)]
        ready = {
            "v": 10,
            "user": self._bot_user(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/resume",
            "application": {"id": str(self.world.application_id), "flags": 1 << 19},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            **({} if session.shard is None else {"shard": list(session.shard)}),
        }
        async with session.lock:  # nothing else may slip in before the guilds are loaded
            await self._send_locked(session, "READY", ready)
            for guild in guilds:
                payload = guild.payload(with_members=session.wants(INTENT_BITS["members"]))
                await self._send_locked(session, "GUILD_CREATE", payload)
            session.loaded = True
        self._notify()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: Json) -> GatewaySession | None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") != self.world.token:
            await ws.send_json({"op": 9, "s": None, "t": None, "d": False})
            return None
        async with session.lock:
            session.ws = ws
            session.resumes += 1
            missed = [f for f in session.frames if f.seq > int(data.get("seq") or 0)]
            for frame in missed:
                frame.sent_at = time.perf_counter()
                await ws.send_json({"op": 0, "s": frame.seq, "t": frame.event, "d": frame.data})
            await self._send_locked(session, "RESUMED", {})
        self._notify()
        return session

    async def _member_chunk(self, session: GatewaySession, data: Json) -> None:
        guild = self.world.guild(int(data["guild_id"]))
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.payload() for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": data.get("nonce"),
        }
        await self._send(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send(self, session: GatewaySession, event: str, data: Json) -> Frame:
        async with session.lock:
            frame = await self._send_locked(session, event, data)
        self._notify()
        return frame

    async def _send_locked(self, session: GatewaySession, event: str, data: Json) -> Frame:
        """Number the event and send it now, or keep it for a RESUME if the client is away."""
        session.seq += 1
        frame = Frame(session.id, session.seq, event, data, None)
        session.frames.append(frame)
        if session.ws is not None and not session.ws.closed:
            frame.sent_at = time.perf_counter()
            try:
                await session.ws.send_json({"op": 0, "s": frame.seq, "t": event, "d": data})
            except ConnectionError:
                frame.sent_at = None  # stays queued for the RESUME
        return frame

    def _intent_for(self, event: str, guild: Guild | None) -> int | None:
        if event in GUILD_EVENTS:
            return INTENT_BITS["guilds"]
        if event in MEMBER_EVENTS:
            return INTENT_BITS["members"]
        if event.startswith("MESSAGE_REACTION"):
            return INTENT_BITS["reactions"] if guild else DM_REACTIONS
        if event.startswith("MESSAGE_"):
            return INTENT_BITS["messages"] if guild else INTENT_BITS["dm"]
        if event.startswith("AUTO_MODERATION_RULE"):
            return AUTOMOD_CONFIG
        if event == "AUTO_MODERATION_ACTION_EXECUTION":
            return AUTOMOD_EXECUTION
        return None

    async def dispatch(self, event: str, data: Json, guild: Guild | None = None) -> list[Frame]:
        """Send an event to every identified session whose intents ask for it and whose shard
        owns the guild (direct messages: shard 0)."""
        frames = []
        bit = self._intent_for(event, guild)
        for session in list(self.sessions.values()):
            if bit is not None and not session.wants(bit):
                continue
            if not session.receives(None if guild is None else guild.id):
                continue
            out = data
            if (
                event == "MESSAGE_CREATE"
                and guild is not None
                and not session.wants(MESSAGE_CONTENT)
            ):
                mentioned = {m["id"] for m in data.get("mentions", [])}
                author = (data.get("author") or {}).get("id")  # a test may send a broken one
                bot = str(self.world.bot.id)
                if author != bot and bot not in mentioned:
                    out = {**data, "content": "", "embeds": [], "attachments": []}
            frames.append(await self._send(session, event, out))
        return frames

    # --- disconnects ---------------------------------------------------------------------------

    async def drop_gateway(self, code: int = 4000, *, shard: int | None = None) -> None:
        """Close every live gateway connection (or only `shard`'s), as a network blip or a
        Discord restart would.

        With a resumable code (4000) each session stays: a RESUME replays what was missed. With
        any other (4007, 4009, ...) the sessions end: events from now on reach only sessions
        identified later, and a RESUME is answered with INVALID_SESSION."""
        for session in list(self.sessions.values()):
            if shard is not None and (session.shard or (0, 1))[0] != shard:
                continue
            ws, session.ws = session.ws, None
            if code not in RESUMABLE_CLOSE_CODES:
                del self.sessions[session.id]
            if ws is not None:
                await ws.close(code=code)
        self._notify()

    @contextlib.asynccontextmanager
    async def identify_held(self) -> AsyncIterator[None]:
        """While inside, an IDENTIFY waits (Discord is slow to start a session), so what a test
        pushes meanwhile reaches no client, exactly as in the gap before a new session."""
        self.identify_gate.clear()
        try:
            yield
        finally:
            self.identify_gate.set()

    async def wait_for_sessions(self, count: int, *, within: float = 10.0) -> GatewaySession:
        """Wait until `count` clients have identified and received their guilds; the newest."""
        await self.wait_until(
            lambda: sum(s.loaded for s in self.sessions.values()) >= count,
            within=within,
            what=f"{count} identified gateway session(s)",
        )
        return list(self.sessions.values())[-1]

    async def wait_for_resume(self, resumes: int = 1, *, within: float = 10.0) -> None:
        await self.wait_until(
            lambda: any(s.resumes >= resumes and s.ws is not None for s in self.sessions.values()),
            within=within,
            what=f"{resumes} gateway RESUME(s)",
        )
