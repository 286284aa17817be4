"""The policy engine: facts in, actions out. Pure — no I/O, no awaits, no clock of its own.

Semantics (the same on every network):

* A sender is **verified** in a community when it has a verification record that is neither
  revoked nor expired, at a level the community accepts (`is_verified`).
* A sender is **exempt** from everything here when it is the bot itself, a moderator or admin of
  the community, or verified. Other bots are exempt unless the community counts bots as
  unverified. The bot's own events produce no action at all.
* **Member filters** (each member's own choice) hold interactions aimed at that member from
  non-exempt senders:
    - ``off``: nothing is held (the default).
    - ``replies``: replies to, mentions of and reactions on the member's messages are held.
    - ``all``: as ``replies``, plus posts in threads the member started.
  A held message is removed once, held for every member whose filter stopped it, and the sender
  is told how to verify at most once per cooldown.
* **Admin policy** for non-exempt senders, per community and overridable per channel (a channel's
  own policy always beats the community's; with neither, ``open``):
    - ``open``: nothing is limited.
    - ``limited``: messages with links, attachments or mass mentions (``@everyone``/``@room`` or
      at least the threshold of mentioned members) are removed, as is every message past the
      per-minute allowance. Reactions are allowed.
    - ``read_only``: every message and reaction is removed (the native permission normally
      stops them first; this is the fallback while the platform cannot).
    - ``verified_only``: as ``read_only``; natively, non-verified members cannot join or see.
  An admin-policy removal takes precedence over member filters: the interaction is removed, not
  held, and the sender is told why (within the cooldown).
* **Cannot know.** When the adapter could not find out whose message a reply or reaction
  touches (the message was deleted or is out of the bot's sight, after a memory lookup and a
  fetch), no member filter can apply to that relation: the interaction is allowed, as the
  explicit outcome `Allow(why=UNKNOWN_AUTHOR)`, which is counted. Admin policy still applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.actions import (
    Action,
    Allow,
    ApplyPolicy,
    HoldForMember,
    NotifySender,
    RemoveMessage,
    RemoveReaction,
    Withhold,
)
from bot.messages import excerpt_of
from bot.model import (
    Actor,
    ChannelRef,
    CommunityRef,
    FilterLevel,
    MemberRef,
    MessagePosted,
    ReactionAdded,
    Relation,
    Role,
    UnverifiedPolicy,
)
from bot.storage.records import VerificationRecord

Interaction = MessagePosted | ReactionAdded

# Which relations each filter level holds.
HELD_RELATIONS: dict[FilterLevel, frozenset[Relation]] = {
    FilterLevel.OFF: frozenset(),
    FilterLevel.REPLIES: frozenset({Relation.REPLY, Relation.MENTION, Relation.REACTION}),
    FilterLevel.ALL: frozenset(
        {Relation.REPLY, Relation.MENTION, Relation.REACTION, Relation.THREAD_POST}
    ),
}

UNKNOWN_AUTHOR = "the member it addresses cannot be known"

# When one interaction touches a member in several ways, the hold names the most direct one.
_RELATION_RANK = (Relation.REPLY, Relation.MENTION, Relation.REACTION, Relation.THREAD_POST)


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """The community's knobs, resolved from config."""

    accepted_levels: frozenset[str]
    limited_messages_per_minute: int = 5
    mass_mention_threshold: int = 5
    bots_count_as_unverified: bool = False
    notice_cooldown: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Target:
    """A member the interaction touches, how, and the filter that member chose."""

    member: MemberRef
    relation: Relation
    filter: FilterLevel


def is_verified(
    record: VerificationRecord | None, accepted_levels: frozenset[str], now: datetime
) -> bool:
    if record is None or record.revoked_at is not None:
        return False
    if record.expires_at is not None and record.expires_at <= now:
        return False
    return record.level in accepted_levels


def verified_here(
    record: VerificationRecord | None,
    accepted_levels: frozenset[str],
    *,
    refused: bool,
    now: datetime,
) -> bool:
    """Whether a member counts as verified in a community: a live record at a level the
    community accepts, and not an account whose identity already held its limit of accounts
    there when it came (`refused`)."""
    return not refused and is_verified(record, accepted_levels, now)


def counts_in(level: str, accepted: Mapping[CommunityRef, frozenset[str]]) -> list[CommunityRef]:
    """The communities (of those given, in order) where a proved level earns the badge: only
    there does the identity take a place under the one-identity limit."""
    return [community for community, levels in accepted.items() if level in levels]


