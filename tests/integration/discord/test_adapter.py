"""verifybot's DiscordAdapter, run with the real discord.py against the loopback Discord.

A recording sink stands in for the core, so these tests pin what the adapter itself promises:
faithful neutral events, native enforcement, admin notices instead of crashes.
"""

from __future__ import annotations

import pytest

from bot.adapters.base import AdapterError
from bot.adapters.discord import DiscordAdapter
from bot.config import SecretRef
from bot.model import (
    Access,
    ChannelRef,
    CommandInvocation,
    CommandSpec,
    CommunityAdded,
    CommunityRef,
    Event,
    MemberJoined,
    MemberRef,
    MessagePosted,
    MessageRef,
    ParamKind,
    ParamSpec,
    ReactionAdded,
    Role,
    UnverifiedPolicy,
)
from tests.fakes.discord_api import Perm
from tests.fixtures.discord_fake import AdapterFactory, DiscordWorld, RecordingSink

pytestmark = pytest.mark.discord_fake

SPECS = [
    CommandSpec(
        "filter",
        "Limit replies, mentions and reactions from unverified accounts to you",
        (
            ParamSpec(
                "level",
                ParamKind.CHOICE,
                "off: allow everyone; replies: hold replies, mentions and reactions from"
                " unverified accounts; all: also posts in your threads",
                required=False,
                choices=("off", "replies", "all"),
            ),
        ),
    ),
    CommandSpec(
        "policy",
        "Set what unverified members may do here",
        (
            ParamSpec("channel", ParamKind.CHANNEL, "a channel", required=False),
            ParamSpec(
                "level",
                ParamKind.CHOICE,
                "the policy",
                required=False,
                choices=("open", "read_only"),
            ),
        ),
        access=Access.ADMIN,
    ),
    CommandSpec(
        "approve",
        "Approve a member",
        (ParamSpec("member", ParamKind.MEMBER, "who"),),
        access=Access.MODERATOR,
    ),
]


def ref(user_id: int) -> MemberRef:
    return MemberRef("discord", str(user_id))


def community(w: DiscordWorld) -> CommunityRef:
    return CommunityRef("discord", str(w.guild.id))


def channel(w: DiscordWorld, channel_id: int) -> ChannelRef:
    return ChannelRef(community(w), str(channel_id))


