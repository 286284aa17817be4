"""Re-badging returning verified members on the loopback Discord with Discord's rate limits on.

The loopback Discord (tests/fakes/discord_api) limits as Discord does (`enforce_rate_limits`):
the global limit (50 requests a second) and the member-role bucket per guild, with Discord's
X-RateLimit-* headers, and counts every 429 it answers. `--members` verified members (1,000) are
back in the server without the badge; verifybot starts as `run` assembles it (core, Help and
Badges cogs, SQLite storage, the Discord adapter) and restores every badge in the background.
Two cases, each its own fresh world:
* bucket: the member-role bucket binds (`--bucket 40` per `--window 1.0` s, below the global);
* global: a generous bucket (500 per second), so the global limit binds.
For each: the role requests per second achieved (first to last role request) against the
advertised ceiling (the lower of the bucket's rate and the global limit); the ratio is the
requests sent over the most the limits allowed in that span (fixed windows let a window's worth
go at once, so a plain rate over a few windows reads above the ceiling); the 429s; the time until
the bot answered a command and the time until every badge was back.

    PYTHONPATH=. .venv/bin/python benchmarks/rebadge.py [--members 1000] [--rounds 1]

Prints per round and case, then `ratio: X.XX` (achieved / ceiling; the lower case's median).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord.http
import yarl
from discord.gateway import DiscordWebSocket

from bot.adapters.discord import DiscordAdapter
from bot.core import BotCore
from bot.storage import migrate
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.badges import Badges
from cogs.help import Help
from tests.fakes.discord_api.faults import MEMBER_ROLE
from tests.fixtures.discord_fake import DiscordWorld, bot_config, build_world

CASES = {"bucket": None, "global": (500, 1.0)}  # None: the command line's bucket


@dataclass
class Figures:
    achieved: float  # role requests per second
    ceiling: float
    requests: int
    allowed: float  # the most the limits let through in the same span
    too_many: int
    ready: float  # seconds from start to a command's answer
    done: float  # seconds from start to the last badge back

    @property
    def ratio(self) -> float:
        """Requests sent / the most the limits allowed from the first to the last: a fixed
        window lets a whole window's worth go at its start, so a plain rate over a short span
        would read above 1."""
        return self.requests / self.allowed


async def returning(w: DiscordWorld, store: Store, members: int) -> list[int]:
    ids = []
    for n in range(members):
        user = w.world.add_user(f"returning-{n}")
        w.world.add_member(w.guild, user)
        ids.append(user.id)
        await store.save_verification(
            VerificationRecord(
                "discord", str(user.id), "moderator", "reviewed", "h" * 64, datetime.now(UTC)
            )
        )
    return ids


async def one_case(members: int, bucket: tuple[int, float]) -> Figures:
    w = build_world()
    await w.fake.start()
    discord.http.Route.BASE = w.fake.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(w.fake.gateway_url)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await migrate.upgrade(store.engine)
        ids = await returning(w, store, members)
        w.fake.enforce_rate_limits(member_roles=bucket)
        config = bot_config(w)
        assert config.discord is not None
        core = BotCore(config, store, cogs=[Help, Badges])
        core.add_adapter(DiscordAdapter(config.discord, config, core.state_for("discord")))
        started = time.perf_counter()
        try:
            await core.start()
            command = await w.fake.push_command(w.guild, w.general, w.alice, "help")
            await w.fake.wait_until(lambda: command.replies, within=60, what="the /help answer")
            ready = time.perf_counter() - started

            def all_back() -> bool:
                role = w.role_named("Verified")
                return role is not None and all(role.id in w.guild.members[i].roles for i in ids)

            await w.fake.wait_until(all_back, within=members, what="every badge back")
            done = time.perf_counter() - started
        finally:
            await core.stop()
            await store.close()
            await w.fake.stop()
    sent = [r.at for r in w.fake.requests if r.method == "PUT" and _role_path(r.path)]
    span = sent[-1] - sent[0]
    path = f"/guilds/{w.guild.id}/members/1/roles/1"
    ceiling = w.fake.ceiling("PUT", path)
    allowed = w.fake.most_allowed("PUT", path, span)
    return Figures(len(sent) / span, ceiling, len(sent), allowed, w.fake.too_many, ready, done)


def _role_path(path: str) -> bool:
    return re.fullmatch(MEMBER_ROLE, path) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--bucket", type=int, default=40, help="member-role bucket size")
    parser.add_argument("--window", type=float, default=1.0, help="its window in seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    ratios: dict[str, list[float]] = {name: [] for name in CASES}
    for n in range(1, args.rounds + 1):
        for name, bucket in CASES.items():
            figures = asyncio.run(one_case(args.members, bucket or (args.bucket, args.window)))
            ratios[name].append(figures.ratio)
            print(
                f"round {n}, {name} binds, {args.members} members:"
                f" {figures.achieved:.1f} requests/s of a {figures.ceiling:.1f}/s ceiling"
                f", {figures.requests} of at most {figures.allowed:.0f} in that span"
                f" (ratio {figures.ratio:.2f}), {figures.too_many} x 429,"
                f" ready (a command answered) after {figures.ready:.2f} s,"
                f" re-badging done after {figures.done:.2f} s"
            )
    medians = {name: statistics.median(values) for name, values in ratios.items()}
    for name, values in ratios.items():
        print(f"{name}: ratio min {min(values):.2f}, median {medians[name]:.2f}")
    print(f"ratio: {min(medians.values()):.2f}")


if __name__ == "__main__":
    main()
