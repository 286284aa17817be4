"""Deciding before delivery (synapse-http-antispam) next to deciding after it, in one run.

Starts two throwaway Synapse homeservers on loopback, configured alike except that one loads
the synapse-http-antispam module pointing at the bot (README, "Deciding before delivery"). On
each, the real core, cogs and Matrix adapter serve a community with alice (filter: replies),
mallory (unverified) and carol. Interleaved, trial by trial:

* send latency: carol's allowed message, from the PUT /send to its answer (what every member's
  client waits for): with the module the homeserver asks the bot first;
* exposure: mallory's reply to alice. After the fact it reaches alice's client and is redacted
  later; before delivery it is refused. Counts how many of those replies alice's client ever
  received, and (after the fact) how long each stayed on screen.

Run by hand, never in tests:

    PYTHONPATH=. .venv/bin/python benchmarks/matrix_before_delivery.py [--trials 200]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from matrix_redaction_latency import Watcher, member  # noqa: E402

from bot.adapters.matrix import MatrixAdapter  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.core import BotCore  # noqa: E402
from bot.demo.homeserver import free_port  # noqa: E402
from bot.model import CommunityRef, FilterLevel, MemberRef  # noqa: E402
from bot.storage import migrate  # noqa: E402
from bot.storage.repo import Store  # noqa: E402
from bot.web.app import WebServer, create_app  # noqa: E402
from cogs.filters import Filters  # noqa: E402
from tests.fakes.matrix_member import MatrixError, MatrixMember  # noqa: E402
from tests.fixtures.antispam_homeserver import antispam_modules  # noqa: E402
from tests.fixtures.synapse import SynapseServer, start_synapse, stop_synapse  # noqa: E402

SECRET = "bench-antispam-secret"


@dataclass
class Side:
    """One homeserver with its community, bot and members, and what was measured there."""

    name: str
    server: SynapseServer
    web_port: int | None  # the bot's web service, where the module asks (None: no module)
    people: dict[str, MatrixMember] = field(default_factory=dict)
    room: str = ""
    post: str = ""
    core: BotCore | None = None
    web: WebServer | None = None
    store: Store | None = None
    watcher: Watcher | None = None
    send_ms: list[float] = field(default_factory=list)
    replies_sent: int = 0
    replies_received: int = 0
    on_screen_ms: list[float] = field(default_factory=list)


async def set_up(side: Side, workdir: Path) -> None:
    names = ("admin", "alice", "mallory", "carol", "verifybot")
    side.people = {n: await member(side.server, n) for n in names}
    admin, bot = side.people["admin"], side.people["verifybot"]
    power = {bot.user_id: 100}
    space = await admin.create_room(space=True, name="Bench", power_users=power)
    side.room = await admin.create_room(name="general", power_users=power)
    await admin.add_child(space, side.room)
    await bot.join(space)
    for name in ("verifybot", "alice", "mallory", "carol"):
        await side.people[name].join(side.room)
    matrix: dict[str, Any] = {
        "homeserver": side.server.base_url,
        "user_id": bot.user_id,
        "access_token": {"env": "BENCH_TOKEN"},
    }
    web: dict[str, Any] = {"enabled": False}
    if side.web_port is not None:
        matrix["antispam"] = {"secret": {"value": SECRET}}
        web = {"listen_port": side.web_port}
    config = parse_config(
        {
            "identity": {"hash_key": {"value": "k" * 32}},
            "methods": {"moderator": {"level": "reviewed"}},
            "web": web,
            "matrix": matrix,
            "communities": [{"network": "matrix", "id": space}],
        }
    ).config
    side.store = Store.open(f"sqlite+aiosqlite:///{workdir}/{side.name}.db")
    await migrate.upgrade(side.store.engine)
    core = side.core = BotCore(config, side.store, cogs=[Filters])
    assert config.matrix is not None
    environ = {"BENCH_TOKEN": bot.access_token}
    core.add_adapter(
        MatrixAdapter(config.matrix, config, core.state_for("matrix"), environ=environ)
    )
    await core.start()
    if side.web_port is not None:
        side.web = WebServer(create_app(core, None), port=side.web_port)
        await side.web.start()
    alice = side.people["alice"]
    await core.cache.set_filter(
        CommunityRef("matrix", space),
        MemberRef("matrix", alice.user_id),
        FilterLevel.REPLIES,
        core.clock(),
    )
    side.watcher = Watcher(alice)
    await side.watcher.start()
    side.post = await alice.send_text(side.room, "alice's post")


async def one_trial(side: Side, n: int, counted: bool) -> None:
    carol, mallory, watcher = side.people["carol"], side.people["mallory"], side.watcher
    assert watcher is not None
    started = time.perf_counter()
    plain = await carol.send_text(side.room, f"plain {n}")
    took = time.perf_counter() - started
    await watcher.until(watcher.arrived, plain)  # delivered, as alice's client sees it
    try:
        reply = await mallory.reply(side.room, side.post, f"unverified reply {n}")
    except MatrixError:
        reply = None  # refused before delivery: nothing reaches anyone
    if not counted:
        return
    side.send_ms.append(took * 1000)
    side.replies_sent += 1
    if reply is not None:
        gone = await watcher.until(watcher.redacted, reply)
        if reply in watcher.arrived:
            side.replies_received += 1
            side.on_screen_ms.append(max(gone - watcher.arrived[reply], 0.0) * 1000)


async def tear_down(side: Side) -> None:
    if side.watcher is not None:
        await side.watcher.stop()
    if side.web is not None:
        await side.web.stop()
    if side.core is not None:
        await side.core.stop()
    if side.store is not None:
        await side.store.close()
    for person in side.people.values():
        await person.close()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="verifybot-bench-") as tmp:
        work = Path(tmp)
        sides = [
            Side("after", start_synapse(work / "plain"), None),
            Side(
                "before",
                start_synapse(work / "module", modules=antispam_modules(port, SECRET)),
                port,
            ),
        ]
        try:
            for side in sides:
                await set_up(side, work)
            for n in range(args.trials + 3):  # the first three warm caches and connections
                for side in sides if n % 2 else reversed(sides):
                    await one_trial(side, n, counted=n >= 3)
        finally:
            for side in sides:
                await tear_down(side)
                stop_synapse(side.server)
    after, before = sides
    print(f"two Synapse homeservers on loopback, {args.trials} interleaved trials each:")
    for side, label in ((after, "without the module"), (before, "with the module   ")):
        print(
            f"  send latency {label}: median {statistics.median(side.send_ms):6.2f} ms,"
            f" p95 {p95(side.send_ms):6.2f} ms"
        )
    added = statistics.median(before.send_ms) - statistics.median(after.send_ms)
    print(f"  added by asking the bot first, median: {added:+.2f} ms (target <= 5 ms)")
    print(
        f"  exposure after the fact : alice's client received {after.replies_received} of"
        f" {after.replies_sent} held replies, on screen median"
        f" {statistics.median(after.on_screen_ms or [0]):.1f} ms,"
        f" p95 {p95(after.on_screen_ms) if len(after.on_screen_ms) > 1 else 0:.1f} ms"
    )
    print(
        f"  exposure before delivery: alice's client received {before.replies_received} of"
        f" {before.replies_sent} held replies (target 0)"
    )
    ratio = statistics.median(before.send_ms) / statistics.median(after.send_ms)
    print(f"ratio: {ratio:.2f} (send latency with / without the module, medians)")


if __name__ == "__main__":
    asyncio.run(main())
