"""The loopback Discord is only worth something if the real discord.py accepts it as Discord.

These tests drive a plain `discord.Client` (no verifybot code) through what the adapter relies on.
"""

from __future__ import annotations

import discord
import pytest
from discord import app_commands

from tests.fixtures.discord_fake import ClientFactory, DiscordWorld, LoopbackClient

pytestmark = pytest.mark.discord_fake


async def test_login_identifies_and_sees_the_guild(
    discord_world: DiscordWorld, discord_client: ClientFactory
) -> None:
    client = await discord_client()

    assert client.user is not None and client.user.id == discord_world.world.bot.id
    guild = client.get_guild(discord_world.guild.id)
    assert guild is not None and guild.member_count == len(discord_world.guild.members)
    assert guild.get_member(discord_world.alice.id) is not None
    assert guild.me.top_role.id == discord_world.bot_role.id
    login = [(r.method, r.path) for r in discord_world.fake.requests[:2]]
    assert login == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]
    assert discord_world.fake.heartbeats >= 1  # discord.py beats at once on HELLO; we ACK it


async def test_bad_token_is_refused(discord_world: DiscordWorld) -> None:
    client = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()


async def test_reply_arrives_with_its_reference_and_can_be_deleted(
    discord_world: DiscordWorld, discord_client: ClientFactory
) -> None:
    w = discord_world
    client = await discord_client()
    inbox, deleted = client.inbox("message"), client.inbox("raw_message_delete")

    original = await w.fake.push_message(w.general, w.alice, "hello")
    reply = await w.fake.push_message(w.general, w.mallory, "hi <@x>", reply_to=original.data)
    first, second = await inbox.next(), await inbox.next()

    assert first.content == "hello" and second.id == reply.id
    assert second.reference is not None and second.reference.message_id == original.id
    assert isinstance(second.reference.resolved, discord.Message)
    assert second.reference.resolved.author.id == w.alice.id
    assert [m.id for m in second.mentions] == [w.alice.id]  # a pinging reply mentions its target

    await second.delete()
    assert (await deleted.next()).message_id == reply.id
    assert reply.id not in w.world.messages
    with pytest.raises(discord.NotFound) as gone:
        await client.http.get_message(w.general.id, reply.id)
    assert gone.value.code == 10008


async def test_role_grant_follows_the_hierarchy(
    discord_world: DiscordWorld, discord_client: ClientFactory
) -> None:
    w = discord_world
    client = await discord_client()
    guild = client.get_guild(w.guild.id)
    assert guild is not None
    updated = client.inbox("member_update")

    role = await guild.create_role(name="Verified", colour=discord.Colour(0x2ECC71))
    created = w.role_named("Verified")
    assert created is not None and created.position == 1 and created.colour == 0x2ECC71
    member = guild.get_member(w.alice.id)
    assert member is not None
    await member.add_roles(role)
    assert created.id in w.member_role_ids(w.alice)
    assert role in (await updated.next())[1].roles  # the cache follows GUILD_MEMBER_UPDATE

    admin_role = guild.get_role(w.admin_role.id)
    assert admin_role is not None
    w.admin_role.position = w.bot_role.position + 1  # the fake's truth: above the bot's role
    with pytest.raises(discord.Forbidden) as refused:
        await member.add_roles(admin_role)
    assert refused.value.code == 50013 and w.admin_role.id not in w.member_role_ids(w.alice)


async def test_a_429_is_retried_after_retry_after(
    discord_world: DiscordWorld, discord_client: ClientFactory
) -> None:
    w = discord_world
    client = await discord_client()
    pushed = await w.fake.push_message(w.general, w.mallory, "spam")
    w.fake.fail_next("DELETE", rf"/channels/{w.general.id}/messages/\d+", retry_after=0.3)

    await client.http.delete_message(w.general.id, pushed.id)

    first, second = w.fake.find_requests("DELETE", rf"/channels/{w.general.id}/messages/\d+")
    assert (first.status, second.status) == (429, 204)
    assert second.at - first.at >= 0.3
    assert pushed.id not in w.world.messages


async def test_rate_limit_headers_make_the_client_wait(
    discord_world: DiscordWorld, discord_client: ClientFactory
) -> None:
    w = discord_world
    client = await discord_client()
    w.fake.rate_limit("POST", rf"/channels/{w.general.id}/messages", limit=2, window=0.4)
    channel = client.get_channel(w.general.id)
    assert isinstance(channel, discord.TextChannel)

    for n in range(3):
        await channel.send(f"notice {n}")

    sent = w.fake.find_requests("POST", rf"/channels/{w.general.id}/messages")
    assert [r.status for r in sent] == [200, 200, 200]  # the bucket was respected, no 429
    assert sent[2].at - sent[0].at >= 0.3


