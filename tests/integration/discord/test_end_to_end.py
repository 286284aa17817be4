"""verifybot on Discord, end to end: the real core, cogs, storage and adapter, real discord.py,
against the loopback Discord.

Assertions are about what people on Discord would notice (roles, overwrites, deleted messages and
reactions, ephemeral answers, DMs, admin notices), checked on the fake's side of the wire.
Verification is granted through the storage layer, as the identity checks will.
"""

from __future__ import annotations

import pytest

from tests.fakes.discord_api import Perm
from tests.fixtures.discord_fake import DiscordBot

pytestmark = pytest.mark.discord_fake


async def test_slash_command_answers_ephemerally(discord_bot: DiscordBot) -> None:
    w = discord_bot.w
    record = await discord_bot.run(w.alice, "filter", level="replies")

    (answer,) = record.replies
    assert answer["ephemeral"] and answer["content"].startswith("Your filter is now replies")
    denied = await discord_bot.run(w.alice, "policy", level="read_only")
    assert denied.given[0]["ephemeral"] and "Only an admin" in denied.given[0]["content"]
    assert w.guild.id not in w.general.overwrites


async def test_badge_role_is_granted_and_removed(discord_bot: DiscordBot) -> None:
    w = discord_bot.w
    badge = w.role_named("Verified")
    assert badge is not None

    await discord_bot.verify(w.alice)
    assert badge.id in w.member_role_ids(w.alice)
    await discord_bot.unverify(w.alice)
    assert badge.id not in w.member_role_ids(w.alice)


async def test_bot_role_too_low_tells_admins_and_carries_on(discord_bot: DiscordBot) -> None:
    w = discord_bot.w
    badge = w.role_named("Verified")
    assert badge is not None
    badge.position, w.bot_role.position = w.bot_role.position, badge.position
    await w.fake.dispatch(
        "GUILD_ROLE_UPDATE", {"guild_id": str(w.guild.id), "role": badge.payload()}, w.guild
    )
    await w.fake.dispatch(
        "GUILD_ROLE_UPDATE", {"guild_id": str(w.guild.id), "role": w.bot_role.payload()}, w.guild
    )
    await discord_bot.run(w.alice, "help")  # the role updates have been read by now

    await discord_bot.verify(w.alice)

    notices = [m["content"] for m in w.fake.bot_messages(w.log_channel.id)]
    assert any("drag verifybot above Verified" in n for n in notices)
    assert badge.id not in w.member_role_ids(w.alice)
    assert (await discord_bot.run(w.bob, "filter", level="all")).replies  # still answering


async def test_read_only_policy_becomes_a_channel_overwrite(discord_bot: DiscordBot) -> None:
    w = discord_bot.w
    record = await discord_bot.run(w.admin, "policy", channel=w.general, level="read_only")

    assert "is now read only" in record.given[0]["content"]
    badge = w.role_named("Verified")
    assert badge is not None
    assert w.general.overwrites[w.guild.id].deny & Perm.SEND_MESSAGES
    assert w.general.overwrites[badge.id].allow & Perm.SEND_MESSAGES
    mallory = w.guild.members[w.mallory.id]
    assert not w.guild.channel_permissions(mallory, w.general) & Perm.SEND_MESSAGES


async def test_unverified_reply_to_a_filtered_member_is_deleted_and_held(
    discord_bot: DiscordBot,
) -> None:
    w = discord_bot.w
    await discord_bot.verify(w.bob)
    await discord_bot.run(w.alice, "filter", level="replies")
    post = await w.fake.push_message(w.general, w.alice, "my news")

    kept = await w.fake.push_message(w.general, w.bob, "congratulations", reply_to=post.data)
    unwanted = await w.fake.push_message(w.general, w.mallory, "click here", reply_to=post.data)
    await discord_bot.deleted(unwanted)
    await discord_bot.adapter.drained()

    assert unwanted.id not in w.world.messages and kept.id in w.world.messages
    assert not w.fake.find_requests("DELETE", rf"/channels/\d+/messages/{kept.id}")
    held = await discord_bot.run(w.alice, "held")
    listing = held.given[0]["content"]
    assert held.given[0]["ephemeral"] and "Held for you (1)" in listing and "click here" in listing
    notice = await w.fake.wait_until(lambda: w.fake.dm_messages(w.mallory), what="a DM to mallory")
    told = notice[0]["content"]
    assert f"Your reply in <#{w.general.id}> (“click here”) was removed for everyone" in told
    assert "the member you replied to limits replies" in told and "/verify" in told


