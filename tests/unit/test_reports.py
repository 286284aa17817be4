"""Reports on a recording adapter: stored before anyone is told, routed to the moderators with
the reported account's standing (never how), acknowledged to the reporter with the rule and a
time, resolved once with the reporter told (never the private note), raised again when overdue;
bad input gets a clear answer and stores nothing. The same flows run on Synapse and the loopback
Discord in tests/integration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import parse_config
from bot.core import BotCore
from bot.model import ChannelRef, CommunityRef, MemberRef, MessageRef, Role
from bot.policy import ReportOutcome
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.reports import Reports
from tests.fakes.clock import StoppedClock
from tests.recording import RecordingAdapter

SPACE = CommunityRef("matrix", "!space:hs")
ROOM = ChannelRef(SPACE, "!general:hs")
ALICE = MemberRef("matrix", "@alice:hs")  # reports
MALLORY = MemberRef("matrix", "@mallory:hs")  # reported, not verified
VERA = MemberRef("matrix", "@vera:hs")  # verified
MOD = MemberRef("matrix", "@mod:hs")
BOT = MemberRef("matrix", "@verifybot:example.org")  # RecordingAdapter.own_account
START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CONFIG = parse_config(
    {
        "identity": {"hash_key": {"value": "k" * 32}},
        "methods": {"moderator": {"level": "reviewed"}},
        "matrix": {
            "homeserver": "http://127.0.0.1:1",
            "user_id": "@bot:hs",
            "access_token": {"value": "t"},
        },
        "reports": {"per_hour": 3},
        "communities": [
            {
                "network": "matrix",
                "id": SPACE.id,
                "moderator_channel": "!mods:hs",
                "rules": {"spam": "Rule 4: no advertising."},
            }
        ],
    }
).config


@dataclass
class World:
    core: BotCore
    adapter: RecordingAdapter
    clock: StoppedClock
    cog: Reports = field(init=False)

    def __post_init__(self) -> None:
        self.cog = next(c for c in self.core.cogs if isinstance(c, Reports))

    async def run(self, name: str, *words: str, by: MemberRef = ALICE, **kw: object) -> str:
        role = Role.MODERATOR if by == MOD else Role.MEMBER
        invocation = self.adapter.invoke(
            name,
            *words,
            member=by,
            community=SPACE,
            role=role,
            **kw,  # type: ignore[arg-type]
        )
        await self.core.handle_command(self.adapter, invocation)
        return self.adapter.last_reply()

    def moderators(self) -> list[str]:
        return [text for name, (where, text) in self.posts() if where.id == "!mods:hs"]

    def posts(self) -> list[tuple[str, tuple[ChannelRef, str]]]:
        return [(n, a) for n, a in self.adapter.calls if n == "post"]


@pytest.fixture
async def world(store: Store) -> AsyncIterator[World]:
    adapter = RecordingAdapter(served=[SPACE], names={SPACE.id: "The Garden"})
    clock = StoppedClock(START)
    core = BotCore(CONFIG, store, adapters=[adapter], cogs=[Reports], clock=clock)
    await store.save_verification(
        VerificationRecord("matrix", VERA.id, "moderator", "reviewed", "v" * 64, START)
    )
    await core.start()
    yield World(core, adapter, clock)
    await core.stop()


REPORTED = MessageRef(ROOM, "$bad")


async def report_message(w: World, *words: str, text: str | None = "buy my stuff") -> str:
    return await w.run(
        "report", *words, about=REPORTED, about_author=MALLORY if text else None, about_text=text
    )


async def test_a_report_is_stored_routed_and_acknowledged(world: World) -> None:
    w = world
    answer = await report_message(w, "spam", "they", "keep", "posting", "ads")
    [stored] = await w.core.store.list_reports(SPACE)
    assert (stored.category, stored.target, stored.details) == (
        "spam",
        MALLORY,
        "they keep posting ads",
    )
    assert stored.message == REPORTED and stored.message_text == "buy my stuff"
    assert stored.rule == "Rule 4: no advertising."  # the community's own wording
    assert stored.answer_due_at == START + timedelta(hours=48)
    assert f"Your report #{stored.id} (spam) is with the moderators of The Garden" in answer
    assert "Rule 4: no advertising." in answer
    assert "within 2 days" in answer and "I will let you know privately what they decide" in answer
    [notice] = w.moderators()
    assert f"Report #{stored.id}: spam" in notice
    assert f"About: {MALLORY.id} (not verified)" in notice
    assert "https://chat.example/!general:hs/$bad" in notice and "“buy my stuff”" in notice
    assert "Reporter's words: “they keep posting ads”" in notice
    assert "moderator" not in notice.split("About:")[1].split("\n")[0]  # standing, never how
    [(_, choices)] = w.adapter.choices
    assert [c.typed("!") for c in choices] == [
        f"!resolve {stored.id} dismissed",
        f"!resolve {stored.id} warned",
        f"!resolve {stored.id} removed",
        f"!resolve {stored.id} banned",
    ]


async def test_a_verified_account_shows_as_verified_and_never_how(world: World) -> None:
    await world.run("report", "harassment", VERA.id, "rude", "to", "me")
    [notice] = world.moderators()
    assert f"About: {VERA.id} (verified)" in notice
    assert "reviewed" not in notice and "moderator review" not in notice


async def test_self_harm_shows_support_and_is_urgent_for_moderators(world: World) -> None:
    answer = await report_message(world, "self-harm", text="i can't go on")
    assert "If this is about someone's safety, you do not have to wait" in answer
    assert "local emergency number" in answer and "findahelpline.com" in answer
    assert "within 2 hours" in answer
    assert world.moderators()[0].startswith("URGENT — Report #")


async def test_categories_without_support_show_none(world: World) -> None:
    answer = await report_message(world, "spam")
    assert "emergency" not in answer and "findahelpline" not in answer


async def test_an_unknown_category_lists_the_choices_and_stores_nothing(world: World) -> None:
    answer = await report_message(world, "rudeness")
    assert "'rudeness' is not one of the choices: harassment, threats, hate, self-harm," in answer
    assert "spam or other" in answer
    assert await world.core.store.list_reports(SPACE) == []


async def test_reporting_oneself_the_bot_or_nothing_gets_a_clear_answer(world: World) -> None:
    assert "You cannot report yourself" in await world.run("report", "spam", ALICE.id)
    assert "That is me, the bot" in await world.run("report", "spam", BOT.id)
    assert "Say what you are reporting: reply to the message with !report" in await world.run(
        "report", "spam"
    )
    assert await world.core.store.list_reports(SPACE) == []
    assert world.moderators() == []


async def test_a_message_that_is_gone_is_stored_with_what_is_known(world: World) -> None:
    answer = await report_message(
        world, "threats", "he", "said", "he", "would", "find", "me", text=None
    )
    [stored] = await world.core.store.list_reports(SPACE)
    assert stored.message == REPORTED and stored.target is None and stored.message_text is None
    assert "I could no longer see that message" in answer
    assert "(no longer visible to me" in world.moderators()[0]


async def test_a_flood_of_reports_is_limited_with_a_clear_answer(world: World) -> None:
    for _ in range(3):
        await report_message(world, "spam")
    answer = await report_message(world, "spam")
    assert "as many reports as one account can in an hour" in answer
    assert len(await world.core.store.list_reports(SPACE)) == 3
    world.clock.now += timedelta(hours=1, minutes=1)
    assert "Your report #" in await report_message(world, "spam")


async def test_resolving_tells_the_reporter_the_outcome_but_not_the_note(world: World) -> None:
    w = world
    await report_message(w, "spam")
    [stored] = await w.core.store.list_reports(SPACE)
    answer = await w.run("resolve", str(stored.id), "removed", "second", "offence", by=MOD)
    assert f"Report #{stored.id} is resolved (removed). The reporter has been told." == answer
    [(to, told)] = w.adapter.directs
    assert to == ALICE
    assert f"have looked at your report #{stored.id} (spam) and removed the message" in told
    assert "offence" not in told
    assert w.adapter.removed() == [REPORTED]  # the bot removed it for the moderator
    assert "Note: second offence" in w.moderators()[-1]
    resolved = await w.core.store.get_report(stored.id)
    assert resolved is not None and resolved.outcome == ReportOutcome.REMOVED
    again = await w.run("resolve", str(stored.id), "dismissed", by=MOD)
    assert "already resolved; nothing was changed" in again
    assert len(w.adapter.directs) == 1


async def test_only_moderators_resolve_and_only_reports_of_their_community(world: World) -> None:
    await report_message(world, "spam")
    [stored] = await world.core.store.list_reports(SPACE)
    assert "Only a moderator can run !resolve" in await world.run(
        "resolve", str(stored.id), "warned"
    )
    assert "There is no report #999 in this community." in await world.run(
        "resolve", "999", "warned", by=MOD
    )
    assert (await world.core.store.get_report(stored.id)).status == "open"  # type: ignore[union-attr]


async def test_an_overdue_report_is_raised_again_once_per_period(world: World) -> None:
    w = world
    await report_message(w, "harassment")  # 24 hours
    assert await w.cog.raise_overdue() == 0
    w.clock.now += timedelta(hours=25)
    assert await w.cog.raise_overdue() == 1
    raised = w.moderators()[-1]
    assert "is still open: it was filed 1 hour ago" not in raised  # filed 25 hours ago
    assert "is still open" in raised and "within 24 hours" in raised and "harassment" in raised
    w.clock.now += timedelta(hours=1)
    assert await w.cog.raise_overdue() == 0  # not again within the period
    w.clock.now += timedelta(hours=24)
    assert await w.cog.raise_overdue() == 1
    [stored] = await w.core.store.list_reports(SPACE)
    await w.run("resolve", str(stored.id), "warned", by=MOD)
    w.clock.now += timedelta(days=3)
    assert await w.cog.raise_overdue() == 0


async def test_moderators_list_open_reports(world: World) -> None:
    await report_message(world, "spam")
    world.clock.now += timedelta(days=3)
    listing = await world.run("reports", by=MOD)
    assert (
        "1 open report, oldest first:" in listing and "spam about @mallory:hs — overdue" in listing
    )
