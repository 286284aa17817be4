"""Gateway frame -> DELETE on the loopback Discord: the whole bot next to a bare discord.py bot.

Both run in this one process against the same loopback Discord (tests/fakes/discord_api), one
after the other in each round (the order alternates), with the same tries: an unverified account
replies to alice, who filters replies, and the time from the MESSAGE_CREATE frame leaving the fake
gateway to the DELETE reaching the fake REST API is taken.

* bare: a plain `discord.Client` (verifybot's intents, no message cache) whose `on_message`
  deletes the reply at once, with no decision at all: the floor discord.py sets;
* bot: verifybot as `run` assembles the hot path (core, Help/Badges/Filters/Admin cogs, SQLite
  storage, the Discord adapter), deciding and holding the reply for alice before deleting it.

The bot's time spent in the durable held-item write (`Store.add_held`) is taken as well, so the
part that is storage is known. `--stages` prints, for the bot, the median time from the frame to
each step of the way (discord.py reading the frame, the intake, the core, the held write, the
removal, discord.py's request, the DELETE's arrival).

    .venv/bin/python benchmarks/discord_end_to_end.py [--replies 200] [--rounds 3] [--stages]

Prints per round the median and p95 of each, then `ratio: X.XX` (bot / bare medians), the min
and median of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord
import discord.http
import yarl
from discord.gateway import DiscordWebSocket

import benchmarks.discord_delete_latency as latency
from benchmarks.discord_delete_latency import measure_bot, replies_until_deleted
from bot.adapters.discord.client import verifybot_intents
from bot.adapters.discord.handover import Handover
from bot.adapters.discord.intake import GatewayIntake
from bot.adapters.discord.removals import Removals
from bot.execution import ActionRunner
from bot.storage.repo import Store
from tests.fixtures.discord_fake import DiscordWorld, build_world

WARMUP = 10


class BareBot(discord.Client):
    """What a bot that deletes an unverified account's messages at once costs, and no more."""

    def __init__(self, deletes: int) -> None:
        super().__init__(intents=verifybot_intents(), max_messages=None)
        self.deletes = deletes  # the account whose messages go
        self.ready = asyncio.Event()

    async def on_ready(self) -> None:
        self.ready.set()

    async def on_message(self, message: discord.Message) -> None:
        if message.author.id == self.deletes:
            await message.delete()


async def measure_bare(w: DiscordWorld, replies: int) -> list[float]:
    client = BareBot(w.mallory.id)
    task = asyncio.create_task(client.start(w.world.token))
    try:
        async with asyncio.timeout(10):
            await client.ready.wait()
        return await replies_until_deleted(w, replies, WARMUP)
    finally:
        await client.close()
        await asyncio.gather(task, return_exceptions=True)


