"""The policy engine, table-driven over every combination, plus properties that must always hold."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import policy
from bot.actions import (
    Allow,
    ApplyPolicy,
    NotifySender,
    RemoveMessage,
    RemoveReaction,
    Withhold,
)
from bot.model import (
    Actor,
    ChannelRef,
    CommunityRef,
    FilterLevel,
    MemberRef,
    MessagePosted,
    MessageRef,
    ReactionAdded,
    Relation,
    Role,
    UnverifiedPolicy,
)
from bot.policy import PolicySettings, Target
from bot.storage.records import VerificationRecord

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
COMMUNITY = CommunityRef("matrix", "!space")
CHANNEL = ChannelRef(COMMUNITY, "!room")
SENDER = MemberRef("matrix", "@sender:hs")
TARGET = MemberRef("matrix", "@target:hs")
SETTINGS = PolicySettings(accepted_levels=frozenset({"identity", "email"}))

SENDER_STATES = (
    "unverified",
    "verified",
    "expired",
    "revoked",
    "wrong_level",
    "moderator",
    "bot",
    "self",
)
RELATIONS = ("reply", "mention", "reaction", "thread_post", "plain")
#: Whether a member filter holds an interaction of this relation from an unverified sender.
HOLDS = {
    FilterLevel.OFF: {
        "reply": False,
        "mention": False,
        "reaction": False,
        "thread_post": False,
        "plain": False,
    },
    FilterLevel.REPLIES: {
        "reply": True,
        "mention": True,
        "reaction": True,
        "thread_post": False,
        "plain": False,
    },
    FilterLevel.ALL: {
        "reply": True,
        "mention": True,
        "reaction": True,
        "thread_post": True,
        "plain": False,
    },
}
#: Senders the filters and policies do not touch.
EXEMPT = {"verified", "moderator", "bot", "self"}


def record(state: str) -> VerificationRecord | None:
    base = VerificationRecord(
        "matrix", SENDER.id, "oidc", "identity", "h" * 64, NOW - timedelta(days=1)
    )
    return {
        "verified": base,
        "moderator": None,
        "bot": None,
        "self": None,
        "unverified": None,
        "expired": VerificationRecord(
            "matrix",
            SENDER.id,
            "oidc",
            "identity",
            "h" * 64,
            NOW - timedelta(days=400),
            expires_at=NOW - timedelta(seconds=1),
        ),
        "revoked": VerificationRecord(
            "matrix",
            SENDER.id,
            "oidc",
            "identity",
            "h" * 64,
            NOW - timedelta(days=1),
            revoked_at=NOW - timedelta(hours=1),
            revoked_by="@mod:hs",
            revoke_reason="abuse",
        ),
        "wrong_level": VerificationRecord(
            "matrix", SENDER.id, "moderator", "reviewed", "h" * 64, NOW
        ),
    }[state]


def actor(state: str) -> Actor:
    return Actor(
        SENDER,
        role=Role.MODERATOR if state == "moderator" else Role.MEMBER,
        is_bot=state == "bot",
        is_self=state == "self",
    )


def interaction(state: str, relation: str, **extra: object) -> MessagePosted | ReactionAdded:
    message = MessageRef(CHANNEL, "$event")
    if relation == "reaction":
        return ReactionAdded(message, actor(state), "👍", message_author=TARGET, reaction_id="$r")
    fields: dict[str, object] = {"text": "hello"}
    if relation == "reply":
        fields["reply_to_author"] = TARGET
    elif relation == "mention":
        fields["mentioned"] = (TARGET,)
    elif relation == "thread_post":
        fields["thread_starter"] = TARGET
    fields.update(extra)
    return MessagePosted(message, actor(state), **fields)  # type: ignore[arg-type]


def run(
    event: MessagePosted | ReactionAdded,
    level: FilterLevel,
    *,
    state: str,
    community_policy: UnverifiedPolicy | None = None,
    channel_policy: UnverifiedPolicy | None = None,
    recent: int = 1,
    last_notice: datetime | None = None,
    settings: PolicySettings = SETTINGS,
) -> list[object]:
    verified = policy.is_verified(record(state), settings.accepted_levels, NOW)
    targets = [Target(m, r, level) for m, r in policy.touched_members(event)]
    return list(
        policy.decide(
            event,
            sender_verified=verified,
            targets=targets,
            community_policy=community_policy,
            channel_policy=channel_policy,
            settings=settings,
            recent_messages=recent,
            last_notice=last_notice,
            now=NOW,
        )
    )


@pytest.mark.parametrize(
    ("state", "level", "relation", "admin_policy"),
    list(itertools.product(SENDER_STATES, FilterLevel, RELATIONS, UnverifiedPolicy)),
)
def test_every_combination(
    state: str, level: FilterLevel, relation: str, admin_policy: UnverifiedPolicy
) -> None:
    event = interaction(state, relation)
    actions = run(event, level, state=state, community_policy=admin_policy)
    kinds = [type(a) for a in actions]
    removal = RemoveReaction if relation == "reaction" else RemoveMessage

    if state == "self":
        assert actions == []  # the bot's own events are ignored outright
    elif state in EXEMPT:
        assert actions == [Allow()]
    elif admin_policy in (UnverifiedPolicy.READ_ONLY, UnverifiedPolicy.VERIFIED_ONLY):
        assert kinds == [removal, NotifySender]  # policy removes; nothing is held
    elif HOLDS[level][relation]:
        assert kinds == [Withhold, NotifySender]
        withheld = actions[0]
        assert isinstance(withheld, Withhold) and isinstance(withheld.removal, removal)
        (hold,) = withheld.holds
        assert hold.for_member == TARGET and hold.sender == SENDER
        assert hold.relation.value == relation
    else:
        # open, or limited with nothing limited in it (a plain text message or a reaction)
        assert actions == [Allow()]


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"has_link": True}, "links"),
        ({"has_attachment": True}, "attachments"),
        ({"mentions_everyone": True}, "mentioning many people at once"),
        (
            {"mentioned": tuple(MemberRef("matrix", f"@m{i}:hs") for i in range(5))},
            "mentioning many people at once",
        ),
    ],
)
def test_limited_removes_links_attachments_and_mass_mentions(
    extra: dict[str, object], why: str
) -> None:
    event = interaction("unverified", "plain", **extra)
    actions = run(
        event, FilterLevel.OFF, state="unverified", community_policy=UnverifiedPolicy.LIMITED
    )
    assert isinstance(actions[0], RemoveMessage) and why in actions[0].reason
    # the same message in an open community, or from a verified member, stays
    assert run(event, FilterLevel.OFF, state="unverified") == [Allow()]
    assert run(
        event, FilterLevel.OFF, state="verified", community_policy=UnverifiedPolicy.LIMITED
    ) == [Allow()]


def test_limited_allows_a_few_mentions_below_the_threshold() -> None:
    event = interaction(
        "unverified", "plain", mentioned=tuple(MemberRef("matrix", f"@m{i}:hs") for i in range(4))
    )
    assert run(
        event, FilterLevel.OFF, state="unverified", community_policy=UnverifiedPolicy.LIMITED
    ) == [Allow()]


def test_limited_rate_allows_n_messages_a_minute_then_removes() -> None:
    event = interaction("unverified", "plain")
    allowance = SETTINGS.limited_messages_per_minute
    limited = UnverifiedPolicy.LIMITED
    assert run(
        event, FilterLevel.OFF, state="unverified", community_policy=limited, recent=allowance
    ) == [Allow()]
    over = run(
        event, FilterLevel.OFF, state="unverified", community_policy=limited, recent=allowance + 1
    )
    assert isinstance(over[0], RemoveMessage) and "messages a minute" in over[0].reason


def test_notice_respects_the_cooldown() -> None:
    event = interaction("unverified", "reply")
    recent = run(
        event, FilterLevel.REPLIES, state="unverified", last_notice=NOW - timedelta(minutes=1)
    )
    assert [type(a) for a in recent] == [Withhold]
    later = run(
        event, FilterLevel.REPLIES, state="unverified", last_notice=NOW - timedelta(minutes=11)
    )
    assert [type(a) for a in later] == [Withhold, NotifySender]


def test_bots_count_as_unverified_when_the_community_says_so() -> None:
    strict = PolicySettings(accepted_levels=SETTINGS.accepted_levels, bots_count_as_unverified=True)
    event = interaction("bot", "reply")
    assert [type(a) for a in run(event, FilterLevel.REPLIES, state="bot", settings=strict)] == [
        Withhold,
        NotifySender,
    ]


def test_one_message_touching_several_filtered_members_is_removed_once_and_held_for_each() -> None:
    other = MemberRef("matrix", "@other:hs")
    event = interaction("unverified", "reply", mentioned=(TARGET, other))
    actions = run(event, FilterLevel.REPLIES, state="unverified")
    (withheld,) = [a for a in actions if isinstance(a, Withhold)]
    assert {(h.for_member, h.relation) for h in withheld.holds} == {
        (TARGET, Relation.REPLY),
        (other, Relation.MENTION),
    }
    assert isinstance(withheld.removal, RemoveMessage)
    assert not any(isinstance(a, RemoveMessage) for a in actions)  # removed once, by the hold


def test_replying_to_yourself_is_never_held() -> None:
    message = MessageRef(CHANNEL, "$e")
    event = MessagePosted(message, actor("unverified"), reply_to_author=SENDER, mentioned=(SENDER,))
    assert policy.touched_members(event) == []


# --- properties -----------------------------------------------------------------------------

members = st.sampled_from([MemberRef("matrix", f"@u{i}:hs") for i in range(6)])
policies = st.one_of(st.none(), st.sampled_from(list(UnverifiedPolicy)))
levels = st.sampled_from(list(FilterLevel))


@st.composite
def messages(draw: st.DrawFn) -> MessagePosted:
    return MessagePosted(
        MessageRef(CHANNEL, "$m"),
        Actor(draw(members), role=draw(st.sampled_from(list(Role))), is_bot=draw(st.booleans())),
        text=draw(st.text(max_size=20)),
        reply_to_author=draw(st.one_of(st.none(), members)),
        mentioned=tuple(draw(st.lists(members, max_size=6))),
        mentions_everyone=draw(st.booleans()),
        thread_starter=draw(st.one_of(st.none(), members)),
        has_link=draw(st.booleans()),
        has_attachment=draw(st.booleans()),
    )


def decide_with(
    event: MessagePosted,
    verified: bool,
    level: FilterLevel,
    community: UnverifiedPolicy | None,
    channel: UnverifiedPolicy | None,
    recent: int,
) -> list[object]:
    targets = [Target(m, r, level) for m, r in policy.touched_members(event)]
    return list(
        policy.decide(
            event,
            sender_verified=verified,
            targets=targets,
            community_policy=community,
            channel_policy=channel,
            settings=SETTINGS,
            recent_messages=recent,
            last_notice=None,
            now=NOW,
        )
    )


@given(messages(), levels, policies, policies, st.integers(0, 50))
def test_a_verified_sender_is_never_held_or_removed(
    event: MessagePosted,
    level: FilterLevel,
    community: UnverifiedPolicy | None,
    channel: UnverifiedPolicy | None,
    recent: int,
) -> None:
    assert decide_with(event, True, level, community, channel, recent) == [Allow()]


@given(messages(), policies, policies, st.integers(0, 50))
def test_filter_off_holds_nothing(
    event: MessagePosted,
    community: UnverifiedPolicy | None,
    channel: UnverifiedPolicy | None,
    recent: int,
) -> None:
    actions = decide_with(event, False, FilterLevel.OFF, community, channel, recent)
    assert not any(isinstance(a, Withhold) for a in actions)


@given(
    messages(),
    levels,
    st.sampled_from(list(UnverifiedPolicy)),
    st.sampled_from(list(UnverifiedPolicy)),
    st.integers(0, 50),
)
def test_a_channel_override_beats_the_community_policy(
    event: MessagePosted,
    level: FilterLevel,
    community: UnverifiedPolicy,
    channel: UnverifiedPolicy,
    recent: int,
) -> None:
    with_override = decide_with(event, False, level, community, channel, recent)
    channel_as_community = decide_with(event, False, level, channel, None, recent)
    assert with_override == channel_as_community
    assert policy.effective_policy(community, channel) is channel


@given(messages(), levels, policies, policies, st.integers(0, 50))
def test_a_held_message_is_always_removed_exactly_once(
    event: MessagePosted,
    level: FilterLevel,
    community: UnverifiedPolicy | None,
    channel: UnverifiedPolicy | None,
    recent: int,
) -> None:
    actions = decide_with(event, False, level, community, channel, recent)
    withheld = [a for a in actions if isinstance(a, Withhold)]
    if withheld:  # one removal, carried by the hold itself, and no other
        assert len(withheld) == 1 and isinstance(withheld[0].removal, RemoveMessage)
        assert not any(isinstance(a, RemoveMessage) for a in actions)


def test_an_author_that_cannot_be_known_is_an_explicit_allowed_decision() -> None:
    """A reply or reaction whose target's author could not be found out is allowed, said so."""
    message = MessageRef(CHANNEL, "$event")
    reply = MessagePosted(message, actor("unverified"), text="hi", reply_author_unknown=True)
    reaction = ReactionAdded(message, actor("unverified"), "👍", author_unknown=True)
    for event in (reply, reaction):
        assert run(event, FilterLevel.ALL, state="unverified") == [Allow(policy.UNKNOWN_AUTHOR)]
        # an admin policy still applies: what it forbids is removed whoever was addressed
        removed = run(
            event, FilterLevel.ALL, state="unverified", community_policy=UnverifiedPolicy.READ_ONLY
        )
        assert isinstance(removed[0], RemoveMessage | RemoveReaction)


