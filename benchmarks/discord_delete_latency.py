"""How long from the gateway frame of an unverified reply to the DELETE reaching Discord?

Runs the real core, cogs, SQLite storage and Discord adapter (real discord.py) against the
loopback Discord in one process, makes alice filter replies, then has an unverified account
reply to her N times, one at a time. For each reply it measures the time from the moment the
MESSAGE_CREATE frame left the fake gateway to the moment the DELETE request arrived at the fake
REST API, and prints the median (the figure quoted in issue 6) with p90 and max.

`--adapter-only` measures the adapter alone (a sink that removes every message at once): the
part of the figure that is discord.py plus the adapter, without the core, cache and storage.

    .venv/bin/python benchmarks/discord_delete_latency.py [--replies 200] [--adapter-only]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord.http
import yarl
from discord.gateway import DiscordWebSocket

from bot.adapters.base import ChatAdapter
from bot.adapters.discord import DiscordAdapter
from bot.core import BotCore
from bot.model import CommandInvocation, Event, MessagePosted
from bot.storage import migrate
from bot.storage.repo import Store
from cogs.admin import Admin
from cogs.badges import Badges
from cogs.filters import Filters
from cogs.help import Help
from tests.fixtures.discord_fake import DiscordWorld, RecordingSink, bot_config, build_world


async def replies_until_deleted(w: DiscordWorld, replies: int, warmup: int) -> list[float]:
    """Unverified replies to alice, one at a time: seconds from each frame to its DELETE."""
    post = await w.fake.push_message(w.general, w.alice, "my news")
    latencies = []
    for n in range(warmup + replies):
        reply = await w.fake.push_message(w.general, w.mallory, f"reply {n}", reply_to=post.data)
        path = rf"/channels/{w.general.id}/messages/{reply.id}"
        delete = await w.fake.wait_for_request("DELETE", path, within=10)
        if n >= warmup:
            latencies.append(delete.at - reply.sent_at)
    return latencies


async def measure_bot(w: DiscordWorld, replies: int, warmup: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await migrate.upgrade(store.engine)
        config = bot_config(w)
        assert config.discord is not None
        core = BotCore(config, store, cogs=[Help, Badges, Filters, Admin])
        core.add_adapter(DiscordAdapter(config.discord, config, core.state_for("discord")))
        await core.start()
        try:
            command = await w.fake.push_command(
                w.guild, w.general, w.alice, "filter", level="replies"
            )
            await w.fake.wait_until(lambda: command.replies, what="the /filter answer")
            return await replies_until_deleted(w, replies, warmup)
        finally:
            await core.stop()
            await store.close()


async def measure_adapter(w: DiscordWorld, replies: int, warmup: int) -> list[float]:
    sink = RecordingSink()

    async def remove(adapter: ChatAdapter, item: Event | CommandInvocation) -> None:
        if isinstance(item, MessagePosted) and item.reply_to_author is not None:
            await adapter.remove_message(item.message, "benchmark")

    sink.react = remove
    config = bot_config(w)
    assert config.discord is not None
    adapter = DiscordAdapter(config.discord, config)
    await adapter.start(sink)
    try:
        return await replies_until_deleted(w, replies, warmup)
    finally:
        await adapter.stop()


async def measure(replies: int, warmup: int, *, adapter_only: bool = False) -> list[float]:
    w = build_world()
    await w.fake.start()
    discord.http.Route.BASE = w.fake.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(w.fake.gateway_url)
    try:
        if adapter_only:
            return await measure_adapter(w, replies, warmup)
        return await measure_bot(w, replies, warmup)
    finally:
        await w.fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10, help="replies not counted (cold cache)")
    parser.add_argument("--adapter-only", action="store_true", help="no core, cogs or storage")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    seconds = asyncio.run(measure(args.replies, args.warmup, adapter_only=args.adapter_only))
    ms = sorted(x * 1000 for x in seconds)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    what = "adapter only" if args.adapter_only else "whole bot"
    print(
        f"gateway frame -> DELETE ({what}), {len(ms)} unverified replies: "
        f"median {statistics.median(ms):.2f} ms, p90 {p90:.2f} ms, max {ms[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
