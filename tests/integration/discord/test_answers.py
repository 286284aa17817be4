"""A slash command's answer reaches the member once, however the interaction ends.

The answer here is two messages long (Discord's limit is 2,000 characters). Only an interaction
that really expired falls back to a direct message, and only with what it did not carry.
"""

from __future__ import annotations

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.model import CommandInvocation, CommandSpec, Event
from tests.fakes.discord_api import InteractionRecord
from tests.fixtures.discord_fake import AdapterFactory, DiscordWorld, RecordingSink

pytestmark = pytest.mark.discord_fake

FIRST, SECOND = "a" * 1500, "b" * 1500
LONG_ANSWER = f"{FIRST}\n{SECOND}"
WEBHOOK = r"/webhooks/\d+/.+"


async def answering_adapter(
    discord_adapter: AdapterFactory, *, before: object = None
) -> tuple[DiscordAdapter, RecordingSink, list[Exception]]:
    """An adapter whose core answers every command with LONG_ANSWER, after `before()`; with
    what `respond` raised."""
    sink = RecordingSink()
    failures: list[Exception] = []

    async def answer(adapter: object, item: Event | CommandInvocation) -> None:
        if isinstance(item, CommandInvocation):
            assert isinstance(adapter, DiscordAdapter)
            if callable(before):
                before()
            try:
                await adapter.respond(item, LONG_ANSWER)
            except Exception as exc:  # the core logs it; the test looks at what people got
                failures.append(exc)

    sink.react = answer
    adapter = await discord_adapter(sink)
    await adapter.register_commands([CommandSpec("held", "What your filter held")])
    return adapter, sink, failures


async def run_held(w: DiscordWorld) -> InteractionRecord:
    return await w.fake.push_command(w.guild, w.general, w.alice, "held")


async def settled(w: DiscordWorld, adapter: DiscordAdapter, sink: RecordingSink) -> None:
    await sink.next(CommandInvocation)
    await adapter.drained()


def contents(replies: list[dict[str, object]]) -> list[object]:
    return [r["content"] for r in replies]


async def test_expired_before_the_first_part_the_whole_answer_goes_by_dm_once(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    records: list[InteractionRecord] = []
    adapter, sink, failures = await answering_adapter(
        discord_adapter, before=lambda: records[0].expire()
    )

    records.append(await run_held(w))
    await settled(w, adapter, sink)

    assert records[0].replies == []
    assert [m["content"] for m in w.fake.dm_messages(w.alice)] == [FIRST, SECOND]
    assert adapter.metrics["answers_by_dm"] == 1 and failures == []


async def test_when_the_window_ends_midway_only_the_rest_goes_by_dm(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    records: list[InteractionRecord] = []
    adapter, sink, failures = await answering_adapter(
        discord_adapter, before=lambda: records[0].expire(after_replies=1)
    )

    records.append(await run_held(w))
    await settled(w, adapter, sink)

    assert contents(records[0].replies) == [FIRST]
    assert [m["content"] for m in w.fake.dm_messages(w.alice)] == [SECOND] and failures == []
    refused = w.fake.find_requests("POST", WEBHOOK)
    assert [r.status for r in refused] == [401]  # Invalid Webhook Token: the 15 minutes are over


async def test_a_404_that_is_not_expiry_is_counted_not_sent_twice(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter, sink, failures = await answering_adapter(discord_adapter)
    w.fake.fail_next("POST", WEBHOOK, status=404, code=10015, message="Unknown Webhook")

    record = await run_held(w)
    await settled(w, adapter, sink)

    assert contents(record.replies) == [FIRST]
    assert w.fake.dm_messages(w.alice) == []  # the first part is not delivered a second time
    assert adapter.metrics["interaction_404"] == 1
    assert len(failures) == 1


async def test_past_the_follow_up_window_the_rest_goes_by_dm_without_trying(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = discord_world
    monkeypatch.setattr("bot.adapters.discord.answers.FOLLOWUP_WINDOW", 0.0)
    adapter, sink, failures = await answering_adapter(discord_adapter)

    record = await run_held(w)
    await settled(w, adapter, sink)

    assert contents(record.replies) == [FIRST]
    assert [m["content"] for m in w.fake.dm_messages(w.alice)] == [SECOND] and failures == []
    assert not w.fake.find_requests("POST", WEBHOOK)
