"""Decisions per second on one core: the real core and filters cog on a warm cache, no I/O.

Run by hand from the project root:
    PYTHONPATH=. .venv/bin/python benchmarks/decisions.py [messages] [rounds]
Each round times the same messages through `BotCore.handle_event` (listener → `Filters._judge`
→ cache → `policy.decide` → `ActionRunner`, a recording adapter) and, in the same process, the
pure `policy.decide` alone on the facts gathered beforehand. Prints the best of the rounds and
`ratio: X.XX` (core decisions per second / the 200k target). Every message is allowed, so no
action reaches the database; the SQL statements issued while deciding are printed (0 expected).
The community is open, so no message is counted in a rate window; the same messages are then
timed once more with the community `limited` (an allowance no sender reaches), where each
unverified sender's message is counted.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from bot import policy
from bot.config import parse_config
from bot.core import BotCore
from bot.model import (
    Actor,
    ChannelRef,
    CommunityRef,
    FilterLevel,
    MemberRef,
    MessagePosted,
    MessageRef,
    UnverifiedPolicy,
)
from bot.policy import Target
from bot.storage import migrate
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.filters import Filters
from tests.recording import RecordingAdapter

TARGET = 200_000
SPACE = CommunityRef("matrix", "!space:hs")
ROOM = ChannelRef(SPACE, "!room:hs")
MEMBERS = 1000


def messages(members: list[MemberRef], count: int) -> list[MessagePosted]:
    """A third of the senders verified; unverified ones reply only to unfiltered members."""
    events = []
    for i in range(count):
        sender = (i * 7) % MEMBERS
        target = (i * 13 + 1) % MEMBERS
        if sender % 3 != 0:
            target |= 1  # odd: never a filtered member, so nothing is held
        events.append(
            MessagePosted(
                MessageRef(ROOM, f"$e{i}"),
                Actor(members[sender]),
                text="hello there",
                reply_to_author=members[target],
                mentioned=(members[(i * 31) % MEMBERS | 1],) if i % 4 == 0 else (),
            )
        )
    return events


async def gather_facts(core: BotCore, event: MessagePosted) -> dict[str, object]:
    """What `_guard` hands to `decide`, read once, so the pure run decides on the same facts."""
    community = event.community
    settings = core.policy_settings(community)
    verified = await core.verified_in(event.sender.member, community)
    filters = core.cog(Filters)
    targets = [
        Target(member, relation, await filters._level(community, member))
        for member, relation in policy.touched_members(event)
    ]
    sources = await core.policy_sources(community)
    return {
        "sender_verified": verified,
        "targets": targets,
        "community_policy": sources.community_policy(),
        "channel_policy": sources.own_channel_policy([event.message.channel.id]),
        "settings": settings,
        "recent_messages": 1,
        "last_notice": None,
        "now": core.clock(),
    }


async def main(count: int, rounds: int) -> None:
    plain = parse_config({}).config
    level = "basic"  # the level every verified sender proved, accepted in the community
    defaults = plain.defaults.model_copy(
        update={"accepted_levels": [level], "limited_messages_per_minute": 1_000_000}
    )
    config = plain.model_copy(update={"defaults": defaults})
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite+aiosqlite:///{folder}/bench.db")
        await migrate.upgrade(store.engine)
        adapter = RecordingAdapter(served=[SPACE])
        core = BotCore(config, store, adapters=[adapter], cogs=[Filters])
        await core.start()
        members = [MemberRef("matrix", f"@m{i}:hs") for i in range(MEMBERS)]
        now = datetime.now(UTC)
        for i, member in enumerate(members):
            if i % 10 == 0:
                await core.cache.set_filter(SPACE, member, FilterLevel.REPLIES, now)
            if i % 3 == 0:
                record = VerificationRecord(
                    "matrix", member.id, "email", level, f"{i:064x}", now, now + timedelta(days=9)
                )
                await core.cache.save_verification(record)
        events = messages(members, count)
        for event in events[:5000]:  # warm the cache
            await core.handle_event(adapter, event)
        facts = [await gather_facts(core, event) for event in events]
        verified = sum(1 for known in facts if known["sender_verified"]) / count
        guard = core.cog(Filters).guard_message
        core_rates, guard_rates, pure_rates = [], [], []
        before = store.statements
        for _ in range(rounds):
            started = time.perf_counter()
            for event in events:
                await core.handle_event(adapter, event)
            core_rates.append(count / (time.perf_counter() - started))
            started = time.perf_counter()
            for event in events:
                pending = guard(event)  # None once decided: warm, nothing to do
                if pending is not None:
                    await pending
            guard_rates.append(count / (time.perf_counter() - started))
            started = time.perf_counter()
            for event, known in zip(events, facts, strict=True):
                policy.decide(event, **known)  # type: ignore[arg-type]
            pure_rates.append(count / (time.perf_counter() - started))
        queries = store.statements - before
        await core.cache.set_policy(SPACE, None, UnverifiedPolicy.LIMITED, by=None, at=now)
        for event in events[:5000]:  # warm the policy again
            await core.handle_event(adapter, event)
        limited_rates = []
        for _ in range(rounds):
            started = time.perf_counter()
            for event in events:
                await core.handle_event(adapter, event)
            limited_rates.append(count / (time.perf_counter() - started))
        held = len(adapter.removed())
        await core.stop()
        await store.close()
    best_core, best_pure = max(core_rates), max(pure_rates)
    print(
        f"{count} messages x {rounds} rounds, {verified:.0%} of senders verified,"
        f" {held} removed, {queries} SQL statements deciding"
    )
    print(f"core + filters cog (handle_event): {best_core:>10,.0f} decisions/s (best of {rounds})")
    print(f"same, community limited (counted): {max(limited_rates):>10,.0f} decisions/s")
    print(f"filters cog guard_message alone:   {max(guard_rates):>10,.0f} decisions/s")
    print(f"pure policy.decide alone:          {best_pure:>10,.0f} decisions/s")
    print(f"share of the pure decide in the core path: {best_core / best_pure:.2f}")
    print(f"target {TARGET:,}/s; ratio: {best_core / TARGET:.2f}")


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 50_000,
            int(sys.argv[2]) if len(sys.argv) > 2 else 3,
        )
    )
