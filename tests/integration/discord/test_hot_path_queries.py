"""A warm message through the whole Discord path costs no SQL statement.

The gateway frame goes through real discord.py, the adapter's intake and translation, the core
and the filter cog; once each member's facts are in the cache, judging a message must not touch
the database (issue 14: the hot path reads the cache and awaits only on a miss).
"""

from __future__ import annotations

import pytest

from bot.adapters.discord.catch_up import FLUSH_SECONDS
from tests.fakes.discord_api import Pushed
from tests.fixtures.discord_fake import DiscordBot
from tests.waiting import wait_until

pytestmark = pytest.mark.discord_fake


async def handled(bot: DiscordBot, count: int) -> None:
    """Wait until the adapter handed `count` events to the core and the handlers finished."""
    adapter = bot.adapter
    await wait_until(lambda: adapter.metrics["events"] >= count, what="the events handed over")
    await adapter.drained()


async def conversation(bot: DiscordBot, rounds: int) -> list[Pushed]:
    """Posts, replies and mentions that every filter allows: a verified member replies to alice
    (who filters replies), mallory (unverified) replies to and mentions bob (who does not)."""
    w = bot.w
    pushed = []
    for n in range(rounds):
        post = await w.fake.push_message(w.general, w.alice, f"news {n}")
        pushed.append(post)
        pushed.append(await w.fake.push_message(w.general, w.bob, "agreed", reply_to=post.data))
        bob_post = await w.fake.push_message(w.general, w.bob, f"mine {n}")
        pushed.append(bob_post)
        pushed.append(
            await w.fake.push_message(
                w.general, w.mallory, "hello", reply_to=bob_post.data, mentions=[w.bob]
            )
        )
    return pushed


async def test_a_warm_message_costs_no_sql_statement(
    discord_bot: DiscordBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, w = discord_bot, discord_bot.w
    await bot.run(w.alice, "filter", level="replies")
    await bot.verify(w.bob)
    base = bot.adapter.metrics["events"]
    await conversation(bot, 2)  # warm: each member's facts are read once
    await handled(bot, base + 8)
    # the catch-up's save of where each channel stands (every few seconds, not per message)
    # is written now and then not again while the count runs
    monkeypatch.setattr("bot.adapters.discord.catch_up.FLUSH_SECONDS", 3600.0)
    await bot.adapter._intake.catch_up.stop()
    assert FLUSH_SECONDS < 3600.0
    store = bot.core.store
    before = store.statements

    await conversation(bot, 10)
    await handled(bot, base + 48)

    assert store.statements == before
    assert not w.fake.find_requests("DELETE", r"/channels/\d+/messages/\d+")  # all allowed
    assert bot.adapter.metrics["handler_errors"] == 0
