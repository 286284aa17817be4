"""How long a filtered member can see an unverified reply before verifybot redacts it.

Runs a throwaway Synapse on loopback, the real core, cogs and Matrix adapter, and three members:
alice (filter: replies), mallory (unverified, replies to alice) and carol (a plain poster). Alice's
client long-polls /sync as a real client does. For each trial it measures, from just before the
send to arrival in alice's sync:

* plain delivery: carol's message reaching alice (the floor: one send, one sync wake-up);
* redaction visible: mallory's reply being redacted, as alice's client receives the redaction.

Prints the medians side by side. Run by hand, never in tests:

    .venv/bin/python benchmarks/matrix_redaction_latency.py [--trials 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.adapters.matrix import MatrixAdapter  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.core import BotCore  # noqa: E402
from bot.model import CommunityRef, FilterLevel, MemberRef  # noqa: E402
from bot.storage import migrate  # noqa: E402
from bot.storage.repo import Store  # noqa: E402
from cogs.admin import Admin  # noqa: E402
from cogs.badges import Badges  # noqa: E402
from cogs.filters import Filters  # noqa: E402
from cogs.help import Help  # noqa: E402
from tests.fakes.matrix_member import MatrixMember  # noqa: E402
from tests.fixtures.synapse import SynapseServer, register_user, start_synapse, stop_synapse  # noqa: E402


class Watcher:
    """Alice's client: syncs continuously and notes when each event (or redaction) arrives."""

    def __init__(self, member: MatrixMember) -> None:
        self.member = member
        self.arrived: dict[str, float] = {}  # event id -> monotonic arrival
        self.redacted: dict[str, float] = {}  # redacted event id -> arrival of the redaction
        self._news = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.member.start_watching()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            for event in await self.member.sync(timeout_ms=30_000):
                self.arrived[str(event.event.get("event_id"))] = event.received_at
                if event.type == "m.room.redaction":
                    target = event.event.get("redacts") or event.content.get("redacts")
                    self.redacted[str(target)] = event.received_at
            self._news.set()

    async def until(self, table: dict[str, float], event_id: str, within: float = 30) -> float:
        deadline = time.monotonic() + within
        while event_id not in table:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{event_id} not seen by alice within {within} s")
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await self._news.wait()
        return table[event_id]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def member(server: SynapseServer, name: str) -> MatrixMember:
    account = await register_user(server, f"{name}-{time.time_ns() % 10**9}")
    return MatrixMember(server, account.user_id, account.access_token)


async def measure(server: SynapseServer, workdir: Path, trials: int) -> dict[str, object]:
    admin, alice, mallory, carol = [
        await member(server, n) for n in ("admin", "alice", "mallory", "carol")
    ]
    bot = await member(server, "verifybot")
    power = {bot.user_id: 100}
    space = await admin.create_room(space=True, name="Bench", power_users=power)
    room = await admin.create_room(name="general", power_users=power)
    await admin.add_child(space, room)
    for person in (bot, alice, mallory, carol):
        if person is bot:
            await person.join(space)
        await person.join(room)

    config = parse_config(
        {
            "identity": {"hash_key": {"value": "k" * 32}},
            "methods": {"moderator": {"level": "reviewed"}},
            "matrix": {
                "homeserver": server.base_url,
                "user_id": bot.user_id,
                "access_token": {"env": "BENCH_TOKEN"},
            },
            "communities": [{"network": "matrix", "id": space}],
        }
    ).config
    store = Store.open(f"sqlite+aiosqlite:///{workdir}/bench.db")
    await migrate.upgrade(store.engine)
    core = BotCore(config, store, cogs=[Help, Badges, Filters, Admin])
    assert config.matrix is not None
    adapter = MatrixAdapter(
        config.matrix, config, core.state_for("matrix"), environ={"BENCH_TOKEN": bot.access_token}
    )
    core.add_adapter(adapter)
    await core.start()
    await core.cache.set_filter(
        CommunityRef("matrix", space),
        MemberRef("matrix", alice.user_id),
        FilterLevel.REPLIES,
        core.clock(),
    )
    watcher = Watcher(alice)
    await watcher.start()
    plain: list[float] = []
    redaction: list[float] = []
    visible: list[float] = []
    try:
        post = await alice.send_text(room, "alice's post")
        for n in range(trials + 2):  # the first two warm caches and connections
            sent = time.monotonic()
            plain_id = await carol.send_text(room, f"plain {n}")
            plain_at = await watcher.until(watcher.arrived, plain_id) - sent

            sent = time.monotonic()
            reply_id = await mallory.reply(room, post, f"unverified reply {n}")
            gone_at = await watcher.until(watcher.redacted, reply_id)
            seen_at = await watcher.until(watcher.arrived, reply_id)
            if n >= 2:
                plain.append(plain_at)
                redaction.append(gone_at - sent)
                visible.append(max(gone_at - seen_at, 0.0))
    finally:
        await watcher.stop()
        await core.stop()
        await store.close()
        for person in (admin, alice, mallory, carol, bot):
            await person.close()
    stats = adapter.queue_stats()
    return {
        "trials": trials,
        "plain_delivery_median_ms": round(statistics.median(plain) * 1000, 1),
        "redaction_visible_median_ms": round(statistics.median(redaction) * 1000, 1),
        "reply_on_screen_median_ms": round(statistics.median(visible) * 1000, 1),
        "plain_delivery_p90_ms": round(statistics.quantiles(plain, n=10)[-1] * 1000, 1),
        "redaction_visible_p90_ms": round(statistics.quantiles(redaction, n=10)[-1] * 1000, 1),
        "plain_delivery_p95_ms": round(statistics.quantiles(plain, n=20)[-1] * 1000, 1),
        "redaction_visible_p95_ms": round(statistics.quantiles(redaction, n=20)[-1] * 1000, 1),
        "ratio": round(statistics.median(redaction) / statistics.median(plain), 2),
        "queue_high_water": stats.high_water,
        "sync_waited_for_queue": stats.blocked_puts,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="verifybot-bench-") as tmp:
        server = start_synapse(Path(tmp) / "synapse")
        try:
            result = await measure(server, Path(tmp), args.trials)
        finally:
            stop_synapse(server)
    if args.json:
        print(json.dumps(result))
        return
    print(f"Synapse on loopback, {result['trials']} trials (same run, same server):")
    print(f"  plain message delivery, median    {result['plain_delivery_median_ms']:>7} ms")
    print(f"  unverified reply -> redaction seen {result['redaction_visible_median_ms']:>7} ms")
    print(f"  reply visible before redaction     {result['reply_on_screen_median_ms']:>7} ms")
    print(
        f"  p90: delivery {result['plain_delivery_p90_ms']} ms,"
        f" redaction {result['redaction_visible_p90_ms']} ms"
    )
    print(
        f"  p95: delivery {result['plain_delivery_p95_ms']} ms,"
        f" redaction {result['redaction_visible_p95_ms']} ms"
    )
    print(f"ratio: {result['ratio']:.2f} (redaction seen / plain delivery, medians)")


if __name__ == "__main__":
    asyncio.run(main())
