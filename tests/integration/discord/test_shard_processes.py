"""Two `verifybot run` processes, one per Discord shard, on one PostgreSQL database.

Each guild's messages are judged by the one process whose shard Discord routes the guild to: no
message is deleted twice and no sender told twice. A verification, a revocation and a filter
change made outside the process that serves a guild are honoured there within 1 second, through
the PostgreSQL LISTEN/NOTIFY cache invalidation. Latency is measured conservatively: from just
before the change is asked for (not from its commit) to the first probe message the other
process judges by the new fact, polled with a deadline, never slept for.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.model import CommunityRef, FilterLevel, MemberRef
from bot.storage.cache import ReadCache
from bot.storage.invalidation import PgInvalidation
from bot.storage.records import PendingRecord
from bot.storage.repo import Store
from bot.verification.context import OPEN, row_id
from tests.fakes.discord_api import InteractionRecord, Pushed, User
from tests.fixtures.shard_processes import BotProcess, ShardedSetUp, ShardGuild

pytestmark = [pytest.mark.postgres, pytest.mark.discord_fake]

BOUND = 1.0  # seconds: the guarantee
DEADLINE = 10.0  # how long a probe loop may run before the test fails
TRIALS = 3
HANDLED = "verifybot_handler_seconds_count"


class Probe:
    """mallory replies to alice in one guild; the serving process says when it has judged each."""

    def __init__(self, s: ShardedSetUp, shard: int, http: aiohttp.ClientSession) -> None:
        self.s, self.place, self.process = s, s.guilds[shard], s.processes[shard]
        self.http = http
        self.target: dict[str, Any] = {}
        self.sent = 0  # messages the probe sent
        self.base = 0.0  # events the process had handled before

    async def start(self) -> None:
        self.base = await self.process.metric(self.http, HANDLED, kind="event")
        pushed = await self.s.fake.push_message(self.place.general, self.s.alice, "hello")
        self.target = pushed.data
        await self.judged()

    async def judged(self) -> None:
        """Until the process has finished handling every message sent here (messages of the
        other guild never reach it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE
        while (
            await self.process.metric(self.http, HANDLED, kind="event") < self.base + self.sent + 1
        ):
            assert loop.time() < deadline, f"{self.process.name} never judged message {self.sent}"
            await asyncio.sleep(0.01)  # polling interval, not a wait for the outcome
        self.sent += 1

    async def reply(self) -> tuple[Pushed, bool]:
        """One reply; (what was sent, whether it was held: deleted by the bot)."""
        pushed = await self.s.fake.push_message(
            self.place.general, self.s.mallory, "a reply", reply_to=self.target
        )
        await self.judged()
        return pushed, bool(self.s.fake.find_requests("DELETE", deletion(pushed)))

    async def until(self, held: bool, since: float) -> float:
        """Reply until the process judges as `held` says; seconds from `since` to that reply."""
        deadline = time.perf_counter() + DEADLINE
        while time.perf_counter() < deadline:
            pushed, was_held = await self.reply()
            if was_held is held:
                assert pushed.sent_at is not None
                return pushed.sent_at - since
        raise AssertionError(f"{self.process.name} still judged held={not held} after {DEADLINE}s")


def deletion(pushed: Pushed) -> str:
    return rf"/channels/{pushed.data['channel_id']}/messages/{pushed.data['id']}"


async def command(
    s: ShardedSetUp, place: ShardGuild, name: str, *, by: User | None = None, **options: Any
) -> InteractionRecord:
    """A slash command in the guild's #general (by the moderator unless `by`), answered."""
    user = s.moderator if by is None else by
    record = await s.fake.push_command(place.guild, place.general, user, name, **options)
    await s.fake.wait_until(lambda: record.given, within=DEADLINE, what=f"an answer to /{name}")
    return record


async def measured(
    change: Callable[[], Coroutine[Any, Any, object]], probe: Probe, held: bool
) -> float:
    """Start `change` and probe at once; seconds until the probe's process honours it."""
    since = time.perf_counter()
    changing: asyncio.Task[object] = asyncio.create_task(change())
    try:
        return await probe.until(held, since)
    finally:
        await changing


async def test_each_guild_is_judged_once_and_changes_reach_the_other_process_within_a_second(
    shard_processes: ShardedSetUp,
) -> None:
    s = shard_processes
    alice = MemberRef("discord", str(s.alice.id))
    mallory = MemberRef("discord", str(s.mallory.id))
    a_place, b_place = s.guilds
    a, b = s.processes
    store = Store.open(s.database_url)  # a third writer, as a dashboard or admin tool would be
    cache = ReadCache(store)
    invalidation = PgInvalidation(s.database_url, cache)
    await invalidation.start()
    async with aiohttp.ClientSession() as http:
        try:
            await judged_once(s, http)
            probe = Probe(s, 1, http)
            await probe.start()
            latencies: dict[str, list[float]] = {"verify": [], "revoke": [], "filter": []}
            for _ in range(TRIALS):
                await ask_for_review(store, mallory, a_place)
                latencies["verify"].append(
                    await measured(
                        lambda: command(s, a_place, "approve", member=s.mallory), probe, held=False
                    )
                )
                latencies["revoke"].append(
                    await measured(
                        lambda: command(s, a_place, "revoke", member=s.mallory, reason="spam"),
                        probe,
                        held=True,
                    )
                )
                await command(s, a_place, "lift", member=s.mallory)

                def set_filter(level: FilterLevel) -> Callable[[], Coroutine[Any, Any, None]]:
                    at = datetime.now(UTC)
                    where = CommunityRef("discord", str(b_place.guild.id))
                    return lambda: cache.set_filter(where, alice, level, at)

                latencies["filter"].append(
                    await measured(set_filter(FilterLevel.OFF), probe, held=False)
                )
                latencies["filter"].append(
                    await measured(set_filter(FilterLevel.REPLIES), probe, held=True)
                )
            # every guild's messages reached only the process of its shard
            posted_b = await b.metric(http, "verifybot_events_total", kind="message_posted")
            assert posted_b == 2 + probe.sent
            assert await a.metric(http, "verifybot_events_total", kind="message_posted") == 2
        finally:
            await invalidation.stop()
            await store.close()
    for request in s.fake.find_requests("DELETE", r"/channels/\d+/messages/\d+"):
        assert len(s.fake.find_requests("DELETE", request.path)) == 1, request.path
    report = {k: [round(v, 3) for v in vs] for k, vs in latencies.items()}
    print(f"seconds until the other process honoured the change: {report}")
    for kind, values in latencies.items():
        assert max(values) <= BOUND, f"{kind}: {report}"
        assert statistics.median(values) <= BOUND


async def judged_once(s: ShardedSetUp, http: aiohttp.ClientSession) -> None:
    """alice filters replies in both guilds (each command served by its guild's process);
    mallory's reply in each is deleted once, by that process, and she is told once per guild."""
    for place in s.guilds:
        await command(s, place, "filter", by=s.alice, level="replies")
    for place in s.guilds:
        target = await s.fake.push_message(place.general, s.alice, "hi")
        reply = await s.fake.push_message(place.general, s.mallory, "hey", reply_to=target.data)
        await s.fake.wait_for_request("DELETE", deletion(reply), within=DEADLINE)
    await s.fake.wait_until(lambda: len(s.fake.dm_messages(s.mallory)) >= 2, within=DEADLINE)
    for process in s.processes:
        for kind in ("withhold", "notify_sender"):
            await eventually(process, http, "verifybot_actions_total", 1, kind=kind)
        assert await process.metric(http, "verifybot_events_total", kind="message_posted") == 2
    assert len(s.fake.dm_messages(s.mallory)) == 2  # one notice per community, none twice


async def eventually(
    process: BotProcess, http: aiohttp.ClientSession, name: str, value: float, **labels: str
) -> None:
    """Until the process's metric reaches `value`; it must then be exactly `value`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while (seen := await process.metric(http, name, **labels)) < value:
        assert loop.time() < deadline, f"{process.name}: {name}{labels} stayed at {seen}"
        await asyncio.sleep(0.01)  # polling interval
    assert seen == value, f"{process.name}: {name}{labels} is {seen}, not {value}"


async def ask_for_review(store: Store, member: MemberRef, place: ShardGuild) -> None:
    """The row the link page stores when a member asks the moderators to review them."""
    now = datetime.now(UTC)
    await store.create_pending(
        PendingRecord(
            id=row_id("review", secrets.token_urlsafe(16)),
            network="discord",
            account_id=member.id,
            community_id=str(place.guild.id),
            method="moderator",
            status=OPEN,
            state={},
            created_at=now,
            expires_at=now + timedelta(days=1),
        )
    )