def test_a_channels_own_policy_wins_natively_too() -> None:
    """Set natively, the community's policy leaves the channels with their own alone."""
    community = CHANNEL.community
    sources = policy.PolicySources(
        default=UnverifiedPolicy.OPEN,
        configured_community=UnverifiedPolicy.LIMITED,
        stored_community=UnverifiedPolicy.READ_ONLY,
        configured_channels={"!a": UnverifiedPolicy.VERIFIED_ONLY},
        stored_channels={"!b": UnverifiedPolicy.OPEN},
    )
    assert sources.community_policy() is UnverifiedPolicy.READ_ONLY  # stored beats configured
    assert sources.channel_policy(["!thread", "!b"]) is UnverifiedPolicy.OPEN  # parent's own
    assert sources.channel_policy(["!c"]) is UnverifiedPolicy.READ_ONLY
    assert policy.native_plan(community, sources) == [
        ApplyPolicy(community, UnverifiedPolicy.READ_ONLY, keep=frozenset({"!a", "!b"})),
        ApplyPolicy(ChannelRef(community, "!a"), UnverifiedPolicy.VERIFIED_ONLY),
        ApplyPolicy(ChannelRef(community, "!b"), UnverifiedPolicy.OPEN),
    ]
    nothing_set = policy.PolicySources(default=UnverifiedPolicy.LIMITED)
    assert policy.native_plan(community, nothing_set) == []  # the default is not pushed


def test_verified_here_and_where_a_level_counts() -> None:
    live = record("verified")
    accepted = SETTINGS.accepted_levels
    assert policy.verified_here(live, accepted, refused=False, now=NOW)
    assert not policy.verified_here(live, accepted, refused=True, now=NOW)  # identity limit
    assert not policy.verified_here(None, accepted, refused=False, now=NOW)
    a, b = CommunityRef("matrix", "!a"), CommunityRef("matrix", "!b")
    levels = {a: frozenset({"email"}), b: frozenset({"identity"})}
    assert policy.counts_in("email", levels) == [a] and policy.counts_in("x", levels) == []