def time_held_writes(into: list[float]) -> Callable[[], None]:
    """Time every `Store.add_held` (the durable hold before a removal); returns the undo."""
    original = Store.add_held

    async def timed(self: Store, *args: Any, **kwargs: Any) -> int:
        started = time.perf_counter()
        try:
            return await original(self, *args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    Store.add_held = timed  # type: ignore[method-assign,assignment]

    def undo() -> None:
        Store.add_held = original  # type: ignore[method-assign]

    return undo


STEPS = (
    "frame read",
    "intake",
    "core",
    "actions",
    "held start",
    "held end",
    "removal",
    "request",
)


class Stages:
    """First arrival at each step, per reply (replies go one at a time)."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self.rows: list[dict[str, float]] = []

    def mark(self, step: str) -> None:
        self.marks.setdefault(step, time.perf_counter())

    def reply_done(self, sent_at: float, deleted_at: float) -> None:
        row = {step: self.marks[step] - sent_at for step in STEPS if step in self.marks}
        row["DELETE"] = deleted_at - sent_at
        self.rows.append(row)
        self.marks = {}

    def report(self, skip: int) -> str:
        rows = self.rows[skip:]
        parts = []
        for step in (*STEPS, "DELETE"):
            values = [r[step] for r in rows if step in r]
            if values:
                parts.append(f"{step} {statistics.median(values) * 1000:.3f}")
        return "stages (median ms after the frame): " + ", ".join(parts)


def _wrap(owner: Any, name: str, before: Callable[..., None]) -> Callable[[], None]:
    original = getattr(owner, name)

    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        before(*args, **kwargs)
        return await original(*args, **kwargs)

    setattr(owner, name, wrapped)
    return lambda: setattr(owner, name, original)


@contextmanager
def staged(stages: Stages) -> Iterator[None]:
    def at(step: str) -> Callable[..., None]:
        return lambda *_a, **_k: stages.mark(step)

    def request(_self: Any, route: discord.http.Route, *_a: Any, **_k: Any) -> None:
        if route.method == "DELETE":
            stages.mark("request")

    async def add_held(self: Store, *args: Any, **kwargs: Any) -> int:
        stages.mark("held start")
        try:
            return await original_add_held(self, *args, **kwargs)
        finally:
            stages.mark("held end")

    original_add_held = Store.add_held
    Store.add_held = add_held  # type: ignore[method-assign]
    undo = [
        _wrap(DiscordWebSocket, "received_message", at("frame read")),
        _wrap(GatewayIntake, "message", at("intake")),
        _wrap(Handover, "push", at("core")),
        _wrap(ActionRunner, "execute_all", at("actions")),
        _wrap(Removals, "message", at("removal")),
        _wrap(discord.http.HTTPClient, "request", request),
    ]
    try:
        yield
    finally:
        Store.add_held = original_add_held  # type: ignore[method-assign]
        for step in undo:
            step()


async def staged_replies(w: DiscordWorld, replies: int, warmup: int, stages: Stages) -> list[float]:
    """`replies_until_deleted`, noting each reply's steps."""
    post = await w.fake.push_message(w.general, w.alice, "my news")
    latencies = []
    for n in range(warmup + replies):
        stages.marks = {}
        reply = await w.fake.push_message(w.general, w.mallory, f"reply {n}", reply_to=post.data)
        path = rf"/channels/{w.general.id}/messages/{reply.id}"
        delete = await w.fake.wait_for_request("DELETE", path, within=10)
        stages.reply_done(reply.sent_at, delete.at)
        if n >= warmup:
            latencies.append(delete.at - reply.sent_at)
    return latencies


async def measure_stages(w: DiscordWorld, replies: int) -> str:
    stages = Stages()

    async def loop(w: DiscordWorld, replies: int, warmup: int) -> list[float]:
        return await staged_replies(w, replies, warmup, stages)

    latency.replies_until_deleted = loop
    try:
        with staged(stages):
            await measure_bot(w, replies, WARMUP)
    finally:
        latency.replies_until_deleted = replies_until_deleted
    return stages.report(WARMUP)


async def one_round(w: DiscordWorld, replies: int, bare_first: bool) -> dict[str, list[float]]:
    held: list[float] = []

    async def bot() -> list[float]:
        undo = time_held_writes(held)
        try:
            return await measure_bot(w, replies, WARMUP)
        finally:
            undo()

    phases: dict[str, Callable[[], Awaitable[list[float]]]] = {
        "bare": lambda: measure_bare(w, replies),
        "bot": bot,
    }
    order = ["bare", "bot"] if bare_first else ["bot", "bare"]
    figures = {name: await phases[name]() for name in order}
    figures["held write"] = held[WARMUP:]
    return figures


async def measure(
    replies: int, rounds: int, stages: bool
) -> tuple[list[dict[str, list[float]]], str]:
    w = build_world()
    await w.fake.start()
    discord.http.Route.BASE = w.fake.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(w.fake.gateway_url)
    try:
        results = [await one_round(w, replies, n % 2 == 0) for n in range(rounds)]
        return results, (await measure_stages(w, replies) if stages else "")
    finally:
        await w.fake.stop()


def summary(seconds: list[float]) -> tuple[float, float]:
    """Median and p95 in milliseconds."""
    ms = sorted(x * 1000 for x in seconds)
    return statistics.median(ms), ms[round(0.95 * (len(ms) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stages", action="store_true", help="also time each step (bot only)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    results, stages = asyncio.run(measure(args.replies, args.rounds, args.stages))
    ratios, bots, bares = [], [], []
    for n, figures in enumerate(results, 1):
        parts = []
        for name, seconds in figures.items():
            median, p95 = summary(seconds)
            parts.append(f"{name} median {median:.2f} ms, p95 {p95:.2f} ms")
        bot, bare = summary(figures["bot"])[0], summary(figures["bare"])[0]
        bots.append(bot)
        bares.append(bare)
        ratios.append(bot / bare)
        print(f"round {n}, {len(figures['bot'])} replies each: " + "; ".join(parts))
    print(
        f"bare discord.py: min {min(bares):.2f} ms, median {statistics.median(bares):.2f} ms\n"
        f"whole bot: min {min(bots):.2f} ms, median {statistics.median(bots):.2f} ms\n"
        f"ratio min {min(ratios):.2f}\nratio: {statistics.median(ratios):.2f}"
    )
    if stages:
        print(stages)


if __name__ == "__main__":
    main()
