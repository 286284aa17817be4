"""Realistic Matrix syncs and the adapter's inbound path assembled without a network.

Shared by benchmarks/matrix_hot_path.py and the tests that prove its warm path is correct (every
event judged, no SQL): one space and one room whose power levels list `users` accounts, and a
sync of ordinary messages, replies (with fallbacks and `m.in_reply_to`), mentions (`m.mentions`
and pills) and reactions from senders of mixed verification state, some of whose targets filter.
Nothing here is held: unverified senders only touch members who do not filter, so a warm sync
writes nothing and the figures measure deciding, not storing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.adapters.matrix.adapter import MatrixAdapter
from bot.adapters.matrix.directory import RoomDirectory
from bot.adapters.matrix.rooms import RoomFacts
from bot.adapters.matrix.sync import SyncLoop
from bot.config import Config, parse_config
from bot.core import BotCore
from bot.model import CommunityRef, FilterLevel, MemberRef
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.filters import Filters
from tests.fakes.core import MemoryState
from tests.recording import RecordingAdapter

JsonDict = dict[str, Any]
BOT = "@verifybot:hs"
SPACE_ID = "!space:hs"
ROOM_ID = "!room:hs"
SPACE = CommunityRef("matrix", SPACE_ID)
HTML = "org.matrix.custom.html"
VERIFIED = [f"@v{i}:hs" for i in range(10)]
UNVERIFIED = [f"@u{i}:hs" for i in range(20)]
FILTERING = [f"@f{i}:hs" for i in range(5)]  # filter replies; written to by verified senders only
OPEN = [f"@p{i}:hs" for i in range(10)]  # filter nothing
DAY = timedelta(days=1)
CONFIG: Config = parse_config(
    {
        "identity": {"hash_key": {"value": "k" * 32}},
        "methods": {"moderator": {"level": "reviewed"}},
        "matrix": {
            "homeserver": "http://127.0.0.1:1",
            "user_id": BOT,
            "access_token": {"value": "t"},
        },
    }
).config


def power_levels(users: int) -> JsonDict:
    """A power-levels event listing `users` accounts (admins, a moderator, badge holders)."""
    listed: dict[str, int] = {BOT: 100, "@admin:hs": 100, "@mod:hs": 50}
    listed.update({v: 1 for v in VERIFIED})
    for i in range(users - len(listed)):
        listed[f"@member{i}:hs"] = 1
    return _state("m.room.power_levels", "", "@admin:hs", {"users": listed, "redact": 50})


def room_state(users: int) -> dict[str, list[JsonDict]]:
    """The space's and the room's state, as a first sync gives it."""
    everyone = [BOT, "@admin:hs", "@mod:hs", *VERIFIED, *UNVERIFIED, *FILTERING, *OPEN]
    members = [_state("m.room.member", u, u, {"membership": "join"}) for u in everyone]
    space = [
        _state("m.room.create", "", "@admin:hs", {"room_version": "10", "type": "m.space"}),
        power_levels(users),
        _state("m.space.child", ROOM_ID, "@admin:hs", {"via": ["hs"]}),
        *members,
    ]
    room = [
        _state("m.room.create", "", "@admin:hs", {"room_version": "10"}),
        power_levels(users),
        _state("m.room.join_rules", "", "@admin:hs", {"join_rule": "public"}),
        *members,
    ]
    return {SPACE_ID: space, ROOM_ID: room}


def timeline(count: int = 100, tag: str = "") -> list[JsonDict]:
    """`count` events: 4 in 10 messages, 2 replies, 2 mentions, 2 reactions; each reply,
    mention or reaction touches an earlier event's author (a filtering one only when the sender
    is verified)."""
    senders = [*VERIFIED[:4], *UNVERIFIED[:6], *FILTERING[:2], *OPEN[:3]]
    events: list[JsonDict] = []
    authors: list[tuple[str, str]] = []  # (event id, sender)
    ts = int(time.time() * 1000)
    for i in range(count):
        sender = senders[(i * 7) % len(senders)]
        event_id = f"${tag}e{i}"
        kind = i % 10 if i >= 4 else 0
        target = _target(authors, may_touch_filtering=sender in VERIFIED)
        if kind in (4, 5):
            content = _reply(target, f"sure, {i}")
        elif kind in (6, 7):
            content = _mention(target[1], f"look at this {i}")
        elif kind in (8, 9):
            events.append(_event("m.reaction", event_id, sender, ts + i, _reaction(target[0])))
            continue
        else:
            link = " https://example.org/x" if i % 20 == 3 else ""
            body = f"hello everyone, message {i}{link}"
            content = {"msgtype": "m.text", "body": body}
        events.append(_event("m.room.message", event_id, sender, ts + i, content))
        authors.append((event_id, sender))
    return events


def sync_response(events: list[JsonDict], batch: str = "s2") -> JsonDict:
    """A /sync answer whose only news is `events` in the room."""
    room = {
        "timeline": {"events": events, "limited": False, "prev_batch": "p1"},
        "state": {"events": []},
        "ephemeral": {"events": []},
        "account_data": {"events": []},
        "summary": {},
        "unread_notifications": {"highlight_count": 0, "notification_count": 0},
    }
    return {
        "next_batch": batch,
        "rooms": {"join": {ROOM_ID: room}, "invite": {}, "leave": {}},
        "presence": {"events": []},
        "account_data": {"events": []},
        "to_device": {"events": []},
        "device_lists": {"changed": [], "left": []},
        "device_one_time_keys_count": {},
    }


@dataclass
class HotPath:
    """The adapter's inbound path wired to a core with the filters cog, nothing on the network."""

    core: BotCore
    recording: RecordingAdapter
    matrix: MatrixAdapter
    directory: RoomDirectory
    sync: SyncLoop

    async def take(self, answer: Any) -> None:
        """What the sync loop does with one parsed response, until every item was handled."""
        await self.sync._take(answer, since="s1", replay=True, initial=False)
        await self.matrix._queues.drain(60)
        while not self.sync._batches.empty():  # no committer runs here
            self.sync._batches.get_nowait()
            self.sync._batches.task_done()


