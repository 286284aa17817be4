"""A bot process that can be killed (SIGKILL, no clean-up) at a named step, for the fault suite.

`python -m tests.fault.killable DB NETWORK_LOG STEP KILL_AT` runs the real core and cogs on a
SQLite database against a "network" whose state survives the process: every action the bot
performs on it (a removal, a badge, a policy) is appended to NETWORK_LOG and fsynced before the
call returns, as a real network would have applied it. KILL_AT names a point (a function and
"before" or "after") where the process kills itself; "none" runs the step to its end.

Steps are what people do: a held reply, a verification by each method, a revocation, a policy
change, dismissing held items. Before the step the bot starts as it always does (badge check,
policies applied again), so a restart after a kill shows what the bot repairs by itself; the
step is then run again, as the network re-delivers an event it was not told was handled, or as
the person tries again.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    Role,
    UnverifiedPolicy,
)
from bot.storage import migrate
from bot.storage.repo import Store
from bot.verification.providers import Proof
from cogs.admin import Admin
from cogs.badges import Badges
from cogs.filters import Filters
from cogs.verification import Verification
from tests.recording import RecordingAdapter

SPACE = CommunityRef("matrix", "!space:hs")
ROOM = ChannelRef(SPACE, "!room:hs")
ALICE = MemberRef("matrix", "@alice:hs")  # filters replies
MALLORY = MemberRef("matrix", "@mallory:hs")  # unverified
VERA = MemberRef("matrix", "@vera:hs")  # verifies
MOD = MemberRef("matrix", "@mod:hs")
CONFIG = parse_config(
    {
        "identity": {"hash_key": {"value": "fault-suite-identity-key-0123456789abcdef"}},
        "methods": {
            "moderator": {"level": "reviewed"},
            "email_code": {"allowed_domains": ["example.org"], "level": "email"},
            "oidc": {"issuer": "http://127.0.0.1:1", "client_id": "c", "level": "account"},
        },
        "defaults": {"badge_check_minutes": 0},
        "matrix": {
            "homeserver": "http://127.0.0.1:1",
            "user_id": "@bot:hs",
            "access_token": {"value": "t"},
        },
    }
).config


class LoggedNetwork(RecordingAdapter):
    """The network: what the bot did to it is durable in a file, like a real homeserver."""

    def __init__(self, log: Path) -> None:
        super().__init__(served=[SPACE])
        self.log = log
        self.members = {m: {SPACE} for m in (ALICE, MALLORY, VERA, MOD)}
        for entry in read_log(log):
            if entry["what"] == "badge":
                member, on = MemberRef("matrix", entry["member"]), entry["on"]
                (self.badges.add if on else self.badges.discard)((member, SPACE))

    def _append(self, **entry: Any) -> None:
        with self.log.open("a") as file:
            file.write(json.dumps(entry) + "\n")
            file.flush()
            os.fsync(file.fileno())

    async def remove_message(self, message: MessageRef, reason: str) -> None:
        await super().remove_message(message, reason)
        self._append(what="remove", message=message.id)

    async def set_badge(self, member: MemberRef, community: CommunityRef, on: bool) -> None:
        await super().set_badge(member, community, on)
        self._append(what="badge", member=member.id, on=on)

    async def apply_policy(
        self,
        scope: CommunityRef | ChannelRef,
        policy: UnverifiedPolicy,
        keep: frozenset[str] = frozenset(),
    ) -> None:
        await super().apply_policy(scope, policy, keep)
        self._append(what="policy", scope=scope.id, policy=policy.value)

    async def send_direct(self, member: MemberRef, text: str) -> None:
        await super().send_direct(member, text)
        self._append(what="direct", member=member.id, text=text[:60])


def read_log(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def kill_at(target: Any, name: str, when: str) -> None:
    """Make `target.name` kill this process before or after it runs."""
    original: Callable[..., Awaitable[Any]] = getattr(target, name)

    @functools.wraps(original)
    async def dying(*args: Any, **kwargs: Any) -> Any:
        if when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = await original(*args, **kwargs)
        if when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(target, name, dying)


@asynccontextmanager
async def running(db: str, log: Path) -> AsyncIterator[tuple[BotCore, LoggedNetwork]]:
    store = Store.open(db)
    await migrate.upgrade(store.engine)
    network = LoggedNetwork(log)
    core = BotCore(
        CONFIG,
        store,
        adapters=[network],
        cogs=[Verification, Badges, Filters, Admin],
        clock=lambda: datetime.now(UTC),
    )
    await core.start()
    try:
        yield core, network
    finally:
        await core.stop()
        await store.close()


async def settle(core: BotCore) -> None:
    """Let start-up's background work (the badge check) finish."""
    for task in [t for t in asyncio.all_tasks() if t.get_name() == "badge check"]:
        await task


def the_reply() -> MessagePosted:
    return MessagePosted(
        MessageRef(ROOM, "$unwanted"), Actor(MALLORY), text="spam", reply_to_author=ALICE
    )


PROOFS = {
    "oidc": Proof("oidc", "account", "o" * 64),
    "email_code": Proof("email_code", "email", "e" * 64),
    "moderator": Proof("moderator", "reviewed", "m" * 64),
}


async def step(core: BotCore, network: LoggedNetwork, name: str) -> None:
    if name == "hold":
        await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, core.clock())
        await core.handle_event(network, the_reply())
    elif name.startswith("verify_"):
        service = core.cog(Verification).service
        assert service is not None
        await service.complete(VERA, SPACE, PROOFS[name.removeprefix("verify_")])
    elif name == "revoke":
        service = core.cog(Verification).service
        assert service is not None
        if await core.store.active_revocation(VERA) is None:
            await service.complete(VERA, SPACE, PROOFS["oidc"])
            await service.revoke(VERA, by=MOD, reason="spam", community=SPACE)
    elif name == "policy":
        invocation = network.invoke(
            "policy", "read_only", member=MOD, community=SPACE, role=Role.ADMIN
        )
        await core.handle_command(network, invocation)
    elif name == "dismiss":
        await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, core.clock())
        await core.handle_event(network, the_reply())
        await core.handle_command(
            network, network.invoke("held", "dismiss", "all", member=ALICE, community=SPACE)
        )


KILL_POINTS: dict[str, Sequence[tuple[str, str, str]]] = {
    # (where, function, before|after); "store" is the Store, "network" the LoggedNetwork
    "hold": [
        ("store", "add_held", "before"),
        ("store", "add_held", "after"),
        ("network", "remove_message", "after"),
    ],
    **{
        f"verify_{method}": [
            ("store", "store_verification", "before"),
            ("store", "store_verification", "after"),
            ("network", "set_badge", "after"),
        ]
        for method in PROOFS
    },
    "revoke": [
        ("store", "revoke_verification", "after"),
        ("network", "set_badge", "after"),
    ],
    "policy": [
        ("store", "set_policy", "after"),
        ("network", "apply_policy", "after"),
    ],
    "dismiss": [("store", "dismiss_all_held", "after")],
}


async def main(db: str, log: Path, name: str, kill: str) -> None:
    async with running(db, log) as (core, network):
        await settle(core)
        if kill != "none":
            where, function, when = kill.split(":")
            kill_at(core.store if where == "store" else network, function, when)
        await step(core, network, name)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]))
