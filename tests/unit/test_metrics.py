"""What an operator reads on /metrics: names, labels and figures after the bot did something,
on the recording adapter (the endpoint itself: tests/integration/test_metrics_endpoint.py)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bot.cog import Cog, command
from bot.config import parse_config
from bot.core import BotCore
from bot.metrics import FORM_REASONS, PAGES, Metrics
from bot.model import (
    Actor,
    ChannelRef,
    CommandContext,
    CommunityRef,
    FilterLevel,
    MemberRef,
    MessagePosted,
    MessageRef,
)
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from bot.web import verify
from bot.web.pages import FormRejected
from cogs.admin import Admin
from cogs.filters import Filters
from cogs.help import Help
from tests.recording import RecordingAdapter

SPACE = CommunityRef("matrix", "!space:hs")
ROOM = ChannelRef(SPACE, "!room:hs")
ALICE = MemberRef("matrix", "@alice:hs")  # filters her replies
MALLORY = MemberRef("matrix", "@mallory:hs")  # unverified
VERA = MemberRef("matrix", "@vera:hs")  # verified
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CONFIG = parse_config(
    {
        "identity": {"hash_key": {"value": "k" * 32}},
        "methods": {"moderator": {"level": "reviewed"}},
        "matrix": {
            "homeserver": "http://127.0.0.1:1",
            "user_id": "@bot:hs",
            "access_token": {"value": "t"},
        },
    }
).config


class Failing(Cog):
    @command("boom", help="always fails")
    async def boom(self, ctx: CommandContext) -> None:
        raise RuntimeError("kaboom")


@pytest.fixture
async def bot(store: Store) -> AsyncIterator[tuple[BotCore, RecordingAdapter]]:
    adapter = RecordingAdapter(served=[SPACE])
    adapter.members = {m: {SPACE} for m in (ALICE, MALLORY, VERA)}
    core = BotCore(
        CONFIG, store, adapters=[adapter], cogs=[Help, Filters, Admin, Failing], clock=lambda: NOW
    )
    await store.save_verification(
        VerificationRecord("matrix", VERA.id, "moderator", "reviewed", "v" * 64, NOW - timedelta(1))
    )
    await core.start()
    yield core, adapter
    await core.stop()


def reply(sender: MemberRef, event_id: str) -> MessagePosted:
    return MessagePosted(
        MessageRef(ROOM, event_id), Actor(sender), text="hey", reply_to_author=ALICE
    )


def families(metrics: Metrics) -> dict[str, str]:
    """Each family's name and type, as a scraper parses them."""
    text = metrics.exposition().decode()
    return {family.name: family.type for family in text_string_to_metric_families(text)}


async def test_a_held_reply_counts_a_withhold_and_times_the_decision(
    bot: tuple[BotCore, RecordingAdapter],
) -> None:
    core, adapter = bot
    metrics = core.metrics
    await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, NOW)
    decided = metrics.value("verifybot_decision_seconds_count")
    assert metrics.value("verifybot_actions_total", kind="withhold") == 0

    await core.handle_event(adapter, reply(MALLORY, "$held"))
    await core.handle_event(adapter, reply(VERA, "$kept"))

    assert adapter.removed() == [MessageRef(ROOM, "$held")]
    assert metrics.value("verifybot_actions_total", kind="withhold") == 1
    assert metrics.value("verifybot_actions_total", kind="notify_sender") == 1
    assert metrics.value("verifybot_events_total", kind="message_posted") == 2
    assert metrics.value("verifybot_decision_seconds_count") == decided + 2
    assert metrics.value("verifybot_handler_seconds_count", kind="event") == 2
    # every decision took longer than nothing and less than the last bucket
    assert metrics.value("verifybot_decision_seconds_bucket", le="+Inf") == decided + 2
    assert metrics.value("verifybot_cache_lookups_total") > 0
    found = families(metrics)
    assert found["verifybot_actions"] == "counter"
    assert found["verifybot_decision_seconds"] == "histogram"
    assert found["verifybot_handler_seconds"] == "histogram"
    assert found["verifybot_cache_entries"] == "gauge"


