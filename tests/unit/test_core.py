"""The core and the cogs on a recording adapter: routing, permissions, failure isolation, dry run,
the filter hot path, held items, policy and badges — quick tests beside the end-to-end ones."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.actions import SetBadge
from bot.adapters.base import AdapterError
from bot.cog import Cog, command, listener
from bot.config import parse_config
from bot.core import BotCore
from bot.model import (
    Access,
    Actor,
    ChannelRef,
    CommandContext,
    CommunityRef,
    FilterLevel,
    MemberJoined,
    MemberRef,
    MessagePosted,
    MessageRef,
    ReactionAdded,
    Role,
    UnverifiedPolicy,
)
from bot.storage import assert_no_account_ids_in_text
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.admin import Admin
from cogs.badges import Badges
from cogs.filters import Filters
from cogs.help import Help
from tests.recording import RecordingAdapter
from tests.waiting import wait_until

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


class Exploding(Cog):
    @command("boom", help="always fails")
    async def boom(self, ctx: CommandContext) -> None:
        raise RuntimeError("kaboom")

    @listener(MessagePosted)
    async def explode(self, event: MessagePosted) -> None:
        raise RuntimeError("listener kaboom")


@pytest.fixture
async def setup(store: Store) -> AsyncIterator[tuple[BotCore, RecordingAdapter]]:
    adapter = RecordingAdapter(served=[SPACE])
    adapter.members = {m: {SPACE} for m in (ALICE, MALLORY, VERA)}
    core = BotCore(
        CONFIG,
        store,
        adapters=[adapter],
        cogs=[Exploding, Help, Badges, Filters, Admin],
        clock=lambda: NOW,
    )
    await store.save_verification(
        VerificationRecord(
            "matrix", VERA.id, "moderator", "reviewed", "v" * 64, NOW - timedelta(days=1)
        )
    )
    await core.start()
    yield core, adapter
    await core.stop()


def reply(
    sender: MemberRef, to: MemberRef, event_id: str = "$reply", text: str = "hey"
) -> MessagePosted:
    return MessagePosted(MessageRef(ROOM, event_id), Actor(sender), text=text, reply_to_author=to)


async def test_a_failing_listener_does_not_stop_the_others_or_the_loop(
    setup: tuple[BotCore, RecordingAdapter], caplog: pytest.LogCaptureFixture
) -> None:
    core, adapter = setup
    await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, NOW)
    with caplog.at_level(logging.ERROR):
        await core.handle_event(adapter, reply(MALLORY, ALICE))
    assert "listener kaboom" in caplog.text
    assert adapter.removed() == [MessageRef(ROOM, "$reply")]  # the filter still ran


async def test_a_failing_command_answers_politely_and_changes_nothing(
    setup: tuple[BotCore, RecordingAdapter],
) -> None:
    core, adapter = setup
    await core.handle_command(adapter, adapter.invoke("boom", member=ALICE, community=SPACE))
    assert "Something went wrong" in adapter.last_reply()


async def test_permissions_are_checked_before_the_handler(
    setup: tuple[BotCore, RecordingAdapter],
) -> None:
    core, adapter = setup
    await core.handle_command(
        adapter, adapter.invoke("policy", "read_only", member=MALLORY, community=SPACE)
    )
    assert adapter.last_reply() == "Only an admin can run !policy."
    assert not [c for c in adapter.calls if c[0] == "apply_policy"]
    assert (await core.store.get_policies(SPACE)).community is None


async def test_malformed_commands_get_a_usage_line(setup: tuple[BotCore, RecordingAdapter]) -> None:
    core, adapter = setup
    await core.handle_command(
        adapter, adapter.invoke("filter", "sometimes", member=ALICE, community=SPACE)
    )
    answer = adapter.last_reply()
    assert (
        "'sometimes' is not one of the choices: off, replies or all" in answer
        and "Usage: !filter [off|replies|all]" in answer
    )
    await core.handle_command(adapter, adapter.invoke("frobnicate", member=ALICE, community=SPACE))
    assert adapter.last_reply() == (
        "There is no !frobnicate command. Send !help to see the commands you can use."
    )
    await core.handle_command(
        adapter, adapter.invoke("filter", "all", "extra", member=ALICE, community=SPACE)
    )
    assert "Too many words" in adapter.last_reply()
    assert await core.store.get_filter(SPACE, ALICE) is None


async def test_a_redelivered_command_runs_once(setup: tuple[BotCore, RecordingAdapter]) -> None:
    core, adapter = setup
    for _ in range(2):
        await core.handle_command(
            adapter,
            adapter.invoke("filter", "all", member=ALICE, community=SPACE, event_id="$cmd1"),
        )
    assert len(adapter.replies) == 1


async def test_filtered_member_gets_unverified_reply_held_and_verified_reply_kept(
    setup: tuple[BotCore, RecordingAdapter],
) -> None:
    core, adapter = setup
    adapter.names[ROOM.id] = "the lounge"  # members see rooms by name
    await core.handle_command(
        adapter, adapter.invoke("filter", "replies", member=ALICE, community=SPACE)
    )
    assert "Your filter is now replies" in adapter.last_reply()
    await core.handle_event(adapter, reply(MALLORY, ALICE, "$bad", "buy my stuff"))
    await core.handle_event(adapter, reply(VERA, ALICE, "$good", "welcome!"))
    assert adapter.removed() == [MessageRef(ROOM, "$bad")]
    assert [m for m, _ in adapter.directs] == [MALLORY]  # the sender is told how to verify
    notice = adapter.directs[0][1]
    assert "Your reply in the lounge (“buy my stuff”) was removed for everyone" in notice
    assert "the member you replied to limits replies" in notice and "!verify" in notice
    # a second unverified reply within the cooldown: held, but no second notice
    await core.handle_event(adapter, reply(MALLORY, ALICE, "$bad2"))
    assert len(adapter.directs) == 1

    await core.handle_command(adapter, adapter.invoke("held", member=ALICE, community=SPACE))
    listing = adapter.last_reply()
    assert "Held for you (2)" in listing and "A reply from @mallory:hs in the lounge" in listing
    assert "“buy my stuff”" in listing
    item = (await core.store.list_held(ALICE))[0].id
    await core.handle_command(
        adapter, adapter.invoke("held", "show", str(item), member=ALICE, community=SPACE)
    )
    shown = adapter.last_reply()
    assert "buy my stuff" in shown and "only you see this" in shown
    # showing is private and keeps the item; dismissing deletes it
    assert len(await core.store.list_held(ALICE)) == 2
    await core.handle_command(
        adapter, adapter.invoke("held", "dismiss", "all", member=ALICE, community=SPACE)
    )
    assert "Deleted 2 held items" in adapter.last_reply()
    assert await core.store.list_held(ALICE) == []


async def test_reactions_from_unverified_accounts_are_removed(
    setup: tuple[BotCore, RecordingAdapter],
) -> None:
    core, adapter = setup
    await core.handle_command(
        adapter, adapter.invoke("filter", "replies", member=ALICE, community=SPACE)
    )
    await core.handle_event(
        adapter,
        ReactionAdded(
            MessageRef(ROOM, "$alices"),
            Actor(MALLORY),
            "👎",
            message_author=ALICE,
            reaction_id="$r",
        ),
    )
    assert [c[0] for c in adapter.calls if c[0] == "remove_reaction"] == ["remove_reaction"]
    assert (await core.store.list_held(ALICE))[0].content == "👎"


async def test_policy_is_stored_then_applied_natively_then_enforced(
    setup: tuple[BotCore, RecordingAdapter],
) -> None:
    core, adapter = setup
    await core.handle_command(
        adapter,
        adapter.invoke(
            "policy", "!room:hs", "read_only", member=ALICE, community=SPACE, role=Role.ADMIN
        ),
    )
    assert "channel !room:hs is now read only" in adapter.last_reply()
    assert ("apply_policy", (ROOM, UnverifiedPolicy.READ_ONLY)) in adapter.calls
    await core.handle_event(
        adapter, MessagePosted(MessageRef(ROOM, "$m"), Actor(MALLORY), text="hi")
    )
    await core.handle_event(adapter, MessagePosted(MessageRef(ROOM, "$v"), Actor(VERA), text="hi"))
    assert adapter.removed() == [MessageRef(ROOM, "$m")]
    await core.audit.flush()
    audit = await core.store.list_audit(community_id=SPACE.id)
    assert {a.action for a in audit} >= {"ApplyPolicy", "RemoveMessage"}


async def test_dry_run_logs_and_audits_instead_of_acting(store: Store) -> None:
    adapter = RecordingAdapter(served=[SPACE])
    core = BotCore(
        CONFIG, store, adapters=[adapter], cogs=[Filters, Admin], dry_run=True, clock=lambda: NOW
    )
    await core.start()
    await core.cache.set_policy(SPACE, None, UnverifiedPolicy.READ_ONLY, by=None, at=NOW)
    await core.handle_event(
        adapter, MessagePosted(MessageRef(ROOM, "$m"), Actor(MALLORY), text="hi")
    )
    assert adapter.removed() == [] and adapter.directs == []
    await core.audit.flush()
    audit = await store.list_audit(community_id=SPACE.id)
    assert audit and all(a.dry_run and a.detail.startswith("would ") for a in audit)
    await core.stop()


async def test_badges_are_reconciled_at_start_and_restored_on_join(store: Store) -> None:
    adapter = RecordingAdapter(served=[SPACE])
    adapter.members = {VERA: {SPACE}, MALLORY: {SPACE}}
    adapter.badges = {(MALLORY, SPACE)}  # a badge nobody earned (e.g. granted by hand)
    await store.save_verification(
        VerificationRecord("matrix", VERA.id, "moderator", "reviewed", "v" * 64, NOW)
    )
    core = BotCore(CONFIG, store, adapters=[adapter], cogs=[Badges], clock=lambda: NOW)
    await core.start()

    def summary() -> list[str]:
        return [args[1] for name, args in adapter.calls if name == "notify_admins"]

    await wait_until(lambda: bool(summary()), what="the badge check and its summary")
    assert adapter.badges == {(VERA, SPACE)}
    assert summary() == [
        "Badge check: restored the badge of 1 verified member (@vera:hs); removed it from 1"
        " member without a live verification, for example a badge given by hand (@mallory:hs)."
    ]
    adapter.badges.clear()  # Vera left, which took her badge; she comes back
    await core.handle_event(adapter, MemberJoined(SPACE, VERA))
    assert adapter.badges == {(VERA, SPACE)}
    await core.handle_event(adapter, MemberJoined(SPACE, MALLORY))
    assert (MALLORY, SPACE) not in adapter.badges
    await core.stop()


async def test_badges_are_checked_again_and_again_without_holding_up_start(store: Store) -> None:
    adapter = RecordingAdapter(served=[SPACE])
    adapter.members = {MALLORY: {SPACE}}
    often = CONFIG.model_copy(
        update={"defaults": CONFIG.defaults.model_copy(update={"badge_check_minutes": 0.005})}
    )
    core = BotCore(often, store, adapters=[adapter], cogs=[Badges], clock=lambda: NOW)
    await core.start()
    try:
        adapter.badges.add((MALLORY, SPACE))  # an admin hands out the badge role later on
        await wait_until(lambda: not adapter.badges, what="the next badge check")
    finally:
        await core.stop()


async def test_a_badge_the_bot_cannot_grant_is_logged_not_fatal(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = RecordingAdapter(served=[SPACE], fail_badges=True)
    adapter.members = {VERA: {SPACE}}
    await store.save_verification(
        VerificationRecord("matrix", VERA.id, "moderator", "reviewed", "v" * 64, NOW)
    )
    core = BotCore(CONFIG, store, adapters=[adapter], cogs=[Badges], clock=lambda: NOW)
    with caplog.at_level(logging.WARNING):
        await core.start()
        await wait_until(lambda: "below the badge role" in caplog.text, what="the badge check")
    assert core.metrics.value("verifybot_action_failures_total", kind="set_badge") == 1
    await core.stop()


async def test_help_lists_only_what_the_member_may_run(
    setup: tuple[BotCore, RecordingAdapter],
) -> None:
    core, adapter = setup
    await core.handle_command(adapter, adapter.invoke("help", member=ALICE, community=SPACE))
    member_help = adapter.last_reply()
    assert "!filter [off|replies|all]" in member_help and "!policy" not in member_help
    await core.handle_command(
        adapter, adapter.invoke("help", member=ALICE, community=SPACE, role=Role.ADMIN)
    )
    assert "!policy" in adapter.last_reply()


async def test_the_hot_path_issues_no_query_once_warm(
    setup: tuple[BotCore, RecordingAdapter],
) -> None:
    core, adapter = setup
    event = MessagePosted(
        MessageRef(ROOM, "$plain"), Actor(MALLORY), text="hello", reply_to_author=VERA
    )
    await core.handle_event(adapter, event)  # warms the cache
    # the start's badge check runs in the background and writes: let it finish first
    await wait_until(
        lambda: any(name == "notify_admins" for name, _ in adapter.calls), what="the badge check"
    )
    await core.audit.flush()
    before = core.store.statements
    for i in range(50):
        await core.handle_event(
            adapter,
            MessagePosted(
                MessageRef(ROOM, f"$p{i}"), Actor(MALLORY), text="hello", reply_to_author=VERA
            ),
        )
    assert core.store.statements == before
    assert adapter.removed() == []


def test_access_levels_follow_roles() -> None:
    assert Role.ADMIN >= Access.MODERATOR and not Role.MEMBER >= Access.MODERATOR


async def test_housekeeping_deletes_held_items_past_retention(store: Store) -> None:
    from cogs.housekeeping import Housekeeping

    adapter = RecordingAdapter(served=[SPACE])
    clock = [NOW]
    core = BotCore(
        CONFIG, store, adapters=[adapter], cogs=[Filters, Housekeeping], clock=lambda: clock[0]
    )
    await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, NOW)
    await core.handle_event(adapter, reply(MALLORY, ALICE))
    assert len(await store.list_held(ALICE)) == 1
    clock[0] = NOW + timedelta(days=CONFIG.defaults.held_retention_days - 1)
    assert (await core.cog(Housekeeping).sweep())["held_items"] == 0
    clock[0] = NOW + timedelta(days=CONFIG.defaults.held_retention_days, seconds=1)
    assert (await core.cog(Housekeeping).sweep())["held_items"] == 1
    assert await store.list_held(ALICE) == []


async def test_a_hold_that_cannot_be_written_removes_nothing(
    setup: tuple[BotCore, RecordingAdapter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hold, then remove: if the member's copy cannot be kept, the message stays up."""
    core, adapter = setup
    await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, NOW)

    async def disk_full(*_args: object, **_kwargs: object) -> int:
        raise OSError("database or disk is full")

    monkeypatch.setattr(core.store, "add_held", disk_full)
    await core.handle_event(adapter, reply(MALLORY, ALICE, "$kept"))
    assert adapter.removed() == []
    assert core.metrics.value("verifybot_action_failures_total", kind="withhold") == 1
    monkeypatch.undo()
    await core.handle_event(adapter, reply(MALLORY, ALICE, "$held"))
    assert adapter.removed() == [MessageRef(ROOM, "$held")]
    assert [h.message_id for h in await core.store.list_held(ALICE)] == ["$held"]