async def assemble(store: Store, users: int) -> HotPath:
    """A started core (filters only) and the Matrix adapter's parts, the rooms' state taken in
    and the senders' facts stored: verified records and members' filters."""
    recording = RecordingAdapter(served=[SPACE])
    core = BotCore(CONFIG, store, adapters=[recording], cogs=[Filters])
    now = datetime.now(UTC)
    for user in VERIFIED:
        await store.save_verification(
            VerificationRecord("matrix", user, "moderator", "reviewed", "v" * 64, now - DAY)
        )
    await core.start()
    for user in FILTERING:
        await core.cache.set_filter(SPACE, MemberRef("matrix", user), FilterLevel.REPLIES, now)
    assert CONFIG.matrix is not None
    matrix = MatrixAdapter(CONFIG.matrix, CONFIG, MemoryState())
    matrix._dispatcher.attach(core)
    directory, sync = matrix._directory, matrix._sync
    for room_id, state in room_state(users).items():
        facts = directory.rooms.setdefault(room_id, RoomFacts(room_id))
        for event in state:
            sync._reader.apply_state(facts, event)
    directory.reindex()
    return HotPath(core, recording, matrix, directory, sync)


def _target(authors: list[tuple[str, str]], *, may_touch_filtering: bool) -> tuple[str, str]:
    """The latest earlier message the sender may touch without anything being held."""
    for event_id, sender in reversed(authors):
        if may_touch_filtering or sender not in FILTERING:
            return event_id, sender
    return "$unknown", OPEN[0]


def _reply(target: tuple[str, str], text: str) -> JsonDict:
    event_id, author = target
    return {
        "msgtype": "m.text",
        "body": f"> <{author}> what they said\n\n{text}",
        "format": HTML,
        "formatted_body": (
            f'<mx-reply><blockquote><a href="https://matrix.to/#/{ROOM_ID}/{event_id}">In reply'
            f'</a> <a href="https://matrix.to/#/{author}">{author}</a><br>what they said'
            f"</blockquote></mx-reply>{text}"
        ),
        "m.relates_to": {"m.in_reply_to": {"event_id": event_id}},
        "m.mentions": {"user_ids": [author]},
    }


def _mention(user: str, text: str) -> JsonDict:
    return {
        "msgtype": "m.text",
        "body": f"{user[1:].split(':')[0]}: {text}",
        "format": HTML,
        "formatted_body": f'<a href="https://matrix.to/#/{user}">{user}</a>: {text}',
        "m.mentions": {"user_ids": [user]},
    }


def _reaction(event_id: str) -> JsonDict:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": "👍"}}


def _event(kind: str, event_id: str, sender: str, ts: int, content: JsonDict) -> JsonDict:
    return {
        "type": kind,
        "event_id": event_id,
        "sender": sender,
        "origin_server_ts": ts,
        "content": content,
        "unsigned": {"age": 120},
    }


def _state(kind: str, key: str, sender: str, content: JsonDict) -> JsonDict:
    return {
        "type": kind,
        "state_key": key,
        "sender": sender,
        "event_id": f"${kind}:{key}",
        "origin_server_ts": 1,
        "content": content,
    }