async def test_gateway_drop_resumes_without_losing_events(
    discord_world: DiscordWorld, discord_client: ClientFactory
) -> None:
    w = discord_world
    client = await discord_client()
    inbox = client.inbox("message")

    await w.fake.drop_gateway()
    missed = await w.fake.push_message(w.general, w.bob, "sent while the bot was away")
    await w.fake.wait_for_resume()
    after = await w.fake.push_message(w.general, w.bob, "sent after the resume")

    assert [(await inbox.next()).id, (await inbox.next()).id] == [missed.id, after.id]
    assert w.fake.identifies == 1 and w.fake.gateway_paths == ["/gateway", "/resume"]


async def test_reaction_add_carries_the_message_author_and_can_be_removed(
    discord_world: DiscordWorld, discord_client: ClientFactory
) -> None:
    w = discord_world
    client = await discord_client()
    added, removed = client.inbox("raw_reaction_add"), client.inbox("raw_reaction_remove")
    message = await w.fake.push_message(w.general, w.alice, "react to me")

    await w.fake.push_reaction(message.data, w.mallory, "👎")
    event = await added.next()
    assert (event.message_author_id, event.user_id, str(event.emoji)) == (
        w.alice.id,
        w.mallory.id,
        "👎",
    )
    await client.http.remove_reaction(w.general.id, message.id, "👎", w.mallory.id)
    assert (await removed.next()).user_id == w.mallory.id
    assert w.world.reactions[message.id] == set()


async def test_slash_command_gets_an_ephemeral_answer(
    discord_world: DiscordWorld, discord_client: ClientFactory
) -> None:
    w = discord_world
    client = LoopbackClient()
    tree = app_commands.CommandTree(client)
    guild_object = discord.Object(w.guild.id)

    @tree.command(name="filter", description="Set your filter", guild=guild_object)
    @app_commands.choices(level=[app_commands.Choice(name=v, value=v) for v in ("off", "all")])
    async def filter_command(interaction: discord.Interaction, level: str) -> None:
        await interaction.response.send_message(f"filter is {level}", ephemeral=True)

    await discord_client(client)
    await tree.sync(guild=guild_object)

    record = await w.fake.push_command(w.guild, w.general, w.alice, "filter", level="all")
    await w.fake.wait_until(lambda: record.given, what="the interaction reply")

    callback = w.fake.find_requests("POST", rf"/interactions/{record.id}/.+/callback")[0]
    assert not callback.authorized and callback.query == {"with_response": "1"}
    assert record.replies == [
        {
            "kind": "callback",
            "type": 4,
            "content": "filter is all",
            "ephemeral": True,
            "message_id": record.given[0]["message_id"],
        }
    ]


async def test_automod_keyword_rule_blocks_before_delivery(
    discord_world: DiscordWorld, discord_client: ClientFactory
) -> None:
    w = discord_world
    client = await discord_client()
    guild = client.get_guild(w.guild.id)
    assert guild is not None
    inbox = client.inbox("message")
    trigger = discord.AutoModTrigger(
        type=discord.AutoModRuleTriggerType.keyword, keyword_filter=[f"<@{w.alice.id}>"]
    )
    block = [discord.AutoModRuleAction(custom_message="Verify to mention this member")]
    await guild.create_automod_rule(
        name="protect",
        event_type=discord.AutoModRuleEventType.message_send,
        trigger=trigger,
        actions=block,
        enabled=True,
        exempt_roles=[guild.get_role(w.moderator_role.id)],  # type: ignore[list-item]
    )

    stopped = await w.fake.push_message(w.general, w.mallory, f"hey <@{w.alice.id}>")
    exempt = await w.fake.push_message(w.general, w.moderator, f"hey <@{w.alice.id}>")

    assert stopped.blocked_by is not None
    assert (await inbox.next()).id == exempt.id

    for n in range(5):
        await guild.create_automod_rule(
            name=f"extra {n}",
            event_type=discord.AutoModRuleEventType.message_send,
            trigger=discord.AutoModTrigger(
                type=discord.AutoModRuleTriggerType.keyword, keyword_filter=[f"w{n}"]
            ),
            actions=block,
        )
    with pytest.raises(discord.HTTPException) as seventh:
        await guild.create_automod_rule(
            name="one too many",
            event_type=discord.AutoModRuleEventType.message_send,
            trigger=trigger,
            actions=block,
        )
    assert seventh.value.status == 400 and seventh.value.code == 50035
