"""SIGKILL at each step of what people do, then a restart: nothing owed is lost or doubled.

For each step (a held reply, a verification by each method, a revocation, a policy change,
dismissing held items) and each point inside it, a real bot process is killed outright; a new
process on the same database and the same network then starts as the bot always does and the
step is tried again (the network re-delivers an event not marked handled; a person tries again).
Afterwards: the step took effect once, no held item is lost or doubled, no notice is sent twice,
and no badge is shown without a live record behind it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.model import UnverifiedPolicy
from bot.policy import is_verified
from bot.storage.repo import Store
from tests.fault.killable import ALICE, KILL_POINTS, MALLORY, SPACE, VERA, read_log

ROOT = Path(__file__).resolve().parents[2]
CASES = [
    (step, f"{where}:{function}:{when}")
    for step, points in KILL_POINTS.items()
    for where, function, when in points
]


def run_worker(db: str, log: Path, step: str, kill: str) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "tests.fault.killable", db, str(log), step, kill],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, -signal.SIGKILL), done.stderr[-2000:]
    return done.returncode


@pytest.mark.parametrize(("step", "kill"), CASES, ids=[f"{s}-{k}" for s, k in CASES])
async def test_a_step_killed_midway_completes_once_after_a_restart(
    step: str, kill: str, tmp_path: Path
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/verifybot.db"
    log = tmp_path / "network.jsonl"
    assert run_worker(db, log, step, kill) == -signal.SIGKILL, "the kill point was not reached"
    assert run_worker(db, log, step, "none") == 0  # restart, and the step again
    store = Store.open(db)
    try:
        await check_invariants(store, log, step)
    finally:
        await store.close()


async def check_invariants(store: Store, log: Path, step: str) -> None:
    entries = read_log(log)
    badges: dict[str, bool] = {}
    for entry in entries:
        if entry["what"] == "badge":
            badges[entry["member"]] = entry["on"]
    now = datetime.now(UTC)
    accepted = frozenset({"account", "email", "reviewed"})
    for member_id, on in badges.items():  # no badge without a live record behind it
        record = await store.get_verification(VERA if member_id == VERA.id else ALICE)
        assert on == is_verified(record, accepted, now), (member_id, record)
    notices = [e for e in entries if e["what"] == "direct" and e["member"] == MALLORY.id]
    if step in ("hold", "dismiss"):
        assert len(notices) == 1  # the sender is told once
        assert [e for e in entries if e["what"] == "remove"]  # the reply is gone
        held = await store.count_held(ALICE) + await store.count_held(ALICE, status="dismissed")
        assert held == 1  # kept once: not lost, not doubled
        if step == "dismiss":
            assert await store.count_held(ALICE) == 0
    elif step.startswith("verify_"):
        record = await store.get_verification(VERA)
        assert record is not None and badges.get(VERA.id) is True
        if record.method != "moderator":
            holders = await store.accounts_for_identity("matrix", SPACE.id, record.identity_hash)
            assert holders == [VERA.id]
    elif step == "revoke":
        assert await store.active_revocation(VERA) is not None
        assert badges.get(VERA.id) is False
        revoked = await store.get_verification(VERA)
        assert revoked is not None and revoked.revoked_at is not None
    elif step == "policy":
        assert (await store.get_policies(SPACE)).community is UnverifiedPolicy.READ_ONLY
        applied = [e for e in entries if e["what"] == "policy"]
        assert applied and applied[-1]["policy"] == "read_only"
