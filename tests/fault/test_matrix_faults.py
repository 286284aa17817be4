"""The homeserver restarts while the bot runs: the bot rides it out, counts the failed syncs,
and judges what members send once the homeserver is back — nothing in the gap is lost."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.model import MessagePosted
from tests.fakes.matrix_member import MatrixMember
from tests.fixtures.matrix_bot import MatrixCommunity
from tests.fixtures.synapse import (
    SynapseServer,
    die_with_parent,
    register_user,
    start_synapse,
    stop_synapse,
    wait_until_up,
)

pytestmark = pytest.mark.synapse


@pytest.fixture
def own_synapse(tmp_path: Path) -> Iterator[SynapseServer]:
    """A homeserver of this test's own, so restarting it disturbs no other test."""
    server = start_synapse(tmp_path / "synapse")
    try:
        yield server
    finally:
        stop_synapse(server)


async def restart(server: SynapseServer, *, down_for: float) -> None:
    """Stop the homeserver, leave it down a while, and start it again on the same port, with
    the same database (the bot's event loop runs on meanwhile)."""
    await asyncio.to_thread(stop_synapse, server)
    await asyncio.sleep(down_for)
    await asyncio.to_thread(start_again, server)


def start_again(server: SynapseServer) -> None:
    command = server.process.args
    with open(server.directory / "stderr.log", "ab") as stderr:
        server.process = subprocess.Popen(
            command,
            cwd=server.directory,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
            start_new_session=True,
        )
    wait_until_up(server, time.monotonic() + 60)


async def test_a_homeserver_restart_loses_nothing(own_synapse: SynapseServer) -> None:
    made: list[MatrixMember] = []

    async def member(name: str) -> MatrixMember:
        account = await register_user(own_synapse, f"{name}-{time.time_ns() % 10**6}")
        made.append(MatrixMember(own_synapse, account.user_id, account.access_token))
        return made[-1]

    admin, bot, carol = await member("admin"), await member("bot"), await member("carol")
    space = await admin.create_room(space=True, name="Community", power_users={bot.user_id: 100})
    room = await admin.create_room(name="general", power_users={bot.user_id: 100})
    await admin.add_child(space, room)
    for joiner, rooms in ((bot, (space, room)), (carol, (room,))):
        for where in rooms:
            await joiner.join(where)
    community = MatrixCommunity(own_synapse, admin, bot, space, room, member)
    adapter, sink, _ = await community.start()
    try:
        await restart(own_synapse, down_for=3.0)
        sent_in_the_gap = await carol.send_text(room, "said while the bot was reconnecting")
        seen = await sink.wait_for(
            MessagePosted, lambda e: e.message.id == sent_in_the_gap, within=30
        )
        assert seen.text == "said while the bot was reconnecting"
        assert adapter.stats()["homeserver_unreachable"] >= 1  # counted for /metrics
    finally:
        await community.stop(adapter)
        for client in made:
            await client.close()
