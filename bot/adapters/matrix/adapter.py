"""The Matrix adapter: matrix-nio in, neutral events out; neutral actions in, Matrix calls out.

Shape of the work:
* one sync loop long-polls the homeserver, keeps room state (`RoomFacts`) current, translates each
  timeline event into a neutral event and queues it on its room's ordered queue (`RoomQueues`);
* a worker per room hands events and commands to the core, so a slow action never stalls sync;
* the sync token is stored only after every event of its batch was handled (at-least-once); the
  core's actions are idempotent by event id, so a restart neither misses nor doubles anything.

The badge is a power level (default 1) in the community's rooms plus membership (an invitation) in
the community's Verified space; the space is the record of who holds a badge, and restricted join
rules name it for `verified_only`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlencode

import aiohttp
import nio

from bot.adapters.base import AdapterError, AdapterState, Capabilities, EventSink
from bot.adapters.matrix import translate as tr
from bot.adapters.matrix.communities import CommunityIndex, build_index
from bot.adapters.matrix.invites import may_accept
from bot.adapters.matrix.notices import (
    cannot_join,
    encrypted_room,
    missing_power,
    power_levels_size,
    room_label,
    verified_space_missing,
)
from bot.adapters.matrix.pins import VerificationPins
from bot.adapters.matrix.power import (
    PowerLevelEditor,
    RoomSettings,
    policy_settings,
)
from bot.adapters.matrix.power import error_text as _error_text
from bot.adapters.matrix.power import is_error as _is_error
from bot.adapters.matrix.queue import Batch, Job, QueueStats, RoomQueues
from bot.adapters.matrix.rooms import RoomFacts
from bot.config import CommunitySettings, Config, MatrixSettings
from bot.model import (
    Access,
    Actor,
    ChannelRef,
    CommandInvocation,
    CommandSpec,
    CommunityAdded,
    CommunityRef,
    Event,
    MemberJoined,
    MemberRef,
    MessagePosted,
    MessageRef,
    Network,
    ReactionAdded,
    Role,
    UnverifiedPolicy,
)

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]

SYNC_TOKEN_KEY = "sync_token"
DM_ROOMS_KEY = "dm_rooms"
# What we ask sync for: no presence or account data; enough timeline that a short outage needs no
# backfill; every member's state (we judge power and membership ourselves).
SYNC_FILTER: JsonDict = {
    "presence": {"types": []},
    "account_data": {"types": []},
    "room": {
        "timeline": {"limit": 50},
        "state": {"lazy_load_members": False},
        "ephemeral": {"types": []},
        "account_data": {"types": []},
    },
}
_INVITES_QUEUE = "~invites"  # invites are not a room's events; they share one ordered queue
_AUTHOR_CACHE = 20_000
_BACKFILL_PAGES = 20


@dataclass(frozen=True, slots=True)
class ReplyHandle:
    """Where a command came from, so the answer goes back there (or to the invoker's DM).

    `direct`: the invoker's DM room, where every answer goes. `management`: a moderators' room,
    where answers to moderator commands go so the other moderators see them; a member's own
    private answers (a verify link) still go to their DM.
    """

    room_id: str
    event_id: str
    direct: bool
    management: bool = False


def _source(event: Any) -> JsonDict:
    """The raw JSON of a nio event: we read that, not nio's partial event classes.

    nio takes `content` out of the source of some events (invite state), so it is put back.
    """
    source = getattr(event, "source", None)
    if not isinstance(source, dict):
        return {}
    content = getattr(event, "content", None)
    if "content" not in source and isinstance(content, dict):
        return {**cast(JsonDict, source), "content": content}
    return cast(JsonDict, source)


class _CountingClient(nio.AsyncClient):  # type: ignore[misc]
    """nio's client, counting the connection failures it rides out (the homeserver away):
    nio retries them inside its own requests, where the adapter's loop never sees them."""

    unreachable = 0

    async def get_timeout_retry_wait_time(self, got_timeouts: int) -> float:
        self.unreachable += 1
        wait: float = await super().get_timeout_retry_wait_time(got_timeouts)
        return wait


def _at(event: JsonDict) -> datetime | None:
    ts = event.get("origin_server_ts")
    return datetime.fromtimestamp(ts / 1000, UTC) if isinstance(ts, int | float) else None


class MatrixAdapter:
    """`ChatAdapter` for Matrix. Constructed by the core with its settings and a state store."""

    network: Network = "matrix"

    def __init__(
        self,
        settings: MatrixSettings,
        config: Config,
        state: AdapterState,
        *,
        environ: Mapping[str, str] | None = None,
        long_poll_ms: int = 30_000,
    ) -> None:
        self.settings = settings
        self.config = config
        self.state = state
        self.capabilities = Capabilities(
            ephemeral_replies=False,
            command_prefix=settings.command_prefix,
            channel_word="room",
            direct_commands=True,
        )
        self.user_id = settings.user_id
        self._environ = environ
        self._long_poll_ms = long_poll_ms
        self._client: _CountingClient | None = None
        self._sink: EventSink | None = None
        self._rooms: dict[str, RoomFacts] = {}
        self._index = CommunityIndex()
        self._specs: dict[str, CommandSpec] = {}
        self._commands_ready = asyncio.Event()
        self._queues = RoomQueues(settings.queue_size)
        self._batches: asyncio.Queue[Batch] = asyncio.Queue()
        self._authors: OrderedDict[str, str] = OrderedDict()
        self._dm_rooms: dict[str, str] = {}  # member -> DM room
        self._dm_members: dict[str, str] = {}  # DM room -> member
        self._verified_spaces: dict[str, str] = {}  # community -> Verified space
        # moderators' and log rooms: commands typed there act on their community
        self._management: dict[str, str] = {
            room: c.id
            for c in self._configured()
            for room in (c.log_channel, c.moderator_channel)
            if room
        }
        self._hinted: set[str] = set()  # members told once that answers come by DM
        self._power = PowerLevelEditor(
            lambda: self.client, self._rooms, self._watch_power_levels_size
        )
        self._pins = VerificationPins(
            lambda: self.client,
            self._rooms,
            state,
            self._send_notice,
            bot_id=self.user_id,
            prefix=settings.command_prefix,
        )
        self._member_locks: dict[str, asyncio.Lock] = {}
        self._size_warned: set[str] = set()
        self._sync_task: asyncio.Task[None] | None = None
        self._commit_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._next_batch: str | None = None
        self.committed_token: str | None = None
        self.sync_failures = 0

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def client(self) -> nio.AsyncClient:
        if self._client is None:
            raise AdapterError("the Matrix adapter is not started")
        return self._client

    async def start(self, sink: EventSink) -> None:
        """Log in, load the rooms' state (catching up from the stored token), then sync on."""
        self._sink = sink
        self._client = _CountingClient(
            self.settings.homeserver,
            self.user_id,
            device_id=self.settings.device_id or "VERIFYBOT",
            config=nio.AsyncClientConfig(
                store_sync_tokens=False, encryption_enabled=False, max_timeouts=3
            ),
        )
        try:
            await self._log_in()
            await self._load_state()
            token = await self.state.get(SYNC_TOKEN_KEY)
            first = await self.client.sync(
                timeout=0, since=token, full_state=True, sync_filter=SYNC_FILTER
            )
            if _is_error(first):
                raise AdapterError(f"the first sync failed: {_error_text(first)}")
            # No stored token: the bot's very first start, and the history is not news.
            await self._take_sync(first, since=token, replay=token is not None, initial=True)
        except (OSError, TimeoutError, aiohttp.ClientError, nio.ProtocolError) as exc:
            await self._close_client()
            raise AdapterError(
                f"cannot reach the homeserver {self.settings.homeserver}: {exc}"
            ) from exc
        except BaseException:
            await self._close_client()
            raise
        # from now on, ride out homeserver restarts instead of giving up
        self.client.config = dataclasses.replace(self.client.config, max_timeouts=None)
        self._commit_task = asyncio.create_task(self._commit_forever(), name="matrix-commit")
        self._sync_task = asyncio.create_task(
            self._sync_forever(str(first.next_batch)), name="matrix-sync"
        )

    async def _log_in(self) -> None:
        client = self.client
        if self.settings.access_token is not None:
            client.access_token = self.settings.access_token.resolve(self._environ)
            client.user_id = self.user_id
            who = await client.whoami()
            if _is_error(who):
                raise AdapterError(
                    f"the Matrix access token was refused ({_error_text(who)});"
                    " check matrix.access_token"
                )
            if who.user_id != self.user_id:
                raise AdapterError(
                    f"the access token belongs to {who.user_id}, not matrix.user_id"
                    f" {self.user_id}; fix one of them"
                )
            client.device_id = who.device_id or client.device_id
            return
        if self.settings.password is None:
            raise AdapterError("give matrix.access_token or matrix.password")
        answer = await client.login(
            self.settings.password.resolve(self._environ), device_name="verifybot"
        )
        if _is_error(answer):
            raise AdapterError(
                f"logging in as {self.user_id} failed ({_error_text(answer)});"
                " check matrix.password"
            )

    async def _load_state(self) -> None:
        raw = await self.state.get(DM_ROOMS_KEY)
        if raw:
            with contextlib.suppress(ValueError, TypeError):
                self._dm_rooms = {str(k): str(v) for k, v in dict(json.loads(raw)).items()}
        self._dm_members = {room: member for member, room in self._dm_rooms.items()}
        for community in self._configured():
            space = community.verified_space or await self.state.get(
                f"verified_space:{community.id}"
            )
            if space:
                self._verified_spaces[community.id] = space

    async def stop(self) -> None:
        """Stop syncing, finish what is queued, then store the last fully handled token.

        No logout: the access token stays valid, and a password login reuses its device.
        """
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
            self._sync_task = None
        if not await self._queues.drain(10.0):
            log.warning("stopping with events still queued; they will be handled after restart")
        if self._commit_task is not None:
            await self._wait_committed(5.0)
            self._commit_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._commit_task
            self._commit_task = None
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._queues.close()
        await self._close_client()

    async def _wait_committed(self, seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                await self._batches.join()
        except TimeoutError:
            return False
        return True

    async def _close_client(self) -> None:
        if self._client is not None:
            await self._client.close()

    def queue_stats(self) -> QueueStats:
        """Back-pressure figures: queue depth now, high-water mark, time sync waited."""
        return self._queues.stats()

    def stats(self) -> dict[str, float]:
        """The queue figures and failed syncs (a homeserver away) for /metrics."""
        figures = {f"queue_{k}": float(v) for k, v in asdict(self.queue_stats()).items()}
        unreachable = self._client.unreachable if self._client is not None else 0
        figures["homeserver_unreachable"] = float(unreachable + self.sync_failures)
        return figures

    # --- sync ---------------------------------------------------------------------------------

    async def _sync_forever(self, since: str) -> None:
        delay = 1.0
        while True:
            try:
                answer = await self.client.sync(
                    timeout=self._long_poll_ms, since=since, sync_filter=SYNC_FILTER
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                self.sync_failures += 1
                log.warning("sync failed; retrying in %.0f s", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            if _is_error(answer):
                self.sync_failures += 1
                log.warning("sync refused (%s); retrying in %.0f s", _error_text(answer), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            delay = 1.0
            try:
                await self._take_sync(answer, since=since, replay=True, initial=False)
            except asyncio.CancelledError:
                raise
            except Exception:
                # never let one odd response stop the bot; its events are lost only if this
                # repeats, and the log says so
                log.exception("could not take in a sync response; skipping it")
            since = str(answer.next_batch)

    async def _commit_forever(self) -> None:
        while True:
            batch = await self._batches.get()
            try:
                await batch.done.wait()
                await self.state.set(SYNC_TOKEN_KEY, batch.token)
                self.committed_token = batch.token
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not store the sync token; a restart may repeat some events")
            finally:
                self._batches.task_done()

    async def _take_sync(
        self, answer: Any, *, since: str | None, replay: bool, initial: bool
    ) -> None:
        """Fold one sync response into room state and queue its events (in order, per room).

        The batch is sealed however this ends, so one bad response can never hold back the
        storing of every later sync token.
        """
        batch = Batch(str(answer.next_batch))
        self._next_batch = batch.token
        try:
            await self._take_rooms(answer.rooms, batch, since=since, replay=replay, initial=initial)
        finally:
            batch.seal()
            self._batches.put_nowait(batch)

    async def _take_rooms(
        self, rooms: Any, batch: Batch, *, since: str | None, replay: bool, initial: bool
    ) -> None:
        # State first (rooms, spaces and memberships as of the timelines' start), so every
        # event below is read knowing which community its room belongs to.
        structure_changed = initial
        was_joined: set[str] = set()
        for room_id, info in rooms.join.items():
            facts = self._rooms.setdefault(room_id, RoomFacts(room_id))
            if facts.membership(self.user_id) == "join":
                was_joined.add(room_id)
            for event in info.state:
                structure_changed |= self._apply_state(facts, _source(event))
        for room_id, info in rooms.leave.items():
            facts = self._rooms.setdefault(room_id, RoomFacts(room_id))
            for event in [*info.state, *info.timeline.events]:
                self._apply_state(facts, _source(event))
            structure_changed = True
        if structure_changed:
            self._reindex()
        for room_id, info in rooms.join.items():
            facts = self._rooms[room_id]
            timeline = [_source(e) for e in info.timeline.events]
            if replay and since and info.timeline.limited and info.timeline.prev_batch:
                timeline = await self._backfill(room_id, info.timeline.prev_batch, since) + timeline
            for event in timeline:
                try:
                    await self._take_event(facts, event, batch, replay)
                except Exception:
                    log.exception("could not read event %s in %s", event.get("event_id"), room_id)
        newly_joined = [
            room_id
            for room_id in rooms.join
            if room_id not in was_joined and self._rooms[room_id].membership(self.user_id) == "join"
        ]
        for room_id, invite in rooms.invite.items():
            events = [_source(e) for e in invite.invite_state]
            await self._queues.put(
                _INVITES_QUEUE, self._job_invite(room_id, events), batch, f"invite to {room_id}"
            )
        if initial:
            await self._queue_start_checks(batch)
        else:
            for room_id in newly_joined:
                await self._queue_room_added(room_id, batch)

    def _apply_state(self, facts: RoomFacts, event: JsonDict) -> bool:
        """Take a state event in; True if it may change which rooms form which community."""
        if not isinstance(event.get("state_key"), str):
            return False
        before_bot = facts.membership(self.user_id)
        facts.apply(event)
        kind = event.get("type")
        if kind == "m.room.power_levels":
            self._watch_power_levels_size(facts)
        return kind in ("m.space.child", "m.room.create") or (
            kind == "m.room.member" and facts.membership(self.user_id) != before_bot
        )

    async def _backfill(self, room_id: str, prev_batch: str, since: str) -> list[JsonDict]:
        """Events sync left out (a limited timeline) between the stored token and this batch."""
        found: list[JsonDict] = []
        start = prev_batch
        for _ in range(_BACKFILL_PAGES):
            try:
                page = await self.client.room_messages(
                    room_id, start=start, end=since, direction=nio.MessageDirection.back, limit=100
                )
            except (OSError, TimeoutError, aiohttp.ClientError) as exc:
                log.warning("could not fetch the events sync left out in %s: %s", room_id, exc)
                break
            if _is_error(page) or not page.chunk:
                break
            found.extend(_source(e) for e in page.chunk)
            if not page.end or page.end == start:
                break
            start = page.end
        log.info("caught up %d events in %s that sync left out", len(found), room_id)
        # state in the gap is older than the state sync gave us, so only messages matter here
        return [e for e in reversed(found) if not isinstance(e.get("state_key"), str)]

    # --- translating events -------------------------------------------------------------------

    async def _take_event(
        self, facts: RoomFacts, event: JsonDict, batch: Batch, replay: bool
    ) -> None:
        """Translate one timeline event and queue what it means, in the room's order."""
        event_id = event.get("event_id")
        sender = event.get("sender")
        if not isinstance(event_id, str) or not isinstance(sender, str):
            return
        self._remember_author(event_id, sender)
        room_id = facts.room_id
        if isinstance(event.get("state_key"), str):
            before = facts.membership(str(event["state_key"]))
            if self._apply_state(facts, event):
                self._reindex()  # e.g. a room added to a space mid-batch
            if replay:
                await self._take_state_change(facts, event, before, batch)
            return
        if not replay or sender == self.user_id or "redacted_because" in event.get("unsigned", {}):
            return
        kind = event.get("type")
        community = self._community_ref(room_id)
        direct_member = self._dm_members.get(room_id)
        if kind == "m.room.message" and room_id in self._management:
            job = self._job_management_command(room_id, self._management[room_id], event)
            if job is not None:
                await self._queues.put(room_id, job, batch, f"management command {event_id}")
        elif kind in ("m.room.message", "m.sticker"):
            if community is not None:
                job = self._job_message(facts, community, event)
                await self._queues.put(room_id, job, batch, f"message {event_id}")
            elif direct_member == sender:
                job = self._job_direct_command(room_id, event)
                await self._queues.put(room_id, job, batch, f"direct message {event_id}")
        elif kind == "m.reaction" and community is not None:
            reaction = self._job_reaction(facts, community, event)
            if reaction is not None:
                await self._queues.put(room_id, reaction, batch, f"reaction {event_id}")

    async def _take_state_change(
        self, facts: RoomFacts, event: JsonDict, before: str | None, batch: Batch
    ) -> None:
        kind = event.get("type")
        room_id = facts.room_id
        community = self._community_ref(room_id)
        if kind == "m.room.member" and community is not None:
            user = str(event["state_key"])
            now = facts.membership(user)
            if user == self.user_id:
                return
            channel = ChannelRef(community, room_id)
            member = MemberRef("matrix", user)
            if now == "join" and before != "join":
                role = self._actor(user, room_id, community).role
                joined = MemberJoined(community, member, channel, role)
                await self._emit_later(room_id, joined, batch)
            elif before == "join" and now in ("leave", "ban"):
                await self._queues.put(
                    room_id, self._job_drop_badge_level(room_id, user), batch, "tidy power levels"
                )
        elif kind == "m.room.encryption" and community is not None:
            await self._queues.put(room_id, self._job_check_room(room_id), batch, "e2ee")
        elif kind == "m.space.child" and facts.membership(self.user_id) == "join":
            child = str(event["state_key"])
            child_facts = self._rooms.get(child)
            if child not in facts.space_children:
                return
            if child_facts is not None and child_facts.membership(self.user_id) == "join":
                await self._queue_room_added(child, batch)  # a room of ours joins the space
            else:
                await self._queues.put(
                    room_id, self._job_join_child(room_id, child), batch, f"join {child}"
                )

    async def _emit_later(self, room_id: str, event: Event, batch: Batch) -> None:
        async def emit() -> None:
            await self._sink_or_fail().handle_event(self, event)

        await self._queues.put(room_id, emit, batch, type(event).__name__)

    def _job_message(self, facts: RoomFacts, community: CommunityRef, event: JsonDict) -> Job:
        """Everything local is read now (roles as of this event); authors are looked up later."""
        room_id = facts.room_id
        event_id = str(event["event_id"])
        sender = str(event["sender"])
        raw = event.get("content")
        content, edited = tr.effective_content(raw if isinstance(raw, dict) else {})
        text = tr.plain_text(content)
        actor = self._actor(sender, room_id, community)
        channel = ChannelRef(community, room_id)
        reply_to = tr.reply_target(raw if isinstance(raw, dict) else {})
        root = tr.thread_root(raw if isinstance(raw, dict) else {})
        command = None if edited else tr.parse_command(text, self.settings.command_prefix)
        mentioned = tuple(MemberRef("matrix", u) for u in tr.mentioned_users(content))
        draft = MessagePosted(
            message=MessageRef(channel, event_id),
            sender=actor,
            text=text,
            mentioned=mentioned,
            mentions_everyone=tr.mentions_everyone(content),
            has_link=tr.has_link(content),
            has_attachment=tr.has_attachment(str(event.get("type")), content),
            at=_at(event),
        )

        async def handle() -> None:
            reply_author = await self._author_of(room_id, reply_to) if reply_to else None
            starter = await self._author_of(room_id, root) if root else None
            posted = MessagePosted(
                message=draft.message,
                sender=draft.sender,
                text=draft.text,
                reply_to_author=MemberRef("matrix", reply_author) if reply_author else None,
                mentioned=draft.mentioned,
                mentions_everyone=draft.mentions_everyone,
                thread_starter=MemberRef("matrix", starter) if starter else None,
                has_link=draft.has_link,
                has_attachment=draft.has_attachment,
                at=draft.at,
            )
            sink = self._sink_or_fail()
            await sink.handle_event(self, posted)
            if command is None:
                return
            await self._commands_known()
            handle_ = ReplyHandle(room_id, event_id, direct=False)
            await sink.handle_command(
                self,
                CommandInvocation(
                    name=command.name,
                    community=community,
                    channel=channel,
                    invoker=actor,
                    positional=command.positional,
                    reply_handle=handle_,
                    event_id=event_id,
                ),
            )
            if self.settings.redact_commands:
                await self._redact_command(room_id, event_id)

        return handle

    async def _redact_command(self, room_id: str, event_id: str) -> None:
        """Take a member's command out of a community room once it is answered (admin setting
        `redact_commands`), so `!verify` does not tell the room who is verifying."""
        answer = await self.client.room_redact(
            room_id, event_id, reason="a command to the bot, answered privately"
        )
        if _is_error(answer):
            log.warning("could not remove a command message: %s", _error_text(answer))

    def _job_direct_command(self, room_id: str, event: JsonDict) -> Job:
        """A member writing to the bot's DM room: commands only (nothing is relayed)."""
        raw = event.get("content")
        content, edited = tr.effective_content(raw if isinstance(raw, dict) else {})
        command = (
            None
            if edited
            else tr.parse_command(tr.plain_text(content), self.settings.command_prefix)
        )
        sender = str(event["sender"])
        event_id = str(event["event_id"])

        async def handle() -> None:
            if command is None:
                return
            await self._commands_known()
            member = MemberRef("matrix", sender)
            mine = await self.member_communities(member)
            # a member of one community need not say which one they mean
            community = mine[0] if len(mine) == 1 else None
            role = self._community_role(community.id, sender) if community else Role.MEMBER
            await self._sink_or_fail().handle_command(
                self,
                CommandInvocation(
                    name=command.name,
                    community=community,
                    channel=None,
                    invoker=Actor(member, role),
                    positional=command.positional,
                    reply_handle=ReplyHandle(room_id, event_id, direct=True),
                    event_id=event_id,
                ),
            )

        return handle

    def _job_management_command(
        self, room_id: str, community_id: str, event: JsonDict
    ) -> Job | None:
        """A command in a moderators' (or log) room acts on that room's community, as in
        Draupnir's management room; the typist's standing is the higher of the community's and
        this room's power levels."""
        raw = event.get("content")
        content, edited = tr.effective_content(raw if isinstance(raw, dict) else {})
        text = tr.plain_text(content)
        command = None if edited else tr.parse_command(text, self.settings.command_prefix)
        sender = str(event["sender"])
        event_id = str(event["event_id"])
        if command is None or sender == self.user_id:
            return None
        community = CommunityRef("matrix", community_id)
        facts = self._rooms.get(room_id)
        here = self._role_at(facts.level(sender)) if facts else Role.MEMBER
        role = Role(max(here, self._community_role(community_id, sender)))

        async def handle() -> None:
            await self._commands_known()
            await self._sink_or_fail().handle_command(
                self,
                CommandInvocation(
                    name=command.name,
                    community=community,
                    channel=ChannelRef(community, room_id),
                    invoker=Actor(MemberRef("matrix", sender), role),
                    positional=command.positional,
                    reply_handle=ReplyHandle(room_id, event_id, direct=False, management=True),
                    event_id=event_id,
                ),
            )

        return handle

    def _job_reaction(
        self, facts: RoomFacts, community: CommunityRef, event: JsonDict
    ) -> Job | None:
        content = event.get("content")
        relates = content.get("m.relates_to") if isinstance(content, dict) else None
        if not isinstance(relates, dict) or relates.get("rel_type") != "m.annotation":
            return None
        target = relates.get("event_id")
        if not isinstance(target, str):
            return None
        room_id = facts.room_id
        actor = self._actor(str(event["sender"]), room_id, community)
        key = str(relates.get("key", ""))
        reaction_id = str(event["event_id"])
        at = _at(event)

        async def handle() -> None:
            author = await self._author_of(room_id, target)
            await self._sink_or_fail().handle_event(
                self,
                ReactionAdded(
                    message=MessageRef(ChannelRef(community, room_id), target),
                    sender=actor,
                    emoji=key,
                    message_author=MemberRef("matrix", author) if author else None,
                    reaction_id=reaction_id,
                    at=at,
                ),
            )

        return handle

    async def _commands_known(self) -> None:
        """Commands caught up at start wait briefly for the core to register them. Every
        command with our prefix then goes to the core, so an unknown one gets a pointer to
        help; several bots in one room each use their own `command_prefix`."""
        if not self._commands_ready.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await self._commands_ready.wait()

    def _remember_author(self, event_id: str, sender: str) -> None:
        self._authors[event_id] = sender
        if len(self._authors) > _AUTHOR_CACHE:
            self._authors.popitem(last=False)

    async def _author_of(self, room_id: str, event_id: str) -> str | None:
        known = self._authors.get(event_id)
        if known is not None:
            return known
        answer = await self.client.room_get_event(room_id, event_id)
        if _is_error(answer):
            log.info("cannot see event %s in %s: %s", event_id, room_id, _error_text(answer))
            return None
        sender = _source(answer.event).get("sender")
        if isinstance(sender, str):
            self._remember_author(event_id, sender)
            return sender
        return None

    def _sink_or_fail(self) -> EventSink:
        if self._sink is None:
            raise AdapterError("the Matrix adapter is not started")
        return self._sink

    # --- roles and communities ----------------------------------------------------------------

    def _role_at(self, level: float) -> Role:
        if level >= self.settings.admin_power_level:
            return Role.ADMIN
        if level >= self.settings.moderator_power_level:
            return Role.MODERATOR
        return Role.MEMBER

    def _community_role(self, community_id: str, user_id: str) -> Role:
        """A member's standing in a community: the highest of its spaces (the admins' home)."""
        levels = [
            self._rooms[space].level(user_id)
            for space in self._index.spaces.get(community_id, ())
            if space in self._rooms
        ]
        if not levels and community_id in self._rooms:
            levels.append(self._rooms[community_id].level(user_id))
        return self._role_at(max(levels, default=0))

    def _actor(self, user_id: str, room_id: str, community: CommunityRef) -> Actor:
        facts = self._rooms.get(room_id)
        here = self._role_at(facts.level(user_id)) if facts else Role.MEMBER
        role = max(here, self._community_role(community.id, user_id))
        return Actor(MemberRef("matrix", user_id), Role(role), is_self=user_id == self.user_id)

    def _configured(self) -> list[CommunitySettings]:
        return [c for c in self.config.communities if c.network == "matrix"]

    def _excluded_rooms(self) -> set[str]:
        return set(self._verified_spaces.values()) | set(self._dm_members) | set(self._management)

    def _reindex(self) -> None:
        self._index = build_index(
            self._configured(), self._rooms, self.user_id, self._excluded_rooms()
        )

    def _community_ref(self, room_id: str) -> CommunityRef | None:
        community = self._index.community_of(room_id)
        return CommunityRef("matrix", community) if community else None

    def _protected_rooms(self, community_id: str) -> list[str]:
        """The community's rooms the bot is in (where it can see and act)."""
        return sorted(
            room
            for room in self._index.rooms.get(community_id, ())
            if room in self._rooms and self._rooms[room].membership(self.user_id) == "join"
        )

    def _settings_for(self, community_id: str) -> CommunitySettings | None:
        return self.config.community("matrix", community_id)

    # --- checks at start and on new rooms -----------------------------------------------------

    async def _queue_start_checks(self, batch: Batch) -> None:
        for community_id in self._index.ids():
            for space in self._index.spaces.get(community_id, ()):
                facts = self._rooms.get(space)
                if facts is None or facts.membership(self.user_id) != "join":
                    continue
                for child in facts.space_children:
                    child_facts = self._rooms.get(child)
                    if child_facts is None or child_facts.membership(self.user_id) != "join":
                        await self._queues.put(
                            space, self._job_join_child(space, child), batch, f"join {child}"
                        )
            for room_id in self._protected_rooms(community_id):
                await self._queues.put(room_id, self._job_check_room(room_id), batch, "check")
            verified = self._verified_spaces.get(community_id)
            if verified is not None:
                await self._queues.put(verified, self._job_check_room(verified), batch, "check")

    async def _queue_room_added(self, room_id: str, batch: Batch) -> None:
        community = self._community_ref(room_id)
        facts = self._rooms[room_id]
        if community is None and not facts.is_space:
            return

        async def added() -> None:
            await self._check_room(room_id)
            owner = community or self._community_ref_for_space(room_id)
            if owner is not None:
                channel = None if facts.is_space else ChannelRef(owner, room_id)
                await self._sink_or_fail().handle_event(self, CommunityAdded(owner, channel))
            if facts.is_space:
                for child in list(facts.space_children):
                    if self._rooms.get(child) is None:
                        await self._job_join_child(room_id, child)()

        await self._queues.put(room_id, added, batch, "room added")

    def _community_ref_for_space(self, space_id: str) -> CommunityRef | None:
        for community_id, spaces in self._index.spaces.items():
            if space_id in spaces:
                return CommunityRef("matrix", community_id)
        return None

    def _job_check_room(self, room_id: str) -> Job:
        async def check() -> None:
            await self._check_room(room_id)

        return check

    async def _check_room(self, room_id: str) -> None:
        """Tell admins what the bot cannot do in a room (once per distinct problem).

        Community spaces carry no messages and need nothing; a Verified space the admins made
        themselves needs invite and kick, for the badge.
        """
        facts = self._rooms.get(room_id)
        community = self._community_ref(room_id)
        verified_for = [c for c, space in self._verified_spaces.items() if space == room_id]
        if verified_for:
            community = CommunityRef("matrix", verified_for[0])
        if facts is None or community is None:
            return
        if facts.membership(self.user_id) != "join":
            if verified_for:
                await self._tell_admins_once(
                    community,
                    f"join:{room_id}",
                    verified_space_missing(room_label(facts), self.user_id),
                )
            return
        missing = facts.missing(self.user_id, self.settings.badge_power_level)
        if facts.is_space:
            missing = [n for n in missing if verified_for and n.key in ("invite", "kick")]
        if missing:
            fixers = facts.top_users(self.settings.admin_power_level)
            text = missing_power(facts, self.user_id, missing, fixers)
            log.warning("%s", text.replace("\n", " "))
            await self._tell_admins_once(community, f"power:{room_id}", text)
        if facts.encrypted:
            await self._tell_admins_once(community, f"e2ee:{room_id}", encrypted_room(facts))

    async def _tell_admins_once(self, community: CommunityRef, key: str, text: str) -> None:
        """Admins hear each distinct problem once, not at every restart."""
        state_key = f"told:{key}"
        if await self.state.get(state_key) == text:
            return
        try:
            await self.notify_admins(community, text)
        except AdapterError as exc:
            log.warning("could not tell the admins of %s: %s", community.id, exc)
            return
        await self.state.set(state_key, text)

    def _job_join_child(self, space_id: str, child: str) -> Job:
        async def join() -> None:
            space = self._rooms.get(space_id)
            via = space.space_children.get(child, []) if space else []
            answer = await self.client.join(child) if not via else await self._join_via(child, via)
            if _is_error(answer):
                community = self._community_ref_for_space(space_id)
                log.warning("cannot join %s: %s", child, _error_text(answer))
                if community is not None:
                    await self._tell_admins_once(
                        community,
                        f"join:{child}",
                        cannot_join(self._room_name(child), self.user_id, _error_text(answer)),
                    )

        return join

    async def _join_via(self, room_id: str, via: list[str]) -> Any:
        """Join naming servers that know the room (v12 room ids carry no server to ask).

        nio's `join` cannot pass `server_name`, so this one request goes through its transport.
        """
        query = urlencode([("server_name", server) for server in via[:3]])
        path = f"{nio.Api._build_path(['join', room_id])}?{query}"
        return await self.client._send(nio.JoinResponse, "POST", path, "{}")

    def _watch_power_levels_size(self, facts: RoomFacts) -> None:
        size = facts.power_levels_size()
        threshold = self.settings.power_levels_warn_bytes
        if size >= threshold and facts.room_id not in self._size_warned:
            self._size_warned.add(facts.room_id)
            community = self._community_ref(facts.room_id) or self._community_ref_for_space(
                facts.room_id
            )
            if community is not None:
                task = asyncio.create_task(
                    self._tell_admins_once(
                        community, f"size:{facts.room_id}", power_levels_size(facts, size)
                    )
                )
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        elif size < threshold * 0.9:
            self._size_warned.discard(facts.room_id)

    # --- invites ------------------------------------------------------------------------------

    def _job_invite(self, room_id: str, invite_state: list[JsonDict]) -> Job:
        async def consider() -> None:
            inviter, direct = None, False
            for event in invite_state:
                if event.get("type") == "m.room.member" and event.get("state_key") == self.user_id:
                    inviter = event.get("sender")
                    content = event.get("content")
                    direct = bool(isinstance(content, dict) and content.get("is_direct"))
            if not isinstance(inviter, str) or not self._may_accept(room_id, inviter, direct):
                log.info("declining an invitation to %s", room_id)
                await self.client.room_leave(room_id)
                return
            answer = await self.client.join(room_id)
            if _is_error(answer):
                log.warning("could not join %s: %s", room_id, _error_text(answer))
                return
            if direct:  # the member's newest DM with the bot is where we answer
                await self._remember_dm(inviter, room_id)

        return consider

    def _may_accept(self, room_id: str, inviter: str, direct: bool) -> bool:
        return may_accept(
            room_id,
            inviter,
            direct=direct,
            settings=self.settings,
            communities=self._configured(),
            index=self._index,
            rooms=self._rooms,
            management_rooms=self._management,
        )

    # --- ChatAdapter: commands and messages ---------------------------------------------------

    async def register_commands(self, specs: Sequence[CommandSpec]) -> None:
        """Text commands need no registration with the homeserver; we only learn the names."""
        self._specs = {spec.name: spec for spec in specs}
        self._commands_ready.set()

    def parse_member(self, text: str) -> MemberRef | None:
        user_id = tr.parse_user_id(text)
        return MemberRef("matrix", user_id) if user_id else None

    def parse_channel(self, text: str, community: CommunityRef) -> ChannelRef | None:
        """A room of the community as an admin names it: id, address or name."""
        rooms = self._index.rooms.get(community.id, frozenset())
        ref = tr.parse_room_ref(text)
        if ref is not None and ref.startswith("!"):
            return ChannelRef(community, ref) if ref in rooms else None
        matches = [
            room
            for room in rooms
            if (facts := self._rooms.get(room)) is not None and facts.answers_to(ref or text)
        ]
        return ChannelRef(community, matches[0]) if len(matches) == 1 else None

    def display(self, member: MemberRef) -> str:
        return member.id

    def _room_name(self, room_id: str) -> str:
        facts = self._rooms.get(room_id)
        return room_label(facts) if facts is not None else room_id

    def name_of(self, place: CommunityRef | ChannelRef) -> str:
        """A community's configured name or its space's name; a room's name or address."""
        if isinstance(place, CommunityRef):
            settings = self._settings_for(place.id)
            if settings is not None and settings.name:
                return settings.name
        facts = self._rooms.get(place.id)
        return facts.label if facts is not None else place.id

    async def respond(
        self, invocation: CommandInvocation, text: str, *, private: bool = True
    ) -> None:
        handle = invocation.reply_handle
        if isinstance(handle, ReplyHandle) and (
            handle.direct or not private or (handle.management and self._for_moderators(invocation))
        ):
            await self._send_notice(handle.room_id, text, reply_to=handle.event_id)
            return
        await self.send_direct(invocation.invoker.member, text)
        if isinstance(handle, ReplyHandle) and not handle.management:
            await self._point_to_dm_once(handle, invocation.invoker.member)

    def _for_moderators(self, invocation: CommandInvocation) -> bool:
        spec = self._specs.get(invocation.name)
        return spec is not None and spec.access >= Access.MODERATOR

    async def _point_to_dm_once(self, handle: ReplyHandle, member: MemberRef) -> None:
        """The first time a member's command in a room is answered by direct message, say so
        in the room (no ping), so they know where to look. Not when commands are redacted:
        then the room should not learn who asked."""
        if self.settings.redact_commands or member.id in self._hinted:
            return
        self._hinted.add(member.id)
        if len(self._hinted) > _AUTHOR_CACHE:
            self._hinted.clear()
        await self._send_notice(
            handle.room_id,
            "I answer commands in a direct message: look for the chat I opened with you.",
            reply_to=handle.event_id,
        )

    async def send_direct(self, member: MemberRef, text: str) -> None:
        room_id = await self._dm_room(member.id)
        await self._send_notice(room_id, text)

    async def post(self, channel: ChannelRef, text: str) -> None:
        await self._send_notice(channel.id, text)

    async def notify_admins(self, community: CommunityRef, text: str) -> None:
        """The community's log room if configured; otherwise a DM to its top admins."""
        settings = self._settings_for(community.id)
        if settings is not None and settings.log_channel:
            await self._send_notice(settings.log_channel, text)
            return
        candidates: list[str] = []
        for room in [*sorted(self._index.spaces.get(community.id, ())), community.id]:
            facts = self._rooms.get(room)
            if facts is not None:
                candidates += facts.top_users(self.settings.admin_power_level)
        admins = [u for u in dict.fromkeys(candidates) if u != self.user_id][:3]
        if not admins:
            raise AdapterError(
                f"no log room is configured for {community.id} and I see no admin to tell"
            )
        for admin in admins:
            await self.send_direct(MemberRef("matrix", admin), text)

    async def _send_notice(self, room_id: str, text: str, *, reply_to: str | None = None) -> str:
        content: JsonDict = {"msgtype": "m.notice", "body": text, "m.mentions": {}}
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        answer = await self.client.room_send(room_id, "m.room.message", content)
        if _is_error(answer):
            raise AdapterError(f"could not post in {room_id}: {_error_text(answer)}")
        return str(answer.event_id)

    async def _dm_room(self, user_id: str) -> str:
        """The member's DM room with the bot, opened on first need and remembered."""
        lock = self._member_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            room_id = self._dm_rooms.get(user_id)
            if room_id is not None:
                facts = self._rooms.get(room_id)
                theirs = facts.membership(user_id) if facts else "invite"
                mine = facts.membership(self.user_id) if facts else "join"
                if theirs in ("join", "invite") and mine == "join":
                    return room_id
            answer = await self.client.room_create(
                is_direct=True, preset=nio.RoomPreset.trusted_private_chat, invite=[user_id]
            )
            if _is_error(answer):
                raise AdapterError(f"could not open a DM with {user_id}: {_error_text(answer)}")
            room_id = str(answer.room_id)
            await self._remember_dm(user_id, room_id)
            return room_id

    async def _remember_dm(self, user_id: str, room_id: str) -> None:
        old = self._dm_rooms.get(user_id)
        if old is not None:
            self._dm_members.pop(old, None)
        self._dm_rooms[user_id] = room_id
        self._dm_members[room_id] = user_id
        await self.state.set(DM_ROOMS_KEY, json.dumps(self._dm_rooms, sort_keys=True))
        self._reindex()

    # --- ChatAdapter: moderation --------------------------------------------------------------

    async def remove_message(self, message: MessageRef, reason: str) -> None:
        answer = await self.client.room_redact(message.channel.id, message.id, reason=reason)
        if _is_error(answer):
            raise AdapterError(
                f"could not remove {message.id} in {message.channel.id}: {_error_text(answer)}"
            )

    async def remove_reaction(
        self,
        message: MessageRef,
        reactor: MemberRef,
        emoji: str,
        reaction_id: str | None,
        reason: str,
    ) -> None:
        if reaction_id is None:
            raise AdapterError("a Matrix reaction is removed by its event id, and none was given")
        await self.remove_message(MessageRef(message.channel, reaction_id), reason)

    # --- ChatAdapter: badge -------------------------------------------------------------------

    async def set_badge(self, member: MemberRef, community: CommunityRef, on: bool) -> None:
        """On: invite to the Verified space, badge level where the member is. Off: undo both."""
        space = await self._verified_space(community.id)
        problems: list[str] = []
        facts = self._rooms.get(space)
        membership = facts.membership(member.id) if facts else None
        if on and membership not in ("join", "invite"):
            answer = await self.client.room_invite(space, member.id)
            if _is_error(answer):
                raise AdapterError(
                    f"could not invite {member.id} to the Verified space: {_error_text(answer)}"
                )
            if facts is not None:
                facts.members[member.id] = "invite"
            await self._explain_space_invite(member, community, space)
        elif not on and membership in ("join", "invite"):
            answer = await self.client.room_kick(space, member.id, reason="verification ended")
            if _is_error(answer):
                raise AdapterError(
                    f"could not remove {member.id} from the Verified space: {_error_text(answer)}"
                )
            if facts is not None:
                facts.members[member.id] = "leave"
        badge = self.settings.badge_power_level
        for room_id in self._protected_rooms(community.id):
            room = self._rooms[room_id]
            try:
                if on and room.membership(member.id) == "join":
                    await self._power.raise_to(room_id, member.id, badge)
                elif not on:
                    await self._power.drop_if_at(room_id, member.id, badge)
            except AdapterError as exc:
                problems.append(str(exc))
        if problems:
            log.warning("a badge was only partly shown: %s", "; ".join(problems))

    async def _explain_space_invite(
        self, member: MemberRef, community: CommunityRef, space: str
    ) -> None:
        """An invitation from a bot needs a word of why, or it looks like spam."""
        try:
            await self.send_direct(
                member,
                f"I invited you to the space “{self._room_name(space)}”. Being in it shows"
                f" that you hold the Verified badge in {self.name_of(community)}, and it lets"
                " you into rooms that only verified members can join. Joining is optional.",
            )
        except AdapterError as exc:
            log.info("could not explain the Verified space invitation: %s", exc)

    async def _known_verified_space(self, community_id: str) -> str | None:
        """The Verified space if there is one yet (remembered ones of unconfigured communities
        are read back lazily, as those communities are only known once synced)."""
        known = self._verified_spaces.get(community_id)
        if known is None:
            known = await self.state.get(f"verified_space:{community_id}") or None
            if known is not None:
                self._verified_spaces[community_id] = known
                self._reindex()
        return known

    async def _verified_space(self, community_id: str) -> str:
        """The community's Verified space: configured, remembered, or created by the bot.

        Created by the bot, it is the space's creator and so (room v12) can never be locked out.
        """
        known = self._verified_spaces.get(community_id)
        if known is not None:
            return known
        lock = self._member_locks.setdefault(f"space:{community_id}", asyncio.Lock())
        async with lock:
            known = await self._known_verified_space(community_id)
            if known is not None:
                return known
            settings = self._settings_for(community_id)
            name = f"Verified — {settings.name}" if settings and settings.name else "Verified"
            answer = await self.client.room_create(
                space=True,
                name=name,
                topic="Members of this space hold the community's Verified badge.",
                preset=nio.RoomPreset.private_chat,
            )
            if _is_error(answer):
                raise AdapterError(f"could not create the Verified space: {_error_text(answer)}")
            space = str(answer.room_id)
            self._verified_spaces[community_id] = space
            # known to the room index at once, before sync reports the new space
            facts = self._rooms.setdefault(space, RoomFacts(space))
            facts.room_type = "m.space"
            facts.members[self.user_id] = "join"
            await self.state.set(f"verified_space:{community_id}", space)
            self._reindex()
            return space

    def _job_drop_badge_level(self, room_id: str, user_id: str) -> Job:
        async def drop() -> None:
            if self._rooms[room_id].may(self.user_id, "events.m.room.power_levels"):
                await self._power.drop_if_at(room_id, user_id, self.settings.badge_power_level)

        return drop

    def communities(self) -> Sequence[CommunityRef]:
        return [CommunityRef("matrix", cid) for cid in self._index.ids()]

    async def member_communities(self, member: MemberRef) -> Sequence[CommunityRef]:
        found: list[CommunityRef] = []
        for community_id, rooms in self._index.rooms.items():
            places: Iterable[str] = [*rooms, *self._index.spaces.get(community_id, ())]
            if any(
                r in self._rooms and self._rooms[r].membership(member.id) == "join" for r in places
            ):
                found.append(CommunityRef("matrix", community_id))
        return found

    async def badge_holders(self, community: CommunityRef) -> AsyncIterator[MemberRef]:
        """Members of (or invited to) the community's Verified space: who shows the badge."""
        space = await self._known_verified_space(community.id)
        facts = self._rooms.get(space) if space else None
        if facts is None:
            return
        for user, membership in sorted(facts.members.items()):
            if membership in ("join", "invite") and user != self.user_id:
                yield MemberRef("matrix", user)

    # --- ChatAdapter: policy ------------------------------------------------------------------

    async def apply_policy(
        self,
        scope: CommunityRef | ChannelRef,
        policy: UnverifiedPolicy,
        keep: frozenset[str] = frozenset(),
    ) -> None:
        """read_only and verified_only natively; open and limited restore what was there.

        What a room had before is remembered, so switching back to open gives the room's own
        settings back rather than our guess of them. Community-wide, the rooms in `keep` (with
        a policy of their own) are left as they are.
        """
        if isinstance(scope, ChannelRef):
            rooms = [scope.id]
            community_id = scope.community.id
        else:
            rooms = [r for r in self._protected_rooms(scope.id) if r not in keep]
            community_id = scope.id
        space = (
            await self._verified_space(community_id)
            if policy is UnverifiedPolicy.VERIFIED_ONLY
            else None
        )
        problems = []
        for room_id in rooms:
            try:
                await self._apply_room_policy(room_id, policy, space)
            except AdapterError as exc:
                problems.append(str(exc))
        if problems:
            raise AdapterError("; ".join(problems))

    async def _apply_room_policy(
        self, room_id: str, policy: UnverifiedPolicy, space: str | None
    ) -> None:
        facts = self._rooms.get(room_id)
        if facts is None or facts.membership(self.user_id) != "join":
            raise AdapterError(
                f"I am not in {self._room_name(room_id)}, so I cannot set its policy"
            )
        key = f"policy_before:{room_id}"
        saved = await self.state.get(key)
        before = RoomSettings.from_json(json.loads(saved)) if saved else RoomSettings.of(facts)
        target = policy_settings(policy, before, facts, self.settings.badge_power_level, space)
        keep = policy in (UnverifiedPolicy.READ_ONLY, UnverifiedPolicy.VERIFIED_ONLY)
        if keep and not saved:
            await self.state.set(key, json.dumps(before.to_json()))
        await self._power.set_events_default(room_id, target.events_default)
        if facts.join_rules != target.join_rules:
            answer = await self.client.room_put_state(
                room_id, "m.room.join_rules", target.join_rules
            )
            if _is_error(answer):
                raise AdapterError(
                    f"cannot change who may join {room_label(facts)}: {_error_text(answer)}"
                )
            facts.join_rules = target.join_rules
        if not keep and saved:
            await self.state.set(key, "")  # back to the room's own settings: forget them
        if keep and self.settings.announce_verification:
            await self._pins.show(room_id, policy)
        elif not keep:
            await self._pins.withdraw(room_id)