async def test_held_counts_truthfully_and_pages(setup: tuple[BotCore, RecordingAdapter]) -> None:
    core, adapter = setup
    await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, NOW)
    for number in range(67):
        await core.handle_event(adapter, reply(MALLORY, ALICE, f"$r{number}", f"reply {number}"))

    async def held(*words: str) -> str:
        await core.handle_command(
            adapter, adapter.invoke("held", *words, member=ALICE, community=SPACE)
        )
        return adapter.last_reply()

    first = await held()
    assert first.startswith("Held for you (67), 1 to 20 shown:") and "More: !held list 2." in first
    last = await held("list", "4")
    assert last.startswith("Held for you (67), 61 to 67 shown:") and "More:" not in last
    late = (await core.store.list_held(ALICE, limit=1, offset=64))[0]
    assert "reply 64" in await held("show", str(late.id))
    assert "is not a number from the list" in await held("show", "99999999999999999999")
    assert await held("dismiss", "all") == "Deleted 67 held items."
    assert await held() == "Nothing is held for you."


async def test_the_log_says_what_was_done_and_names_no_one(
    setup: tuple[BotCore, RecordingAdapter], caplog: pytest.LogCaptureFixture
) -> None:
    core, adapter = setup
    await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, NOW)
    adapter.fail_badges = True
    with caplog.at_level(logging.INFO):
        await core.handle_event(adapter, reply(MALLORY, ALICE, "$x", "buy my stuff"))
        await core.execute(SetBadge(VERA, SPACE, True))
    said = caplog.text
    assert "held a message in !space:hs for a member who filters it" in said
    await core.audit.flush()  # and the audit trail's text names no one either (ids: columns)
    for member in (MALLORY, ALICE, VERA):
        await assert_no_account_ids_in_text(core.store, member)
    assert "could not carry out SetBadge in !space:hs" in said
    for personal in ("@mallory:hs", "@alice:hs", "@vera:hs", "buy my stuff"):
        assert personal not in said


async def test_a_sender_is_not_told_of_a_removal_that_failed(
    setup: tuple[BotCore, RecordingAdapter], monkeypatch: pytest.MonkeyPatch
) -> None:
    core, adapter = setup
    await core.cache.set_filter(SPACE, ALICE, FilterLevel.REPLIES, NOW)

    async def outage(*_args: object) -> None:
        raise AdapterError("the network answered 503")

    monkeypatch.setattr(adapter, "remove_message", outage)
    await core.handle_event(adapter, reply(MALLORY, ALICE, "$stays"))
    assert adapter.directs == []  # no "your reply was removed" while it is still there