async def test_unverified_reaction_on_a_filtered_members_message_is_removed(
    discord_bot: DiscordBot,
) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    post = await w.fake.push_message(w.general, w.alice, "my news")

    await w.fake.push_reaction(post.data, w.mallory, "👎")

    path = rf"/channels/{w.general.id}/messages/{post.id}/reactions/.+/{w.mallory.id}"
    await w.fake.wait_for_request("DELETE", path)
    assert w.world.reactions[post.id] == set() and post.id in w.world.messages


async def test_returning_verified_member_gets_the_badge_back(discord_bot: DiscordBot) -> None:
    w = discord_bot.w
    await discord_bot.verify(w.bob)
    badge = w.role_named("Verified")
    assert badge is not None

    await w.fake.push_member_leave(w.guild, w.bob)
    await w.fake.push_member_join(w.guild, w.bob)

    await w.fake.wait_until(lambda: badge.id in w.member_role_ids(w.bob), what="the badge back")


async def test_a_429_on_delete_is_retried_after_retry_after(discord_bot: DiscordBot) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    post = await w.fake.push_message(w.general, w.alice, "my news")
    w.fake.fail_next("DELETE", rf"/channels/{w.general.id}/messages/\d+", retry_after=0.25)

    unwanted = await w.fake.push_message(w.general, w.mallory, "spam", reply_to=post.data)
    path = rf"/channels/{w.general.id}/messages/{unwanted.id}"
    await w.fake.wait_for_request("DELETE", path, count=2)

    first, second = w.fake.find_requests("DELETE", path)
    assert (first.status, second.status) == (429, 204) and second.at - first.at >= 0.25
    assert unwanted.id not in w.world.messages
    assert discord_bot.adapter.metrics["http_429"] == 1


async def test_gateway_drop_resumes_and_loses_no_event(discord_bot: DiscordBot) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    post = await w.fake.push_message(w.general, w.alice, "my news")

    await w.fake.drop_gateway()
    unwanted = await w.fake.push_message(
        w.general, w.mallory, "while you were away", reply_to=post.data
    )
    await w.fake.wait_for_resume()

    await discord_bot.deleted(unwanted)
    assert w.fake.identifies == 1 and w.fake.gateway_paths[-1] == "/resume"


async def test_choosing_a_filter_blocks_mentions_before_they_are_sent(
    discord_bot: DiscordBot,
) -> None:
    w = discord_bot.w
    await discord_bot.verify(w.bob)
    await discord_bot.run(w.alice, "filter", level="replies")

    stopped = await w.fake.push_message(w.general, w.mallory, f"hey <@{w.alice.id}>")
    allowed = await w.fake.push_message(w.general, w.bob, f"hey <@{w.alice.id}>")
    assert stopped.blocked_by is not None and not allowed.blocked_by

    await discord_bot.run(w.alice, "filter", level="off")
    assert not (await w.fake.push_message(w.general, w.mallory, f"hi <@{w.alice.id}>")).blocked_by


async def test_a_thread_follows_its_parent_channels_policy(discord_bot: DiscordBot) -> None:
    w = discord_bot.w
    await discord_bot.run(w.admin, "policy", channel=w.general, level="limited")
    thread = await w.fake.push_thread(w.guild, w.general, w.alice, "ideas")

    linked = await w.fake.push_message(thread, w.mallory, "see https://spam.example")
    await discord_bot.deleted(linked)
    plain = await w.fake.push_message(thread, w.mallory, "a thought")
    await discord_bot.adapter.drained()
    assert linked.id not in w.world.messages and plain.id in w.world.messages
