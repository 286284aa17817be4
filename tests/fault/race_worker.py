"""One of two processes racing to verify accounts with the same identity (run by
test_identity_race.py): `python -m tests.fault.race_worker URL WORKER ROUNDS INTERVAL`.

It connects, prints READY, waits for `GO <unix time>` on stdin, then at that time plus
`round * INTERVAL` tries to verify its own account for round `round` with that round's identity,
and finally prints one JSON line: for each round, whether it was stored and when it ran.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime

from bot.model import CommunityRef
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store

COMMUNITY = CommunityRef("matrix", "!race:hs")


async def race(url: str, worker: str, rounds: int, interval: float) -> list[dict[str, object]]:
    store = Store.open(url, pool_size=2)
    try:
        await store.ping()  # connected before the start signal
        print("READY", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        start = float(line.split()[1])
        results: list[dict[str, object]] = []
        for index in range(rounds):
            await asyncio.sleep(max(0.0, start + index * interval - time.time()))
            record = VerificationRecord(
                "matrix",
                f"@{worker}-{index}:hs",
                "oidc",
                "account",
                f"{index:064x}",
                datetime.now(UTC),
            )
            began = time.time()
            stored = await store.store_verification(record, [COMMUNITY], limit=1, bind=True)
            results.append({"round": index, "ok": stored.ok, "began": began, "ended": time.time()})
        return results
    finally:
        await store.close()


def main() -> None:
    url, worker, rounds, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    print(json.dumps(asyncio.run(race(url, worker, rounds, interval))), flush=True)


if __name__ == "__main__":
    main()