async def test_commands_are_counted_by_outcome(bot: tuple[BotCore, RecordingAdapter]) -> None:
    core, adapter = bot

    async def run(name: str, *words: str, member: MemberRef = ALICE, event: str = "") -> None:
        invocation = adapter.invoke(
            name, *words, member=member, community=SPACE, event_id=event or None
        )
        await core.handle_command(adapter, invocation)

    await run("help")
    await run("filter", "replies", event="$once")
    await run("filter", "replies", event="$once")  # delivered again
    await run("frobnicate")
    await run("policy", "read_only", member=MALLORY)  # an admin's command
    await run("filter", "sometimes")  # not a choice: told why
    await run("boom")

    def outcome(name: str) -> float:
        return core.metrics.value("verifybot_commands_total", outcome=name)

    assert [outcome(o) for o in ("ok", "duplicate", "unknown", "denied", "refused", "failed")] == [
        2,
        1,
        1,
        1,
        1,
        1,
    ]
    assert core.metrics.value("verifybot_handler_seconds_count", kind="command") == 7


async def test_each_core_keeps_its_own_figures(store: Store) -> None:
    first, second = BotCore(CONFIG, store), BotCore(CONFIG, store)
    first.metrics.handler_failed()
    assert first.metrics.value("verifybot_handler_failures_total") == 1
    assert second.metrics.value("verifybot_handler_failures_total") == 0


@dataclass
class FigureSource:
    """An adapter as far as /metrics sees it."""

    network: str
    figures: dict[str, float] = field(default_factory=dict)

    def stats(self) -> dict[str, float]:
        return self.figures


def test_adapters_figures_become_named_and_labelled_metrics() -> None:
    discord = FigureSource(
        "discord",
        {
            "http_429": 3,
            "http_5xx": 1,
            "authors_unknown": 2,
            "something_new": 7,
            "room_!abc:hs": 1,  # never a label: not a plain word
            "seen_123456789012345678": 1,  # nor an id in a word
        },
    )
    matrix = FigureSource("matrix", {"queue_depth": 4, "queue_handled": 9, "queue_failed": 1})
    metrics = Metrics(adapters=lambda: [discord, matrix])

    assert metrics.value("verifybot_discord_http_errors_total", status="429") == 3
    assert metrics.value("verifybot_discord_http_errors_total", status="5xx") == 1
    assert metrics.value("verifybot_discord_http_errors_total", status="401") == 0  # shown at 0
    assert metrics.value("verifybot_discord_reply_authors_total", source="unknown") == 2
    assert metrics.value("verifybot_matrix_queue_depth") == 4
    assert metrics.value("verifybot_matrix_queue_done_total", outcome="handled") == 9
    assert metrics.value("verifybot_adapter_figure", network="discord", figure="something_new") == 7
    assert metrics.value("verifybot_adapter_figure") == 7  # the id-like figures are left out
    found = families(metrics)
    assert found["verifybot_discord_http_errors"] == "counter"
    assert found["verifybot_matrix_queue_depth"] == "gauge"
    discord.figures["http_429"] = 5  # read at each scrape
    assert metrics.value("verifybot_discord_http_errors_total", status="429") == 5


def test_label_values_come_from_known_sets_only() -> None:
    metrics = Metrics()
    metrics.web_page("/verify/abc.def")
    metrics.check("@alice:hs", "started")
    metrics.form_refused("!room:hs")
    assert metrics.value("verifybot_web_pages_total", page="other") == 1
    assert metrics.value("verifybot_checks_total", method="other", outcome="started") == 1
    assert metrics.value("verifybot_web_forms_refused_total", reason="other") == 1
    text = metrics.exposition().decode()
    assert "alice" not in text and "!room" not in text and "abc.def" not in text


def test_every_page_and_refusal_has_its_own_label() -> None:
    assert set(FORM_REASONS) == set(FormRejected.MESSAGES)
    app = web.Application()
    verify.add_routes(app)
    counted = set()
    for route in app.router.routes():
        source = inspect.getsource(route.handler)
        assert ".web_page(" in source, f"{route.handler.__name__} is not counted"
        counted.add(source.split('.web_page("', 1)[1].split('"', 1)[0])
    assert counted == set(PAGES)


def test_the_handful_of_kinds_show_before_anything_happens() -> None:
    metrics = Metrics()
    found = families(metrics)
    assert {"verifybot_actions", "verifybot_commands", "verifybot_checks"} <= found.keys()
    assert metrics.value("verifybot_commands_total", outcome="denied") == 0
    text = metrics.exposition().decode()
    assert 'verifybot_actions_total{kind="remove_message"} 0.0' in text
    assert 'verifybot_checks_total{method="oidc",outcome="completed"} 0.0' in text
    assert 'verifybot_decision_seconds_bucket{le="0.001"}' in text  # milliseconds are told apart
