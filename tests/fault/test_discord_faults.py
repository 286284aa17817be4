"""Discord's API under strain: bursts of 429 and 5xx while the bot deletes, notifies and sets roles.

The whole bot (core, cogs, storage, adapter) runs with real discord.py against the loopback
Discord. discord.py waits out a 429 and retries 500/502/504/524 itself; what still fails must end
as a counted, logged failure with words a person can act on — never a crash or a restart.
"""

from __future__ import annotations

import pytest

from bot.adapters.base import AdapterError
from bot.model import ChannelRef, CommunityRef, MemberRef
from tests.fakes.discord_api import Pushed
from tests.fixtures.discord_fake import DiscordBot

pytestmark = pytest.mark.discord_fake

ANY_MESSAGE = r"/channels/\d+/messages/\d+"


async def filtered_reply(bot: DiscordBot, text: str) -> Pushed:
    """Mallory's reply to a post of Alice, who filters replies: one the bot must remove."""
    w = bot.w
    post = await w.fake.push_message(w.general, w.alice, "my news")
    return await w.fake.push_message(w.general, w.mallory, text, reply_to=post.data)


async def test_a_burst_of_429s_is_waited_out_and_the_reply_still_goes(
    discord_bot: DiscordBot,
) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    w.fake.fail_next("DELETE", ANY_MESSAGE, count=3, retry_after=0.1)

    unwanted = await filtered_reply(discord_bot, "spam")
    path = rf"/channels/{w.general.id}/messages/{unwanted.id}"
    await w.fake.wait_for_request("DELETE", path, count=4)

    statuses = [r.status for r in w.fake.find_requests("DELETE", path)]
    assert statuses == [429, 429, 429, 204] and unwanted.id not in w.world.messages
    adapter = discord_bot.adapter
    assert adapter.metrics["http_429"] == 3 and adapter.metrics["client_restarts"] == 0


async def test_a_passing_500_is_retried_by_discord_py_and_counted(discord_bot: DiscordBot) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    w.fake.fail_next("DELETE", ANY_MESSAGE, status=500)

    unwanted = await filtered_reply(discord_bot, "spam")
    path = rf"/channels/{w.general.id}/messages/{unwanted.id}"
    await w.fake.wait_for_request("DELETE", path, count=2, within=5)

    assert [r.status for r in w.fake.find_requests("DELETE", path)] == [500, 204]
    assert discord_bot.adapter.metrics["http_5xx"] == 1


async def test_a_long_outage_is_a_counted_failure_and_the_bot_carries_on(
    discord_bot: DiscordBot, caplog: pytest.LogCaptureFixture
) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    w.fake.fail_next("DELETE", ANY_MESSAGE, status=503, count=1_000)

    stuck = await filtered_reply(discord_bot, "during the outage")
    await discord_bot.deleted(stuck)
    await discord_bot.adapter.drained()
    w.fake.recover()
    after = await filtered_reply(discord_bot, "after the outage")
    await discord_bot.deleted(after)

    assert stuck.id in w.world.messages and after.id not in w.world.messages
    adapter, core = discord_bot.adapter, discord_bot.core
    assert (
        adapter.metrics["http_5xx"] >= 1
        and core.metrics.value("verifybot_action_failures_total", kind="withhold") >= 1
    )
    assert adapter.metrics["client_restarts"] == 0 and adapter.metrics["handler_errors"] == 0
    assert "Discord had a server problem (HTTP 503)" in caplog.text


async def test_a_policy_an_admin_set_during_an_outage_is_explained_to_the_admins(
    discord_bot: DiscordBot,
) -> None:
    w = discord_bot.w
    w.fake.fail_next("PUT", r"/channels/\d+/permissions/\d+", status=503, count=5)

    record = await discord_bot.run(w.admin, "policy", channel=w.general, level="read_only")

    assert len(record.replies) == 1 and "could not apply" in record.given[0]["content"]
    notes = [m["content"] for m in w.fake.bot_messages(w.log_channel.id)]
    (outage,) = [n for n in notes if "server problem" in n]
    assert "apply the read_only policy" in outage and "Run /policy again" in outage
    assert discord_bot.adapter.metrics["http_5xx"] == 1
    assert (await discord_bot.run(w.bob, "filter", level="all")).replies  # still answering


async def test_roles_and_notices_in_an_outage_fail_in_plain_words(discord_bot: DiscordBot) -> None:
    w = discord_bot.w
    adapter = discord_bot.adapter
    guild = CommunityRef("discord", str(w.guild.id))
    w.fake.fail_next("PUT", r"/guilds/\d+/members/\d+/roles/\d+", status=503)
    w.fake.fail_next("POST", r"/channels/\d+/messages", status=503, count=10)

    with pytest.raises(AdapterError, match=r"server problem \(HTTP 503\).*change the Verified"):
        await adapter.set_badge(MemberRef("discord", str(w.alice.id)), guild, True)
    general = ChannelRef(guild, str(w.general.id))
    with pytest.raises(AdapterError, match=r"server problem \(HTTP 503\).*post the notice"):
        await adapter.notify_sender(MemberRef("discord", str(w.mallory.id)), general, "verify")

    assert adapter.metrics["http_5xx"] >= 2 and adapter.metrics["client_restarts"] == 0
    w.fake.recover()
    await discord_bot.verify(w.alice)
    badge = w.role_named("Verified")
    assert badge is not None and badge.id in w.member_role_ids(w.alice)
