"""A member's copy of their data, erasure after a confirmation, the audit trail moderators read,
and retention — on a recording adapter (end-to-end on both networks in tests/integration)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.actions import HoldForMember
from bot.config import parse_config
from bot.core import BotCore
from bot.model import ChannelRef, CommunityRef, FilterLevel, MemberRef, MessageRef, Relation, Role
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.audit import AuditTrailCommands
from cogs.badges import Badges
from cogs.filters import Filters
from cogs.housekeeping import Housekeeping
from cogs.reports import Reports
from cogs.rights import DataRights
from cogs.verification import Verification
from tests.fakes.clock import StoppedClock
from tests.recording import RecordingAdapter

SPACE = CommunityRef("matrix", "!space:hs")
LOUNGE = CommunityRef("matrix", "!lounge:hs")
ROOM = ChannelRef(SPACE, "!general:hs")
ALICE = MemberRef("matrix", "@alice-7f3e:hs")  # distinctive: found only where it was put
BOB = MemberRef("matrix", "@bob:hs")
MOD = MemberRef("matrix", "@mod:hs")
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
        "retention": {"closed_reports_days": 180, "audit_days": 365},
        "communities": [
            {"network": "matrix", "id": SPACE.id, "audit_channel": "!audit:hs"},
            {"network": "matrix", "id": LOUNGE.id},
        ],
    }
).config


@dataclass
class World:
    core: BotCore
    adapter: RecordingAdapter
    clock: StoppedClock

    async def run(
        self, name: str, *words: str, by: MemberRef = ALICE, where: CommunityRef | None = SPACE
    ) -> str:
        role = Role.MODERATOR if by == MOD else Role.MEMBER
        invocation = self.adapter.invoke(name, *words, member=by, community=where, role=role)
        await self.core.handle_command(self.adapter, invocation)
        return self.adapter.last_reply()


@pytest.fixture
async def world(store: Store) -> AsyncIterator[World]:
    adapter = RecordingAdapter(
        served=[SPACE, LOUNGE], names={SPACE.id: "The Garden", LOUNGE.id: "The Lounge"}
    )
    adapter.members = {ALICE: {SPACE, LOUNGE}, BOB: {SPACE}}
    clock = StoppedClock(START)
    cogs = [Badges, Verification, Filters, Reports, AuditTrailCommands, DataRights, Housekeeping]
    core = BotCore(CONFIG, store, adapters=[adapter], cogs=cogs, clock=clock)
    await core.start()
    yield World(core, adapter, clock)
    await core.stop()


async def alice_has_a_history(w: World) -> None:
    """Alice verified, filters, had something held, reported Bob and was reported by Bob."""
    await w.core.store.save_verification(
        VerificationRecord("matrix", ALICE.id, "moderator", "reviewed", "a" * 64, START)
    )
    w.adapter.badges |= {(ALICE, SPACE), (ALICE, LOUNGE)}
    await w.core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, START)
    message = MessageRef(ROOM, "$m1")
    await w.core.store.add_held(
        [HoldForMember(ALICE, Relation.REPLY, message, BOB, f"hey {ALICE.id}", "reply")],
        at=START,
        expires_at=START + timedelta(days=30),
    )
    await w.run("report", "harassment", BOB.id, "keeps", "messaging", "me")
    await w.run("report", "spam", ALICE.id, f"{ALICE.id}", "sells", "things", by=BOB)
    await w.run("report", "spam", ALICE.id, "again", by=BOB, where=LOUNGE)


async def test_mydata_is_exactly_the_members_data(world: World) -> None:
    w = world
    await alice_has_a_history(w)
    await w.run("mydata")
    [(_, text, filename, data)] = w.adapter.files
    copy = json.loads(data)
    assert filename == "verifybot-my-data.json" and "in a file only you receive" in text
    tables = copy["tables"]
    [verification] = tables["verifications"]
    assert verification["account_id"] == ALICE.id and "identity_hash" not in verification
    assert [f["account_id"] for f in tables["member_filters"]] == [ALICE.id]
    assert [h["for_account"] for h in tables["held_items"]] == [ALICE.id]
    [filed] = tables["reports"]  # the one she filed, not the two about her
    assert filed["reporter_account"] == ALICE.id and filed["target_account"] == BOB.id
    assert "moderator_note" not in filed and "resolved_by" not in filed
    assert {e["target"] for e in tables["audit_log"]} == {ALICE.id}  # what was done about her
    count = sum(len(rows) for rows in tables.values())
    assert f"everything I keep about your account: {count} records" in text


async def test_forget_asks_first_and_changes_nothing_until_confirmed(world: World) -> None:
    w = world
    await alice_has_a_history(w)
    answer = await w.run("forget")
    assert "This erases everything I keep about your account" in answer
    assert "send !forget confirm within 10 minutes" in answer
    assert await w.core.store.get_verification(ALICE) is not None
    w.clock.now += timedelta(minutes=11)
    late = await w.run("forget", "confirm")
    assert "There is no recent request to erase your data" in late
    assert await w.core.store.get_verification(ALICE) is not None
    assert "There is no recent request" in await w.run("forget", "confirm", by=BOB)


async def test_forget_erases_everywhere_and_leaves_only_pseudonyms(world: World) -> None:
    w = world
    await alice_has_a_history(w)
    await w.run("forget")
    done = await w.run("forget", "confirm")
    assert "Done: I erased everything I kept about your account" in done
    assert "took down your Verified badge in The Garden and The Lounge" in done
    assert w.adapter.badges == set()
    await w.core.audit.flush()
    assert await w.core.store.places_naming(ALICE) == []  # no column, no free text, any table
    about = await w.core.store.list_reports(SPACE)
    pseudonyms = {r.target_account for r in about if r.reporter_account == BOB.id}
    filed = {r.reporter_account for r in about if r.target_account == BOB.id}
    assert pseudonyms == filed and next(iter(pseudonyms)).startswith("former member ")
    [elsewhere] = await w.core.store.list_reports(LOUNGE)
    assert elsewhere.target_account not in pseudonyms  # unrelated between communities
    [by_bob] = [r for r in about if r.reporter_account == BOB.id]
    assert by_bob.details == f"{next(iter(pseudonyms))} sells things"  # quoted words too
    await w.run("mydata")
    assert json.loads(w.adapter.files[-1][3])["tables"]["verifications"] == []


async def test_moderators_read_the_audit_trail_by_member_and_time(world: World) -> None:
    w = world
    await alice_has_a_history(w)
    w.clock.now += timedelta(days=2)
    await w.run("report", "hate", BOB.id, "slur")
    everything = await w.run("audit", by=MOD)
    assert everything.startswith("Newest first:")
    assert "report filed · @bob:hs · by @alice-7f3e:hs · report #" in everything
    recent = await w.run("audit", "@bob:hs", "24h", by=MOD)
    assert "(hate)" in recent and "(harassment)" not in recent
    assert await w.run("audit", "@nobody:hs", by=MOD) == "Nothing in the audit trail matches."
    assert "I cannot read 'yesterday' as a time" in await w.run(
        "audit", "@bob:hs", "yesterday", by=MOD
    )
    assert "Only a moderator can run !audit" in await w.run("audit")


async def test_decisions_are_copied_to_the_audit_channel(world: World) -> None:
    w = world
    await w.run("report", "spam", BOB.id)

    def copied() -> list[str]:
        posts = [args for name, args in w.adapter.calls if name == "post"]
        return [text for where, text in posts if where.id == "!audit:hs"]

    assert copied() == ["report filed · @bob:hs · by @alice-7f3e:hs · report #1 (spam)"]
    await w.run("report", "spam", BOB.id, where=LOUNGE)  # no audit channel there
    assert len(copied()) == 1


async def test_retention_purges_what_is_older_than_each_limit_and_keeps_the_rest(
    world: World,
) -> None:
    w = world
    store = w.core.store
    message = MessageRef(ROOM, "$old")
    await store.add_held(
        [HoldForMember(ALICE, Relation.REPLY, message, BOB, "old", "reply")],
        at=START,
        expires_at=START + timedelta(days=30),
    )
    await w.run("report", "spam", BOB.id)  # will be closed now
    await w.run("report", "hate", BOB.id)  # stays open
    await w.run("resolve", "1", "warned", by=MOD)
    w.clock.now = START + timedelta(days=181)
    await w.run("report", "other", BOB.id)  # a fresh one, closed recently
    await w.run("resolve", "3", "dismissed", by=MOD)
    removed = await next(c for c in w.core.cogs if isinstance(c, Housekeeping)).sweep()
    assert removed["held_items"] == 1 and removed["closed_reports"] == 1
    assert {r.id for r in await store.list_reports(SPACE)} == {2}
    assert (await store.get_report(3)) is not None  # closed, but within 180 days
    assert removed["audit_entries"] == 0
    w.clock.now = START + timedelta(days=366)
    removed = await next(c for c in w.core.cogs if isinstance(c, Housekeeping)).sweep()
    kept = await store.list_audit()
    assert (
        removed["audit_entries"] >= 3
        and kept
        and all(e.at >= START + timedelta(days=1) for e in kept)
    )


async def test_a_held_item_released_is_in_the_trail(world: World) -> None:
    w = world
    await alice_has_a_history(w)
    await w.run("held", "dismiss", "1")
    trail = await w.run("audit", ALICE.id, by=MOD)
    assert (
        "held item released by its member · @alice-7f3e:hs · by @alice-7f3e:hs · held item 1"
        in trail
    )