async def test_start_creates_the_badge_role_and_publishes_commands(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter(badge_role_colour="#123456")
    await adapter.register_commands(SPECS)

    badge = w.role_named("Verified")
    assert badge is not None and badge.colour == 0x123456 and badge.permissions == 0
    assert badge.position < w.bot_role.position
    assert adapter.communities() == [community(w)]
    published = {c["name"]: c for c in w.world.guild_commands[w.guild.id]}
    assert published["filter"]["default_member_permissions"] is None
    assert published["policy"]["default_member_permissions"] == str(1 << 5)  # manage_guild
    assert published["approve"]["default_member_permissions"] == str(1 << 13)  # manage_messages
    level = published["filter"]["options"][0]
    assert [c["value"] for c in level["choices"]] == ["off", "replies", "all"]
    assert len(level["description"]) <= 100 and not level["required"]


async def test_without_command_guilds_commands_are_global_and_linked_roles_registered(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    adapter = await discord_adapter(
        sink, command_guilds=[], linked_roles=True, client_secret=SecretRef(value="s")
    )
    await adapter.register_commands(SPECS)

    assert sorted(c["name"] for c in w.world.global_commands) == ["approve", "filter", "policy"]
    assert w.guild.id not in w.world.guild_commands
    await w.fake.push_command(w.guild, w.general, w.alice, "filter", level="off")
    assert (await sink.next(CommandInvocation)).args == (("level", "off"),)
    (metadata,) = w.world.role_connection_metadata
    assert (metadata["key"], metadata["type"]) == ("verified", 7)


async def test_a_refused_token_or_intent_fails_start_with_the_fix(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    with pytest.raises(AdapterError, match="Reset Token"):
        await discord_adapter(token=SecretRef(value="not-the-token"))
    discord_world.world.privileged_intents = False
    with pytest.raises(AdapterError, match="Privileged Gateway Intents"):
        await discord_adapter()


async def test_messages_become_neutral_events_with_their_relations(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    await discord_adapter(sink)
    original = await w.fake.push_message(w.general, w.alice, "my post")
    await sink.next(MessagePosted)

    await w.fake.push_message(
        w.general, w.mallory, "see https://example.org <@x>", reply_to=original.data,
        mentions=[w.bob], attachments=1,
    )  # fmt: skip
    reply = await sink.next(MessagePosted)
    thread = await w.fake.push_thread(w.guild, w.general, w.alice, "alice's thread")
    await w.fake.push_message(thread, w.mallory, "in the thread")
    in_thread = await sink.next(MessagePosted)

    assert reply.sender.member == ref(w.mallory.id) and reply.sender.role is Role.MEMBER
    assert reply.reply_to_author == ref(w.alice.id)
    assert set(reply.mentioned) == {ref(w.bob.id), ref(w.alice.id)}
    assert reply.has_link and reply.has_attachment and not reply.mentions_everyone
    assert reply.message.channel == channel(w, w.general.id)
    assert in_thread.thread_starter == ref(w.alice.id)
    assert in_thread.message.channel.id == str(thread.id)


async def test_roles_reactions_joins_and_leaves(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    await discord_adapter(sink)
    await w.fake.push_message(w.general, w.admin, "admin speaking")
    await w.fake.push_message(w.general, w.moderator, "moderator speaking")
    admin_post, moderator_post = await sink.next(MessagePosted), await sink.next(MessagePosted)
    message = await w.fake.push_message(w.general, w.alice, "react here")
    await w.fake.push_reaction(message.data, w.mallory, "👎")
    newcomer = w.world.add_user("newcomer")
    await w.fake.push_member_join(w.guild, newcomer)
    await w.fake.push_member_leave(w.guild, newcomer)

    assert admin_post.sender.role is Role.ADMIN and moderator_post.sender.role is Role.MODERATOR
    reaction = await sink.next(ReactionAdded)
    assert (reaction.sender.member, reaction.message_author, reaction.emoji) == (
        ref(w.mallory.id),
        ref(w.alice.id),
        "👎",
    )
    assert (await sink.next(MemberJoined)).member == ref(newcomer.id)


async def test_the_bots_own_messages_are_not_events(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    adapter = await discord_adapter(sink)
    await adapter.post(channel(w, w.general.id), "from the bot")
    await w.fake.push_message(w.general, w.bob, "from bob")

    assert (await sink.next(MessagePosted)).sender.member == ref(w.bob.id)
    assert all(
        e.sender.member != ref(w.world.bot.id) for e in sink.events if isinstance(e, MessagePosted)
    )


async def test_slash_command_reaches_the_core_and_is_answered_ephemerally(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()

    async def answer(adapter: object, item: Event | CommandInvocation) -> None:
        if isinstance(item, CommandInvocation):
            assert isinstance(adapter, DiscordAdapter)
            await adapter.respond(
                item, f"level {dict(item.args)['level']} for {adapter.display(item.invoker.member)}"
            )

    sink.react = answer
    adapter = await discord_adapter(sink)
    await adapter.register_commands(SPECS)

    record = await w.fake.push_command(w.guild, w.general, w.admin, "filter", level="replies")
    invocation = await sink.next(CommandInvocation)
    await w.fake.wait_until(lambda: record.given, what="the answer")

    assert invocation.name == "filter" and invocation.args == (("level", "replies"),)
    assert invocation.invoker.role is Role.ADMIN and invocation.community == community(w)
    assert invocation.channel == channel(w, w.general.id) and invocation.event_id == str(record.id)
    assert (
        record.given[0]["ephemeral"]
        and record.given[0]["content"] == f"level replies for <@{w.admin.id}>"
    )


async def test_member_and_channel_options_arrive_as_ids(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    adapter = await discord_adapter(sink)
    await adapter.register_commands(SPECS)

    await w.fake.push_command(w.guild, w.general, w.moderator, "approve", member=w.bob)
    await w.fake.push_command(
        w.guild, w.general, w.admin, "policy", channel=w.general, level="read_only"
    )
    approve, policy = await sink.next(CommandInvocation), await sink.next(CommandInvocation)

    assert approve.args == (("member", str(w.bob.id)),)
    assert adapter.parse_member(dict(approve.args)["member"]) == ref(w.bob.id)
    assert dict(policy.args) == {"channel": str(w.general.id), "level": "read_only"}
    assert adapter.parse_channel(str(w.general.id), community(w)) == channel(w, w.general.id)
    assert adapter.parse_channel("123456789012345678", community(w)) is None


async def test_a_slow_answer_is_deferred_then_sent_as_a_follow_up(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = discord_world
    monkeypatch.setattr("bot.adapters.discord.commands.DEFER_AFTER", 0.05)
    sink = RecordingSink()

    async def slow(adapter: object, item: Event | CommandInvocation) -> None:
        if isinstance(item, CommandInvocation):
            await w.fake.wait_until(lambda: record.acknowledged, what="the deferral")
            assert isinstance(adapter, DiscordAdapter)
            await adapter.respond(item, "done at last")

    sink.react = slow
    adapter = await discord_adapter(sink)
    await adapter.register_commands(SPECS)
    record = await w.fake.push_command(w.guild, w.general, w.alice, "filter")
    await w.fake.wait_until(lambda: len(record.replies) == 2, what="the follow-up")

    assert [(r["kind"], r.get("type"), r["content"]) for r in record.replies] == [
        ("callback", 5, None),
        ("followup", None, "done at last"),
    ]


async def test_badge_is_granted_and_removed(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    badge = w.role_named("Verified")
    assert badge is not None

    await adapter.set_badge(ref(w.alice.id), community(w), True)
    assert badge.id in w.member_role_ids(w.alice)
    assert [m async for m in adapter.badge_holders(community(w))] == [ref(w.alice.id)]
    await adapter.set_badge(ref(w.alice.id), community(w), False)
    assert badge.id not in w.member_role_ids(w.alice)
    assert await adapter.member_communities(ref(w.alice.id)) == [community(w)]


async def test_bot_role_too_low_tells_admins_the_fix_and_keeps_running(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    badge = w.world.add_role(w.guild, "Verified")  # an admin made it, above the bot's role
    sink = RecordingSink()
    adapter = await discord_adapter(sink)

    with pytest.raises(AdapterError, match="drag verifybot above Verified"):
        await adapter.set_badge(ref(w.alice.id), community(w), True)

    notices = [m["content"] for m in w.fake.bot_messages(w.log_channel.id)]
    assert sum("drag verifybot above Verified" in n for n in notices) == 1  # once, not per try
    assert badge.id not in w.member_role_ids(w.alice)
    assert not w.fake.find_requests("PUT", r"/guilds/\d+/members/\d+/roles/\d+")  # no 403 storm
    await w.fake.push_message(w.general, w.bob, "still listening?")
    assert (await sink.next(MessagePosted)).text == "still listening?"


async def test_admins_hear_once_that_roles_bypass_the_verification_level(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    guild = adapter._clients.guild(CommunityRef("discord", str(w.guild.id)))
    await adapter._badge.prepare(guild)  # as at every start and guild join

    notes = [
        m for m in w.fake.bot_messages(w.log_channel.id) if "verification level" in m["content"]
    ]
    assert len(notes) == 1 and "exempt" in notes[0]["content"]


async def test_read_only_and_verified_only_are_channel_overwrites(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    badge = w.role_named("Verified")
    assert badge is not None
    everyone = w.guild.id

    await adapter.apply_policy(channel(w, w.general.id), UnverifiedPolicy.READ_ONLY)
    overwrites = w.general.overwrites
    assert (
        overwrites[everyone].deny & Perm.SEND_MESSAGES
        and not overwrites[everyone].deny & Perm.VIEW_CHANNEL
    )
    assert overwrites[badge.id].allow & Perm.SEND_MESSAGES
    alice = w.guild.members[w.alice.id]
    assert not w.guild.channel_permissions(alice, w.general) & Perm.SEND_MESSAGES

    await adapter.apply_policy(channel(w, w.general.id), UnverifiedPolicy.VERIFIED_ONLY)
    assert w.general.overwrites[everyone].deny & Perm.VIEW_CHANNEL
    bot = w.guild.members[w.world.bot.id]
    assert w.guild.channel_permissions(bot, w.general) & Perm.MANAGE_MESSAGES  # it keeps working
    alice.roles.append(badge.id)
    assert w.guild.channel_permissions(alice, w.general) & Perm.SEND_MESSAGES

    await adapter.apply_policy(channel(w, w.general.id), UnverifiedPolicy.OPEN)
    assert w.general.overwrites == {}


async def test_community_policy_skips_channels_with_their_own(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    await adapter.apply_policy(channel(w, w.general.id), UnverifiedPolicy.OPEN)

    # the policy engine names the channels that keep their own policy (policy.community_wide)
    keep = frozenset({str(w.general.id)})
    await adapter.apply_policy(community(w), UnverifiedPolicy.READ_ONLY, keep)

    assert w.guild.id not in w.general.overwrites
    assert w.log_channel.overwrites[w.guild.id].deny & Perm.SEND_MESSAGES


async def test_limited_is_automod_with_the_badge_exempt(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    badge = w.role_named("Verified")
    assert badge is not None

    await adapter.apply_policy(community(w), UnverifiedPolicy.LIMITED)
    rules = list(w.guild.automod_rules.values())
    assert sorted(r["trigger_type"] for r in rules) == [1, 5]
    assert all(str(badge.id) in r["exempt_roles"] for r in rules)
    assert (
        await w.fake.push_message(w.general, w.mallory, "buy at https://spam.example")
    ).blocked_by
    w.guild.members[w.bob.id].roles.append(badge.id)
    assert not (await w.fake.push_message(w.general, w.bob, "see https://docs.example")).blocked_by

    await adapter.apply_policy(community(w), UnverifiedPolicy.OPEN)
    assert w.guild.automod_rules == {}


async def test_protected_members_cannot_be_mentioned_by_unverified_accounts(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()

    result = await adapter.protect_members(community(w), [ref(w.alice.id)])
    stopped = await w.fake.push_message(w.general, w.mallory, f"hey <@{w.alice.id}>")
    await adapter.set_badge(ref(w.bob.id), community(w), True)
    allowed = await w.fake.push_message(w.general, w.bob, f"hey <@{w.alice.id}>")

    assert result.protected == (ref(w.alice.id),) and result.unprotected == ()
    assert stopped.blocked_by is not None and not allowed.blocked_by
    await adapter.protect_members(community(w), [])
    assert w.guild.automod_rules == {}


async def test_protection_respects_discords_keyword_limits(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    for n in range(3):  # the admins' own keyword rules take half of the six slots
        rule = {
            "name": f"admins {n}",
            "trigger_type": 1,
            "trigger_metadata": {"keyword_filter": ["x"]},
        }
        w.world.add_automod_rule(w.guild, w.owner, rule)
    adapter = await discord_adapter()
    many = [ref(10**17 + n) for n in range(1600)]

    result = await adapter.protect_members(community(w), many)

    ours = [r for r in w.guild.automod_rules.values() if r["name"].startswith("verifybot")]
    assert len(ours) == 3 and all(
        len(r["trigger_metadata"]["keyword_filter"]) <= 1000 for r in ours
    )
    assert len(result.protected) == 1500 and len(result.unprotected) == 100


async def test_removals_are_immediate_and_idempotent(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    post = await w.fake.push_message(w.general, w.mallory, "unwanted")
    await w.fake.push_reaction(post.data, w.mallory, "👎")
    where = MessageRef(channel(w, w.general.id), str(post.id))

    await adapter.remove_reaction(where, ref(w.mallory.id), "👎", None, "filtered")
    await adapter.remove_message(where, "filtered")
    await adapter.remove_message(where, "filtered")  # already gone: no error

    assert post.id not in w.world.messages and w.world.reactions.get(post.id) is None
    delete = w.fake.find_requests("DELETE", rf"/channels/{w.general.id}/messages/{post.id}")[0]
    assert delete.reason == "filtered"


async def test_missing_manage_messages_is_reported_without_requests(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    w.bot_role.permissions &= ~Perm.MANAGE_MESSAGES
    adapter = await discord_adapter()
    post = await w.fake.push_message(w.general, w.mallory, "unwanted")
    where = MessageRef(channel(w, w.general.id), str(post.id))

    for _ in range(3):
        with pytest.raises(AdapterError, match="Manage Messages"):
            await adapter.remove_message(where, "filtered")

    assert not w.fake.find_requests("DELETE", r"/channels/.*")
    notices = [
        m for m in w.fake.bot_messages(w.log_channel.id) if "Manage Messages" in m["content"]
    ]
    assert len(notices) == 1


async def test_sender_notice_falls_back_to_a_self_deleting_post(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = discord_world
    monkeypatch.setattr("bot.adapters.discord.outbox.NOTICE_SECONDS", 0.1)
    sink = RecordingSink()
    adapter = await discord_adapter(sink)
    w.alice.accepts_dms = False
    await adapter.notify_sender(ref(w.bob.id), None, "please verify")
    await w.fake.push_message(w.general, w.alice, "hi")
    await sink.next(MessagePosted)

    await adapter.notify_sender(ref(w.alice.id), None, "please verify")

    assert [m["content"] for m in w.fake.dm_messages(w.bob)] == ["please verify"]
    notice = w.fake.bot_messages(w.general.id)[-1]
    assert notice["content"] == f"<@{w.alice.id}> please verify"
    await w.fake.wait_for_request("DELETE", rf"/channels/{w.general.id}/messages/{notice['id']}")


async def test_a_crashed_client_is_restarted(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    w = discord_world
    sink = RecordingSink()
    adapter = await discord_adapter(sink)

    # a close discord.py does not reconnect after (4013, invalid intents) ends Client.connect
    await w.fake.drop_gateway(4013)
    await w.fake.wait_for_sessions(1)  # a new client identified afresh
    assert w.fake.identifies == 2
    await w.fake.push_message(w.general, w.bob, "after the restart")

    assert (await sink.next(MessagePosted)).text == "after the restart"
    assert adapter.metrics["client_restarts"] == 1
    assert "restarting" in caplog.text


async def test_a_failing_sink_does_not_stop_the_adapter(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    calls = 0

    async def explode_once(adapter: object, item: Event | CommandInvocation) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug in a cog")

    sink.react = explode_once
    adapter = await discord_adapter(sink)
    await w.fake.push_message(w.general, w.bob, "first")
    await w.fake.push_message(w.general, w.bob, "second")

    assert [(await sink.next(MessagePosted)).text for _ in range(2)] == ["first", "second"]
    assert adapter.metrics["handler_errors"] == 1


async def test_refusals_are_counted(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    w.fake.fail_next("POST", rf"/channels/{w.general.id}/messages", retry_after=0.05)
    await adapter.post(channel(w, w.general.id), "through at the second try")
    w.fake.fail_next("POST", rf"/channels/{w.general.id}/messages", status=403)
    with pytest.raises(AdapterError):
        await adapter.post(channel(w, w.general.id), "refused")

    assert adapter.metrics["http_429"] == 1 and adapter.metrics["http_403"] == 1


async def test_joining_a_guild_announces_a_community(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    sink = RecordingSink()
    await discord_adapter(sink)
    second = w.world.add_guild("Second", w.owner)
    w.world.add_member(
        second, w.world.bot, (w.world.add_role(second, "verifybot", Perm.MANAGE_ROLES),)
    )
    await w.fake.push_guild_join(second)

    assert (await sink.next(CommunityAdded)).community == CommunityRef("discord", str(second.id))
    assert second.role_named("Verified") is not None
