"""Replies and reactions whose author Discord left out, with real discord.py and the loopback API.

Discord may send a reply without `referenced_message` (missing: it did not look; null: deleted)
and a reaction without `message_author_id`. A non-pinging reply then carries no mention either,
so without a lookup a member's filter never sees it. The adapter looks the author up (memory of
recent messages, then one bounded fetch) or says explicitly that it cannot be known.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.discord.authors import AuthorMemory
from bot.model import MemberRef, MessagePosted, ReactionAdded
from tests.fakes.discord_api import Channel, User
from tests.fixtures.discord_fake import AdapterFactory, DiscordBot, DiscordWorld, RecordingSink

pytestmark = pytest.mark.discord_fake

ONE_MESSAGE = r"/channels/\d+/messages/\d+"


def ref(user: User) -> MemberRef:
    return MemberRef("discord", str(user.id))


def unseen_post(w: DiscordWorld, channel: Channel, author: User, text: str) -> dict[str, object]:
    """A message that exists on Discord but never reached this bot (posted before it started)."""
    return w.world.message_payload(channel, author, text)


def test_the_memory_is_bounded_and_knows_what_it_has_seen() -> None:
    memory = AuthorMemory(size=3)
    assert [memory.remember(m, m * 10) for m in (1, 2, 3, 2)] == [True, True, True, False]
    memory.remember(4, 40)  # the oldest (1) makes room

    assert len(memory) == 3 and 1 not in memory
    assert [memory.author_of(m) for m in (1, 2, 3, 4)] == [None, 20, 30, 40]


async def test_a_reply_without_its_target_names_the_author_from_memory(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    await discord_adapter(sink)
    post = await w.fake.push_message(w.general, w.alice, "my post")
    await sink.next(MessagePosted)

    await w.fake.push_message(
        w.general, w.mallory, "psst", reply_to=post.data, ping_reply=False, referenced="missing"
    )
    reply = await sink.next(MessagePosted)

    assert reply.mentioned == () and reply.reply_to_author == ref(w.alice)
    assert not reply.reply_author_unknown
    assert not w.fake.find_requests("GET", ONE_MESSAGE)  # memory: no request on the hot path


async def test_a_reply_to_a_message_the_bot_never_saw_fetches_its_author(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    await discord_adapter(sink)
    old = unseen_post(w, w.general, w.alice, "from before the bot started")

    await w.fake.push_message(
        w.general, w.mallory, "psst", reply_to=old, ping_reply=False, referenced="missing"
    )
    reply = await sink.next(MessagePosted)

    assert reply.reply_to_author == ref(w.alice) and not reply.reply_author_unknown
    (fetch,) = w.fake.find_requests("GET", ONE_MESSAGE)
    assert fetch.path == f"/channels/{w.general.id}/messages/{old['id']}"


async def test_a_reply_whose_target_cannot_be_found_is_marked_unknown(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    await discord_adapter(sink)
    gone = unseen_post(w, w.general, w.alice, "deleted since")
    del w.world.messages[int(str(gone["id"]))]

    await w.fake.push_message(
        w.general, w.mallory, "a", reply_to=gone, ping_reply=False, referenced="missing"
    )
    await w.fake.push_message(
        w.general, w.mallory, "b", reply_to=gone, ping_reply=False, referenced="deleted"
    )
    fetched, deleted = await sink.next(MessagePosted), await sink.next(MessagePosted)

    assert fetched.reply_author_unknown and fetched.reply_to_author is None  # 404 on the fetch
    assert deleted.reply_author_unknown and deleted.reply_to_author is None
    assert len(w.fake.find_requests("GET", ONE_MESSAGE)) == 1  # null means deleted: no fetch
    assert [r.status for r in w.fake.find_requests("GET", ONE_MESSAGE)] == [404]


async def test_a_reaction_without_its_messages_author_is_completed(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    adapter = await discord_adapter(sink)
    seen = await w.fake.push_message(w.general, w.alice, "seen")
    await sink.next(MessagePosted)
    unseen = unseen_post(w, w.general, w.bob, "unseen")
    gone = unseen_post(w, w.general, w.bob, "gone")
    del w.world.messages[int(str(gone["id"]))]

    for message in (seen.data, unseen, gone):
        await w.fake.push_reaction(message, w.mallory, "👎", with_author=False)
    on_seen, on_unseen, on_gone = [await sink.next(ReactionAdded) for _ in range(3)]

    assert (on_seen.message_author, on_seen.author_unknown) == (ref(w.alice), False)
    assert (on_unseen.message_author, on_unseen.author_unknown) == (ref(w.bob), False)
    assert (on_gone.message_author, on_gone.author_unknown) == (None, True)
    assert len(w.fake.find_requests("GET", ONE_MESSAGE)) == 2
    assert adapter.metrics["authors_unknown"] == 1


async def test_a_slow_fetch_holds_back_only_its_own_event(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fetch Discord answers late: the next message is handed over first, and the reaction
    once the fetch gives up, as not knowable (had the bot waited for Discord's answer, the
    author would be known)."""
    w = discord_world
    monkeypatch.setattr("bot.adapters.discord.authors.FETCH_TIMEOUT", 0.5)
    sink = RecordingSink()
    await discord_adapter(sink)
    unseen = unseen_post(w, w.general, w.alice, "unseen")
    w.fake.delay_next("GET", ONE_MESSAGE, seconds=3)

    await w.fake.push_reaction(unseen, w.mallory, "👎", with_author=False)
    await w.fake.wait_until(
        lambda: any(r.method == "GET" for r in w.fake.requests), what="the fetch to begin"
    )
    await w.fake.push_message(w.general, w.mallory, "next in the same channel")
    following = await sink.next(MessagePosted)
    assert following.text == "next in the same channel"
    assert not [e for e in sink.events if isinstance(e, ReactionAdded)]  # still waiting
    reaction = await sink.next(ReactionAdded, within=10)
    assert reaction.author_unknown and reaction.message_author is None
    assert sink.events.index(following) < sink.events.index(reaction)


