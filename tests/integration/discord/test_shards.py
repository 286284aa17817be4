"""Discord shards on the loopback Discord: the fake routes like Discord, and each adapter on a
share of the shards sees, and so acts in, only its own guilds."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import pytest

from bot.adapters.discord.client import ShardedGatewayClient
from bot.adapters.discord.shards import shard_of
from bot.model import MemberJoined, MessagePosted
from tests.fakes.discord_api import Guild
from tests.fixtures.discord_fake import AdapterFactory, DiscordWorld, RecordingSink

pytestmark = pytest.mark.discord_fake


def second_guild(w: DiscordWorld) -> Guild:
    """A guild on the other of two shards than the seeded one, with the bot and alice in it."""
    other = 1 - shard_of(w.guild.id, 2)
    guild = w.world.add_guild("Other Guild", w.owner, shard=(other, 2))
    w.world.add_channel(guild, "general")
    w.world.add_member(guild, w.world.bot, ())
    w.world.add_member(guild, w.alice, ())
    return guild


class QuickShards(discord.AutoShardedClient):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No 5 s pause between IDENTIFYs: the loopback Discord has no identify limit."""


async def test_each_shard_gets_its_own_guilds_and_only_their_events(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    other = second_guild(w)
    by_shard = {shard_of(w.guild.id, 2): w.guild, shard_of(other.id, 2): other}
    sinks = {0: RecordingSink(), 1: RecordingSink()}
    adapters = {s: await discord_adapter(sinks[s], shard_count=2, shard_ids=[s]) for s in (0, 1)}
    for shard, adapter in adapters.items():
        assert [c.id for c in adapter.communities()] == [str(by_shard[shard].id)]
    sessions = sorted(w.fake.sessions.values(), key=lambda s: s.shard or (0, 0))
    assert [s.shard for s in sessions] == [(0, 2), (1, 2)]
    for session in sessions:
        assert session.shard is not None
        ready = next(f for f in session.frames if f.event == "READY")
        assert ready.data["shard"] == list(session.shard)
        assert [g["id"] for g in ready.data["guilds"]] == [str(by_shard[session.shard[0]].id)]
        created = [f.data["id"] for f in session.frames if f.event == "GUILD_CREATE"]
        assert created == [str(by_shard[session.shard[0]].id)]

    for shard, guild in by_shard.items():
        channel = next(iter(guild.channels.values()))
        await w.fake.push_message(channel, w.alice, f"hello shard {shard}")
        await w.fake.push_member_join(guild, w.world.add_user(f"newcomer{shard}"))
    for shard, sink in sinks.items():
        posted = await sink.next(MessagePosted)
        assert posted.text == f"hello shard {shard}"
        assert (await sink.next(MemberJoined)).community.id == str(by_shard[shard].id)
    for adapter in adapters.values():
        await adapter.drained()
    assert [len(s.events) for s in sinks.values()] == [2, 2]  # nothing of the other's guild


async def test_one_process_on_every_shard_sees_every_guild(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    other = second_guild(w)
    sink = RecordingSink()
    adapter = await discord_adapter(sink, shard_count=2)
    assert sorted(c.id for c in adapter.communities()) == sorted([str(w.guild.id), str(other.id)])
    assert sorted(s.shard or (0, 0) for s in w.fake.sessions.values()) == [(0, 2), (1, 2)]
    await w.fake.push_message(next(iter(other.channels.values())), w.alice, "over there")
    assert (await sink.next(MessagePosted)).text == "over there"


async def test_direct_messages_go_to_shard_zero_and_gateway_bot_advertises_shards(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    w.fake.shard_count = 3
    headers = {"Authorization": f"Bot {w.world.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{w.fake.api_base}/gateway/bot", headers=headers) as answer,
    ):
        advertised = await answer.json()
    assert advertised["shards"] == 3 and advertised["url"] == w.fake.gateway_url

    # discord.py without a shard count asks /gateway/bot and opens every advertised shard
    client = QuickShards(intents=discord.Intents(guilds=True))
    running = asyncio.create_task(client.start(w.world.token))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 10)
        assert client.shard_count == 3
        assert sorted(s.shard or (0, 0) for s in w.fake.sessions.values()) == [
            (0, 3),
            (1, 3),
            (2, 3),
        ]
    finally:
        await client.close()
        await asyncio.wait_for(running, 5)

    w.fake.sessions.clear()
    sinks = {0: RecordingSink(), 1: RecordingSink()}
    for s in (0, 1):
        await discord_adapter(sinks[s], shard_count=2, shard_ids=[s])
    frames = await w.fake.dispatch("MESSAGE_CREATE", {"id": "1", "channel_id": "2"}, None)
    assert [f.session_id for f in frames] == [
        s.id for s in w.fake.sessions.values() if s.shard == (0, 2)
    ]


async def test_one_shards_new_session_reads_back_what_it_missed(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """discord.py says `ready` once for all shards; a single shard's new session (after a close
    Discord does not resume) must still read back the messages sent while it was away."""
    monkeypatch.setattr(
        ShardedGatewayClient, "before_identify_hook", QuickShards.before_identify_hook
    )
    w = discord_world
    other = second_guild(w)
    channel = next(iter(other.channels.values()))
    sink = RecordingSink()
    await discord_adapter(sink, shard_count=2)
    await w.fake.push_message(channel, w.alice, "before")
    assert (await sink.next(MessagePosted)).text == "before"
    identified = w.fake.identifies
    async with w.fake.identify_held():
        await w.fake.drop_gateway(4009, shard=shard_of(other.id, 2))
        await w.fake.push_message(channel, w.alice, "while away")
    await w.fake.wait_until(lambda: w.fake.identifies > identified, what="a new IDENTIFY")
    assert (await sink.next(MessagePosted, within=10)).text == "while away"
    assert w.fake.identifies == identified + 1  # only the dropped shard started anew