def is_exempt(sender: Actor, verified: bool, settings: PolicySettings) -> bool:
    if sender.is_self or verified or sender.role >= Role.MODERATOR:
        return True
    return sender.is_bot and not settings.bots_count_as_unverified


def effective_policy(
    community_policy: UnverifiedPolicy | None, channel_policy: UnverifiedPolicy | None
) -> UnverifiedPolicy:
    """A channel's own policy beats the community's; with neither, the channel is open."""
    if channel_policy is not None:
        return channel_policy
    return community_policy if community_policy is not None else UnverifiedPolicy.OPEN


@dataclass(frozen=True, slots=True)
class PolicySources:
    """Every place a policy for unverified members can be set, for one community.

    Stored values (set with the `policy` command) beat configured ones; a channel's own policy
    beats the community's; with nothing set anywhere, the configured default applies.
    """

    default: UnverifiedPolicy = UnverifiedPolicy.OPEN
    configured_community: UnverifiedPolicy | None = None
    stored_community: UnverifiedPolicy | None = None
    configured_channels: Mapping[str, UnverifiedPolicy] = field(default_factory=dict)
    stored_channels: Mapping[str, UnverifiedPolicy] = field(default_factory=dict)

    def community_policy(self) -> UnverifiedPolicy:
        """The community-wide policy: stored, else configured, else the default."""
        return self.stored_community or self.configured_community or self.default

    def own_channel_policy(self, channel_ids: Sequence[str]) -> UnverifiedPolicy | None:
        """The first channel (a thread, then its parent) with a policy of its own, if any."""
        for channel_id in channel_ids:
            found = self.stored_channels.get(channel_id) or self.configured_channels.get(channel_id)
            if found is not None:
                return found
        return None

    def channel_policy(self, channel_ids: Sequence[str]) -> UnverifiedPolicy:
        """What applies in a channel (give a thread's id first, then its parent's)."""
        own = self.own_channel_policy(channel_ids)
        return own if own is not None else self.community_policy()

    def channel_overrides(self) -> dict[str, UnverifiedPolicy]:
        """Every channel with a policy of its own (stored beats configured)."""
        return {**self.configured_channels, **self.stored_channels}


def community_wide(community: CommunityRef, sources: PolicySources) -> ApplyPolicy:
    """The community's policy, set natively everywhere but in the channels that have a policy
    of their own (a channel's own policy always wins)."""
    keep = frozenset(sources.channel_overrides())
    return ApplyPolicy(community, sources.community_policy(), keep=keep)


def native_plan(community: CommunityRef, sources: PolicySources) -> list[ApplyPolicy]:
    """Everything to set with the network's own tools (at start, so a restart or a permission
    fixed since leaves the platform in line): the community-wide policy if one is set, then
    each channel with its own."""
    plan = [community_wide(community, sources)]
    if not (sources.stored_community or sources.configured_community):
        plan = []
    overrides = sorted(sources.channel_overrides().items())
    return plan + [ApplyPolicy(ChannelRef(community, c), p) for c, p in overrides]


def keeps_newcomers_silent(policy: UnverifiedPolicy) -> bool:
    """Whether an unverified member cannot write (or join) where this policy applies."""
    return policy in (UnverifiedPolicy.READ_ONLY, UnverifiedPolicy.VERIFIED_ONLY)


def should_welcome(
    policy: UnverifiedPolicy,
    *,
    verified: bool,
    role: Role,
    last_notice: datetime | None,
    now: datetime,
    cooldown: timedelta,
) -> bool:
    """A newcomer who cannot write where they joined cannot type the verify command there
    either, so they are told privately how to verify (at most once per notice cooldown)."""
    return (
        keeps_newcomers_silent(policy)
        and not verified
        and role < Role.MODERATOR
        and may_notify(last_notice, now, cooldown)
    )


def touched_members(event: Interaction) -> list[tuple[MemberRef, Relation]]:
    """Members (other than the sender) an interaction touches, each once, most direct first."""
    found: dict[MemberRef, Relation] = {}

    def add(member: MemberRef | None, relation: Relation) -> None:
        if member is None or member == event.sender.member:
            return
        current = found.get(member)
        if current is None or _RELATION_RANK.index(relation) < _RELATION_RANK.index(current):
            found[member] = relation

    if isinstance(event, ReactionAdded):
        add(event.message_author, Relation.REACTION)
    else:
        add(event.reply_to_author, Relation.REPLY)
        for member in event.mentioned:
            add(member, Relation.MENTION)
        add(event.thread_starter, Relation.THREAD_POST)
    return list(found.items())


def may_notify(last_notice: datetime | None, now: datetime, cooldown: timedelta) -> bool:
    return last_notice is None or now - last_notice >= cooldown


