"""Two bot processes on one PostgreSQL database race to verify two accounts with one identity,
round after round, at the same moment. The limit (one account per identity per community) is
kept by the database: in every round exactly one account is stored, and the loser's record is
not stored either (all or nothing)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.model import MemberRef
from bot.storage.repo import Store
from tests.fault.race_worker import COMMUNITY

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 150
INTERVAL = 0.02


def _start(url: str, worker: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fault.race_worker", url, worker, str(ROUNDS), str(INTERVAL)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


async def test_two_processes_cannot_both_verify_one_identity(pg_store: Store, pg_url: str) -> None:
    workers = {name: _start(pg_url, name) for name in ("a", "b")}
    try:
        for proc in workers.values():
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "READY"
        go = f"GO {time.time() + 0.3}\n"
        outputs = {}
        for proc in workers.values():
            assert proc.stdin is not None
            proc.stdin.write(go)
            proc.stdin.flush()
        for name, proc in workers.items():
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0
            outputs[name] = json.loads(out.strip().splitlines()[-1])
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.kill()
    a, b = outputs["a"], outputs["b"]
    winners = [int(x["ok"]) + int(y["ok"]) for x, y in zip(a, b, strict=True)]
    overlapping = sum(
        1 for x, y in zip(a, b, strict=True) if x["began"] < y["ended"] and y["began"] < x["ended"]
    )
    print(f"{ROUNDS} rounds, {overlapping} with both attempts in flight at once")
    assert winners == [1] * ROUNDS  # never both, never neither
    assert overlapping >= ROUNDS // 4, "the two processes did not really race"
    for index in range(ROUNDS):
        holders = await pg_store.accounts_for_identity("matrix", COMMUNITY.id, f"{index:064x}")
        loser = "b" if a[index]["ok"] else "a"
        assert len(holders) == 1
        assert await pg_store.get_verification(MemberRef("matrix", f"@{loser}-{index}:hs")) is None
