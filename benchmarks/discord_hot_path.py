"""What verifybot adds to each Discord message, next to what discord.py itself spends on it.

Interleaved in one process, on realistic MESSAGE_CREATE payloads (replies carrying their
referenced message, mentions with member data, members with several roles, in a guild whose
members and roles discord.py keeps in its cache):

* library: discord.py's `ConnectionState.parse_message_create` alone;
* translation: the same parser as the gateway calls it (`gateway_guard`), then the adapter's
  intake (author memory, catch-up mark, translation, reply completion, handover) to a sink that
  does nothing: verifybot's Discord part alone;
* ours: the same, handing over to the core, which decides with a warm cache (real core,
  `Filters` cog, SQLite store; 0 SQL statements).

Every message is allowed (verified senders reply to filtering members, unverified ones to
members who do not filter), so no durable write is timed: that is `discord_end_to_end.py`.

    .venv/bin/python benchmarks/discord_hot_path.py [--messages 4000] [--runs 3]

Prints the median µs per message for each side, the translation's ratio and `ratio: X.XX`
(ours / library), the min and median of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord
from discord.state import ConnectionState

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord.client import verifybot_intents
from bot.adapters.discord.gateway_guard import BadEvents, guard_parsers
from bot.config import parse_config
from bot.core import BotCore
from bot.model import CommunityRef, FilterLevel, MemberRef
from bot.storage import migrate
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.filters import Filters

GUILD = 800_000_000_000_000_001
CHANNEL = 800_000_000_000_000_002
BOT = 800_000_000_000_000_003
FIRST_USER = 810_000_000_000_000_000
FIRST_ROLE = 820_000_000_000_000_000
FIRST_MESSAGE = 830_000_000_000_000_000
MEMBERS = 400
ROLES = 24  # plain roles; each member holds three of them
STAMP = "2026-05-01T12:00:00.000000+00:00"
Payload = dict[str, Any]


def user(uid: int) -> Payload:
    return {
        "id": str(uid),
        "username": f"member{uid % 10_000}",
        "global_name": f"Member {uid % 10_000}",
        "discriminator": "0",
        "avatar": "a" * 32,
        "public_flags": 0,
    }


def member_roles(n: int) -> list[str]:
    """Three plain roles; every 40th member a moderator, every 100th an admin."""
    roles = [str(FIRST_ROLE + 3 + (n * 7 + k) % ROLES) for k in range(3)]
    if n % 40 == 1:
        roles.append(str(FIRST_ROLE + 1))
    if n % 100 == 2:
        roles.append(str(FIRST_ROLE + 2))
    return roles


def member(n: int) -> Payload:
    return {
        "roles": member_roles(n),
        "joined_at": STAMP,
        "deaf": False,
        "mute": False,
        "flags": 0,
    }


def guild_payload() -> Payload:
    perms = {0: 0x0000_0400_0000_0C00, 1: 0x2000 | 0x100_0000_0000, 2: 0x8}
    roles = [
        {
            "id": str(GUILD if i == 0 else FIRST_ROLE + i),
            "name": "@everyone" if i == 0 else f"role {i}",
            "permissions": str(perms.get(i, 0x40 | 0x400)),
            "position": i,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
        }
        for i in range(ROLES + 3)
    ]
    members = [{**member(n), "user": user(FIRST_USER + n)} for n in range(MEMBERS)] + [
        {"roles": [], "joined_at": STAMP, "flags": 0, "user": {**user(BOT), "bot": True}}
    ]
    channel = {"id": str(CHANNEL), "type": 0, "name": "general", "position": 0}
    return {
        "id": str(GUILD),
        "name": "Benchmark Guild",
        "owner_id": str(FIRST_USER),
        "roles": roles,
        "channels": [{**channel, "permission_overwrites": []}],
        "members": members,
        "member_count": len(members),
        "emojis": [],
        "stickers": [],
        "features": [],
        "premium_tier": 0,
        "large": False,
    }


def message_payload(mid: int, n: int, verified: set[int], filtering: set[int]) -> Payload:
    """A reply (with its referenced message), two mentions, the author's member data."""
    author = n % MEMBERS
    # a verified sender answers a filtering member; an unverified one, a member who does not
    # filter: either way the message is allowed, so nothing is written
    pool = sorted(filtering if author in verified else set(range(MEMBERS)) - filtering)
    target = pool[(n * 31) % len(pool)]
    others = [m for m in (n * 17 % MEMBERS, n * 29 % MEMBERS) if m not in filtering]
    referenced: Payload = {
        "id": str(mid - 1_000_000),
        "channel_id": str(CHANNEL),
        "author": user(FIRST_USER + target),
        "content": "the earlier message being answered, with a few words in it",
        "timestamp": STAMP,
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }
    return {
        "id": str(mid),
        "channel_id": str(CHANNEL),
        "guild_id": str(GUILD),
        "author": user(FIRST_USER + author),
        "member": member(author),
        "content": f"<@{FIRST_USER + others[0] if others else BOT}> agreed, see the thread {n}",
        "timestamp": STAMP,
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [{**user(FIRST_USER + m), "member": member(m)} for m in others],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 19,
        "flags": 0,
        "message_reference": {
            "type": 0,
            "message_id": str(mid - 1_000_000),
            "channel_id": str(CHANNEL),
            "guild_id": str(GUILD),
        },
        "referenced_message": referenced,
    }


