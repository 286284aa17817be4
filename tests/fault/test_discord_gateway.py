"""The gateway under fault: unreadable events, closes Discord resumes and closes it does not.

Real discord.py against the loopback Discord. What is asserted is what members notice: a reply
that should go is removed even when it arrived during a gap, and the bot keeps its session.
"""

from __future__ import annotations

import discord
import pytest

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord.catch_up import STATE_KEY
from bot.model import MessagePosted
from tests.fixtures.discord_fake import (
    AdapterFactory,
    DiscordBot,
    DiscordWorld,
    RecordingSink,
    adapter_config,
)

pytestmark = pytest.mark.discord_fake

HISTORY = r"/channels/\d+/messages"


class MemoryState:
    """The adapter's durable key/value state, as the database keeps it across processes."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def set(self, key: str, value: str) -> None:
        self.values[key] = value


async def test_an_unreadable_event_is_skipped_and_the_session_carries_on(
    discord_bot: DiscordBot, caplog: pytest.LogCaptureFixture
) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    post = await w.fake.push_message(w.general, w.alice, "my news")
    broken = w.world.message_payload(w.general, w.mallory, "secret words", reply_to=post.data)
    no_author = {k: v for k, v in broken.items() if k != "author"}
    bad_channel = {**broken, "id": str(w.world.snowflake()), "channel_id": "not-a-snowflake"}

    await w.fake.dispatch("MESSAGE_CREATE", no_author, w.guild)
    await w.fake.dispatch("MESSAGE_CREATE", bad_channel, w.guild)
    await w.fake.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(w.guild.id), "role": {}}, w.guild)
    unwanted = await w.fake.push_message(w.general, w.mallory, "after them", reply_to=post.data)

    await discord_bot.deleted(unwanted)
    adapter = discord_bot.adapter
    assert w.fake.identifies == 1 and w.fake.gateway_paths == ["/gateway"]  # no new session
    assert adapter._clients.require().ws.session_id == next(iter(w.fake.sessions))
    assert adapter.metrics["bad_gateway_events"] == 3 and adapter.metrics["client_restarts"] == 0
    assert "MESSAGE_CREATE" in caplog.text and "the session carries on" in caplog.text
    assert "secret words" not in caplog.text and str(w.mallory.id) not in caplog.text


async def test_after_a_resumable_close_discord_replays_and_nothing_is_read_back(
    discord_bot: DiscordBot,
) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    post = await w.fake.push_message(w.general, w.alice, "my news")
    await discord_bot.adapter.drained()

    await w.fake.drop_gateway(4000)
    unwanted = await w.fake.push_message(w.general, w.mallory, "meanwhile", reply_to=post.data)
    await w.fake.wait_for_resume()

    await discord_bot.deleted(unwanted)
    assert w.fake.identifies == 1 and w.fake.gateway_paths[-1] == "/resume"
    assert not w.fake.find_requests("GET", HISTORY)  # the replay covered it
    assert discord_bot.adapter.metrics["catch_up_runs"] == 0


@pytest.fixture
def prompt_reidentify(monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py sleeps 5 s before any IDENTIFY but the first (Discord allows one per 5 s);
    the wait changes nothing here but the test's duration."""

    async def at_once(self: discord.Client, shard_id: int | None, *, initial: bool) -> None:
        return None

    monkeypatch.setattr(discord.Client, "before_identify_hook", at_once)


@pytest.mark.parametrize("code", [4007, 4009])
@pytest.mark.usefixtures("prompt_reidentify")
async def test_after_a_non_resumable_close_the_gap_is_read_back_and_judged(
    discord_bot: DiscordBot, code: int
) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    post = await w.fake.push_message(w.general, w.alice, "my news")
    await discord_bot.adapter.drained()

    async with w.fake.identify_held():  # the gap: no session at all
        await w.fake.drop_gateway(code)
        gap = [
            await w.fake.push_message(w.general, w.mallory, f"in the gap {n}", reply_to=post.data)
            for n in range(3)
        ]
        kept = await w.fake.push_message(w.general, w.bob, "harmless")
    await w.fake.wait_for_sessions(1)

    for unwanted in gap:
        path = rf"/channels/{w.general.id}/messages/{unwanted.id}"
        await w.fake.wait_for_request("DELETE", path)
    assert kept.id in w.world.messages and post.id in w.world.messages
    assert w.fake.identifies == 2 and all(p.frames == [] for p in gap)  # never delivered
    (read,) = w.fake.find_requests("GET", rf"/channels/{w.general.id}/messages")
    assert read.query["limit"] == "100" and int(read.query["after"]) >= post.id
    held = await discord_bot.run(w.alice, "held")
    assert "Held for you (3)" in held.given[0]["content"]


async def test_a_restarted_client_reads_back_its_gap(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    adapter = await discord_adapter(sink)
    await w.fake.push_message(w.general, w.alice, "before")
    await sink.next(MessagePosted)

    async with w.fake.identify_held():
        await w.fake.drop_gateway(4013)  # a close discord.py does not survive: Client.connect ends
        await w.fake.push_message(w.general, w.bob, "while restarting")
    await w.fake.wait_for_sessions(1)

    assert (await sink.next(MessagePosted)).text == "while restarting"
    assert adapter.metrics["client_restarts"] == 1 and adapter.metrics["catch_up_runs"] == 1
    assert [e.text for e in sink.events if isinstance(e, MessagePosted)] == [
        "before",
        "while restarting",
    ]


async def test_a_new_process_reads_back_from_where_the_last_one_stopped(
    discord_world: DiscordWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = discord_world
    state = MemoryState()
    config = adapter_config(w)
    assert config.discord is not None
    first_sink, second_sink = RecordingSink(), RecordingSink()
    first = DiscordAdapter(config.discord, config, state)
    await first.start(first_sink)
    await w.fake.push_message(w.general, w.alice, "before")
    await first_sink.next(MessagePosted)
    await first.stop()
    assert STATE_KEY in state.values

    await w.fake.push_message(w.general, w.bob, "while no process ran")
    second = DiscordAdapter(config.discord, config, state)
    try:
        await second.start(second_sink)
        seen = await second_sink.next(MessagePosted)
        await second.drained()
    finally:
        await second.stop()

    assert seen.text == "while no process ran"
    assert [e.text for e in second_sink.events if isinstance(e, MessagePosted)] == [seen.text]


async def test_the_read_back_goes_back_ten_minutes_at_most(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    state = MemoryState()
    an_hour_ago = w.world.snowflake() - (3600 * 1000 << 22)
    state.values[STATE_KEY] = f'{{"{w.general.id}": {an_hour_ago}}}'
    config = adapter_config(w)
    assert config.discord is not None
    adapter = DiscordAdapter(config.discord, config, state)
    try:
        await adapter.start(RecordingSink())
        await adapter.drained()
    finally:
        await adapter.stop()

    (read,) = w.fake.find_requests("GET", rf"/channels/{w.general.id}/messages")
    ten_minutes = 600 * 1000 << 22
    assert int(read.query["after"]) - an_hour_ago > 49 * 60 * 1000 << 22
    assert abs(w.world.snowflake() - ten_minutes - int(read.query["after"])) < 30_000 << 22