# --- the whole bot: what a member who filters replies notices ---------------------------------


async def test_a_non_pinging_reply_without_its_target_is_held(discord_bot: DiscordBot) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    post = await w.fake.push_message(w.general, w.alice, "my news")

    unwanted = await w.fake.push_message(
        w.general, w.mallory, "quiet reply", reply_to=post.data, ping_reply=False,
        referenced="missing",
    )  # fmt: skip
    await discord_bot.deleted(unwanted)

    held = await discord_bot.run(w.alice, "held")
    assert "quiet reply" in held.given[0]["content"]


async def test_a_reaction_without_its_author_on_a_filtered_members_post_is_removed(
    discord_bot: DiscordBot,
) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    post = await w.fake.push_message(w.general, w.alice, "my news")

    await w.fake.push_reaction(post.data, w.mallory, "👎", with_author=False)

    path = rf"/channels/{w.general.id}/messages/{post.id}/reactions/.+/{w.mallory.id}"
    await w.fake.wait_for_request("DELETE", path)
    assert w.world.reactions[post.id] == set()


async def test_a_reply_whose_target_is_unknown_is_allowed_and_counted(
    discord_bot: DiscordBot,
) -> None:
    w = discord_bot.w
    await discord_bot.run(w.alice, "filter", level="replies")
    gone = unseen_post(w, w.general, w.alice, "deleted since")
    del w.world.messages[int(str(gone["id"]))]

    kept = await w.fake.push_message(
        w.general, w.mallory, "to nobody we know", reply_to=gone, ping_reply=False,
        referenced="deleted",
    )  # fmt: skip
    metrics = discord_bot.core.metrics
    async with asyncio.timeout(5):  # decided without any request: nothing else to wait on
        while metrics.value("verifybot_decisions_allowed_without_facts_total") < 1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    await discord_bot.adapter.drained()
    assert kept.id in w.world.messages
    assert not w.fake.find_requests("DELETE", rf"/channels/\d+/messages/{kept.id}")