Parser = Callable[[Any], None]


def connection_state() -> tuple[Parser, Parser, list[discord.Message]]:
    """discord.py's state with the guild cached as after GUILD_CREATE; dispatch keeps messages.
    Returns the library's parser, the same as verifybot's gateway calls it, and what they made."""
    client = discord.Client(intents=verifybot_intents(), max_messages=None)
    state: ConnectionState[Any] = client._connection
    delivered: list[discord.Message] = []
    state.dispatch = lambda event, *args: delivered.append(args[0])
    state.user = discord.ClientUser(state=state, data={**user(BOT), "bot": True})  # type: ignore[typeddict-item]
    state._add_guild(discord.Guild(data=guild_payload(), state=state))  # type: ignore[arg-type]
    library: Parser = state.parse_message_create
    guard_parsers(client, BadEvents(defaultdict(int)))
    return library, state.parsers["MESSAGE_CREATE"], delivered


class Figures(NamedTuple):
    """One run's medians in µs per message, and the SQL statements the decisions cost."""

    library: float
    translation: float  # library + the adapter handing over to a sink that does nothing
    ours: float  # library + the adapter + the core's decision
    sql: int


class NoSink:
    """Where the translation-only side hands its events: nothing is decided."""

    async def handle_event(self, adapter: Any, event: Any) -> None:
        return None

    async def handle_command(self, adapter: Any, invocation: Any) -> None:
        return None


async def bench(messages: int, runs: int) -> list[Figures]:
    config = parse_config(
        {
            "identity": {"hash_key": {"value": "k" * 32}},
            "methods": {"moderator": {"level": "reviewed"}},
            "discord": {"token": {"value": "x"}},
            "communities": [{"network": "discord", "id": str(GUILD)}],
        }
    ).config
    assert config.discord is not None
    verified = {n for n in range(MEMBERS) if n % 3 == 0}
    filtering = {n for n in range(MEMBERS) if n % 5 == 0}
    results = []
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite+aiosqlite:///{folder}/bench.db")
        await migrate.upgrade(store.engine)
        core = BotCore(config, store, cogs=[Filters])
        await core.start()
        adapter = DiscordAdapter(config.discord, config)
        core.add_adapter(adapter)  # after start: it is driven directly, never connected
        adapter._handover.sink = core
        intake = adapter._intake
        intake.self_id = BOT
        alone = DiscordAdapter(config.discord, config)  # translation only
        alone._handover.sink = NoSink()
        alone._intake.self_id = BOT
        community = CommunityRef("discord", str(GUILD))
        now = datetime.now(UTC)
        for n in range(MEMBERS):
            ref = MemberRef("discord", str(FIRST_USER + n))
            if n in filtering:
                await core.cache.set_filter(community, ref, FilterLevel.REPLIES, now)
            if n in verified:
                record = VerificationRecord(
                    "discord", ref.id, "moderator", "reviewed", f"{n:064x}", now
                )
                await core.cache.save_verification(record)

        library, guarded, delivered = connection_state()

        mid = FIRST_MESSAGE

        def payloads(count: int) -> list[Payload]:
            nonlocal mid
            made = []
            for n in range(count):
                mid += 1
                made.append(message_payload(mid, n, verified, filtering))
            return made

        for data in payloads(2000):  # warm: every member's facts in the cache
            guarded(data)
            await intake.message(delivered.pop())
            guarded(data)
            await alone._intake.message(delivered.pop())
        for _ in range(runs):
            data = {"library": payloads(messages), "translation": payloads(messages)}
            data["ours"] = payloads(messages)
            times: dict[str, list[float]] = {side: [] for side in data}
            order = list(data)
            before = store.statements
            gc.collect()
            for i in range(messages):
                order.append(order.pop(0))  # rotate who goes first
                for side in order:
                    payload = data[side][i]
                    started = time.perf_counter()
                    if side == "library":
                        library(payload)
                    elif side == "translation":
                        guarded(payload)
                        await alone._intake.message(delivered.pop())
                    else:
                        guarded(payload)
                        await intake.message(delivered.pop())
                    times[side].append(time.perf_counter() - started)
                delivered.clear()
            sql = store.statements - before
            medians = {side: statistics.median(taken) * 1e6 for side, taken in times.items()}
            results.append(Figures(**medians, sql=sql))
        for used in (adapter, alone):
            assert used.metrics["handler_errors"] == 0, "a message failed in the intake"
            assert used.metrics["events"] == 2000 + runs * messages, "a message was not handed over"
        await core.stop()
        await store.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    results = asyncio.run(bench(args.messages, args.runs))
    for n, run in enumerate(results, 1):
        print(
            f"run {n}: library {run.library:.1f} µs, + translation {run.translation:.1f} µs,"
            f" + translation and decision {run.ours:.1f} µs, ratio {run.ours / run.library:.2f},"
            f" {run.sql} SQL statements"
        )

    def line(name: str, values: list[float], unit: str = " µs") -> str:
        return f"{name}: min {min(values):.2f}{unit}, median {statistics.median(values):.2f}{unit}"

    print(line("library", [r.library for r in results]))
    print(line("library + translation", [r.translation for r in results]))
    print(line("library + translation + decision", [r.ours for r in results]))
    print(line("translation ratio", [r.translation / r.library for r in results], ""))
    ratios = [r.ours / r.library for r in results]
    print(f"ratio min {min(ratios):.2f}\nratio: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
