"""The loopback Discord's gateway: one websocket per client, sequence numbers, RESUME, intents.

Each IDENTIFY opens a session that keeps every frame it was sent (or would have been sent while
the client was away), so a RESUME replays exactly what was missed. Tests push member activity
(messages, reactions, joins, slash commands) through the `push_*` helpers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .state import Channel, Guild, Json, User, World

EPHEMERAL = 1 << 6
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
class Pushed:
    """What a test pushed: the payload, and when its first frame left the gateway."""

    event: str
    data: Json
    frames: list[Frame]
    blocked_by: Json | None = None  # an AutoMod rule that stopped the message

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def sent_at(self) -> float:
        times = [f.sent_at for f in self.frames if f.sent_at is not None]
        assert times, f"{self.event} was not sent to any connected client"
        return min(times)


@dataclass
class InteractionRecord:
    id: int
    token: str
    guild_id: int | None
    channel_id: int
    user_id: int
    replies: list[Json] = field(default_factory=list)  # {"kind", "content", "ephemeral", ...}
    expires_after: int | None = None  # the token stops working once this many replies exist

    @property
    def acknowledged(self) -> bool:
        return any(r["kind"] == "callback" for r in self.replies)

    @property
    def expired(self) -> bool:
        """Past its window: 3 s unanswered, or 15 minutes for follow-ups (see `expire`)."""
        return self.expires_after is not None and len(self.replies) >= self.expires_after

    def expire(self, *, after_replies: int = 0) -> None:
        """Let the token's time run out once `after_replies` replies went through: then the
        response is refused with Unknown Interaction (10062, 404) and every webhook request with
        Invalid Webhook Token (50027, 401), as Discord does."""
        self.expires_after = after_replies


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

    def wants(self, bit: int) -> bool:
        return bool(self.intents & (1 << bit))


class Gateway:
    """Gateway behaviour; mixed into `FakeDiscord`, which provides these attributes."""

    world: World
    port: int
    heartbeat_interval_ms: int
    heartbeats: int
    identifies: int
    sessions: dict[str, GatewaySession]
    interactions: dict[int, InteractionRecord]
    gateway_paths: list[str]
    automod_blocks: list[Json]
    identify_gate: asyncio.Event
    _notify: Callable[[], None]
    wait_until: Any
    automod_verdict: Any
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
        await self.identify_gate.wait()  # see `identify_held`
        self.identifies += 1
        session = GatewaySession(secrets.token_hex(16), intents, ws=ws)
        self.sessions[session.id] = session
        ready = {
            "v": 10,
            "user": self._bot_user(),
            "guilds": [{"id": str(g), "unavailable": True} for g in self.world.guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/resume",
            "application": {"id": str(self.world.application_id), "flags": 1 << 19},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
        }
        async with session.lock:  # nothing else may slip in before the guilds are loaded
            await self._send_locked(session, "READY", ready)
            for guild in self.world.guilds.values():
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
        """Send an event to every identified session whose intents ask for it."""
        frames = []
        bit = self._intent_for(event, guild)
        for session in list(self.sessions.values()):
            if bit is not None and not session.wants(bit):
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

    # --- pushing member activity (tests) -------------------------------------------------------

    async def push_message(
        self,
        channel: Channel,
        author: User,
        content: str,
        *,
        reply_to: Json | None = None,
        mentions: Iterable[User] = (),
        attachments: int = 0,
        ping_reply: bool = True,
        referenced: str = "resolved",
    ) -> Pushed:
        """A member posts. AutoMod applies first, as on Discord: a blocked message never arrives.

        `referenced`: how Discord fills a reply's `referenced_message` ("resolved", "missing" or
        "deleted"; see `World.message_payload`)."""
        guild, channel = self.world.locate_channel(channel.id)
        mentions = tuple(mentions)
        if guild is not None:
            rule = self.automod_verdict(guild, channel, author, content, len(mentions))
            if rule is not None:
                execution = {
                    "guild_id": str(guild.id), "rule_id": rule["id"],
                    "rule_trigger_type": rule["trigger_type"], "user_id": str(author.id),
                    "channel_id": str(channel.id), "content": content,
                    "action": {"type": 1, "metadata": {}}, "matched_keyword": None,
                    "matched_content": None,
                }  # fmt: skip
                self.automod_blocks.append(execution)
                frames = await self.dispatch("AUTO_MODERATION_ACTION_EXECUTION", execution, guild)
                return Pushed("AUTO_MODERATION_ACTION_EXECUTION", execution, frames, rule)
        data = self.world.message_payload(
            channel, author, content, reply_to=reply_to, mentions=mentions,
            attachments=attachments, ping_reply=ping_reply, referenced=referenced,
        )  # fmt: skip
        return Pushed("MESSAGE_CREATE", data, await self.dispatch("MESSAGE_CREATE", data, guild))

    def _reaction_payload(self, message: Json, user_id: int, emoji: str) -> Json:
        data: Json = {
            "user_id": str(user_id),
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "emoji": {"id": None, "name": emoji},
            "type": 0,
            "burst": False,
        }
        if "guild_id" in message:
            data["guild_id"] = message["guild_id"]
        return data

    async def push_reaction(
        self, message: Json, user: User, emoji: str, *, with_author: bool = True
    ) -> Pushed:
        """A member reacts. `message_author_id` is optional in Discord's payload;
        `with_author=False` leaves it out, as Discord sometimes does."""
        guild, _ = self.world.locate_channel(int(message["channel_id"]))
        self.world.reactions.setdefault(int(message["id"]), set()).add((emoji, user.id))
        data = self._reaction_payload(message, user.id, emoji)
        data.update(burst_colors=[])
        if with_author:
            data["message_author_id"] = message["author"]["id"]
        if guild is not None:
            data["member"] = guild.member(user.id).payload()
        return Pushed(
            "MESSAGE_REACTION_ADD", data, await self.dispatch("MESSAGE_REACTION_ADD", data, guild)
        )

    async def push_member_join(self, guild: Guild, user: User) -> Pushed:
        member = self.world.add_member(guild, user)
        data = {"guild_id": str(guild.id), **member.payload()}
        return Pushed(
            "GUILD_MEMBER_ADD", data, await self.dispatch("GUILD_MEMBER_ADD", data, guild)
        )

    async def push_member_leave(self, guild: Guild, user: User) -> Pushed:
        guild.members.pop(user.id, None)
        data = {"guild_id": str(guild.id), "user": user.payload()}
        return Pushed(
            "GUILD_MEMBER_REMOVE", data, await self.dispatch("GUILD_MEMBER_REMOVE", data, guild)
        )

    async def push_guild_join(self, guild: Guild) -> Pushed:
        """The bot was added to `guild` (already in the world, with the bot as a member)."""
        data = guild.payload(with_members=True)
        del data["unavailable"]  # present only when an outage ends; discord.py tells them apart
        return Pushed("GUILD_CREATE", data, await self.dispatch("GUILD_CREATE", data, guild))

    async def push_thread(self, guild: Guild, parent: Channel, owner: User, name: str) -> Channel:
        thread = self.world.add_thread(guild, parent, owner, name)
        await self.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True}, guild)
        return thread

    async def push_command(
        self, guild: Guild, channel: Channel, user: User, name: str, /, **options: Any
    ) -> InteractionRecord:
        """A member runs a registered slash command; fails loudly if the bot never synced it."""
        registered = self.world.guild_commands.get(guild.id, []) + self.world.global_commands
        command = next((c for c in registered if c["name"] == name), None)
        assert command is not None, (
            f"/{name} was never registered (have {[c['name'] for c in registered]})"
        )
        member = guild.member(user.id)
        resolved: Json = {"users": {}, "members": {}, "channels": {}}
        given = []
        for spec in command.get("options") or []:
            if spec["name"] not in options:
                assert not spec.get("required"), f"/{name} needs option {spec['name']}"
                continue
            value = options.pop(spec["name"])
            if spec["type"] == 6:  # USER
                target = guild.member(value.id)
                resolved["users"][str(value.id)] = value.payload()
                perms = guild.base_permissions(target)
                resolved["members"][str(value.id)] = target.payload(
                    with_user=False, permissions=perms
                )
                value = str(value.id)
            elif spec["type"] == 7:  # CHANNEL
                resolved["channels"][str(value.id)] = {
                    **value.payload(),
                    "permissions": str(1 << 10),
                }
                value = str(value.id)
            given.append({"name": spec["name"], "type": spec["type"], "value": value})
        assert not options, f"/{name} has no options {sorted(options)}"
        record = InteractionRecord(
            self.world.snowflake(), secrets.token_urlsafe(24), guild.id, channel.id, user.id
        )
        self.interactions[record.id] = record
        bot = self.world.bot_member(guild)
        data: Json = {
            "id": str(record.id),
            "application_id": str(self.world.application_id),
            "type": 2,
            "token": record.token,
            "version": 1,
            "guild_id": str(guild.id),
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "locale": "en-US",
            "guild_locale": "en-US",
            "member": member.payload(permissions=guild.channel_permissions(member, channel)),
            "app_permissions": str(guild.channel_permissions(bot, channel)),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            "data": {
                "id": command["id"],
                "name": name,
                "type": 1,
                "guild_id": command.get("guild_id"),
                "options": given,
                "resolved": resolved,
            },
        }
        await self.dispatch("INTERACTION_CREATE", data, guild)
        return record

    # --- disconnects ---------------------------------------------------------------------------

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close every live gateway connection, as a network blip or a Discord restart would.

        With a resumable code (4000) each session stays: a RESUME replays what was missed. With
        any other (4007, 4009, ...) the sessions end: events from now on reach only sessions
        identified later, and a RESUME is answered with INVALID_SESSION."""
        for session in list(self.sessions.values()):
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