def _policy_violation(
    event: Interaction, policy: UnverifiedPolicy, recent_messages: int, settings: PolicySettings
) -> str | None:
    """Why an admin policy forbids this interaction from an unverified sender, or None."""
    if policy is UnverifiedPolicy.OPEN:
        return None
    if policy is UnverifiedPolicy.READ_ONLY:
        return "only verified members can write there"
    if policy is UnverifiedPolicy.VERIFIED_ONLY:
        return "only verified members can take part there"
    if isinstance(event, ReactionAdded):
        return None
    if event.has_link:
        return "links from unverified accounts are not allowed there"
    if event.has_attachment:
        return "attachments from unverified accounts are not allowed there"
    if event.mentions_everyone or len(set(event.mentioned)) >= settings.mass_mention_threshold:
        return "mentioning many people at once is not allowed there for unverified accounts"
    if recent_messages > settings.limited_messages_per_minute:
        per_minute = settings.limited_messages_per_minute
        return f"unverified accounts may send {per_minute} messages a minute there"
    return None


# How the sender would name what they did, and whom it reached, per relation.
_WHAT = {
    Relation.REPLY: "reply",
    Relation.MENTION: "message",
    Relation.REACTION: "reaction",
    Relation.THREAD_POST: "message",
}
_WHOM = {
    Relation.REPLY: "the member you replied to",
    Relation.MENTION: "a member you mentioned",
    Relation.REACTION: "the member whose message you reacted to",
    Relation.THREAD_POST: "the member who started this thread",
}


def excerpt(event: Interaction) -> str:
    """The start of what was stopped, so the sender can tell which message it was."""
    return excerpt_of(event.emoji if isinstance(event, ReactionAdded) else event.text, 60)


def _notice(
    event: Interaction, reason: str, *, relation: Relation | None = None, held: bool = False
) -> NotifySender:
    if isinstance(event, ReactionAdded):
        what = "reaction"
    elif relation is not None:
        what = _WHAT[relation]
    else:
        what = "reply" if event.reply_to_author is not None else "message"
    channel = event.message.channel
    return NotifySender(
        event.sender.member,
        channel.community,
        channel,
        reason,
        what=what,
        excerpt=excerpt(event),
        held=held,
    )


def _remove(event: Interaction, reason: str) -> RemoveMessage | RemoveReaction:
    if isinstance(event, ReactionAdded):
        return RemoveReaction(
            event.message, event.sender.member, event.emoji, event.reaction_id, reason
        )
    return RemoveMessage(event.message, event.sender.member, reason)


def decide(
    event: Interaction,
    *,
    sender_verified: bool,
    targets: Sequence[Target],
    community_policy: UnverifiedPolicy | None,
    channel_policy: UnverifiedPolicy | None,
    settings: PolicySettings,
    recent_messages: int,
    last_notice: datetime | None,
    now: datetime,
) -> list[Action]:
    """Decide what happens to one message or reaction. `[Allow()]` when nothing is done.

    `recent_messages` counts the sender's messages in the last minute, this one included;
    `last_notice` is when the sender was last told how to verify in this community.
    """
    sender = event.sender
    if sender.is_self:
        return []
    if is_exempt(sender, sender_verified, settings):
        return [Allow()]
    notify = may_notify(last_notice, now, settings.notice_cooldown)

    policy = effective_policy(community_policy, channel_policy)
    violation = _policy_violation(event, policy, recent_messages, settings)
    if violation is not None:
        actions: list[Action] = [_remove(event, violation)]
        if notify:
            actions.append(_notice(event, violation))
        return actions

    holds: list[HoldForMember] = []
    for target in targets:
        if target.member == sender.member or target.relation not in HELD_RELATIONS[target.filter]:
            continue
        reason = f"{target.relation.value} from an unverified account"
        content = event.text if isinstance(event, MessagePosted) else event.emoji
        holds.append(
            HoldForMember(
                target.member, target.relation, event.message, sender.member, content, reason
            )
        )
    if not holds:
        unknown = (
            event.author_unknown if isinstance(event, ReactionAdded) else event.reply_author_unknown
        )
        return [Allow(UNKNOWN_AUTHOR if unknown else "")]
    relation = min((h.relation for h in holds), key=_RELATION_RANK.index)
    reason = f"{_WHOM[relation]} limits replies, mentions and reactions from unverified accounts"
    removal = _remove(event, "held by a member's filter for unverified accounts")
    actions = [Withhold(tuple(holds), removal)]
    if notify:
        actions.append(_notice(event, reason, relation=relation, held=True))
    return actions
