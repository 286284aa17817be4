"""Deciding one message or reaction: filters and admin policy (see bot/policy)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from bot.actions import (
    Action,
    Allow,
    HoldForMember,
    NotifySender,
    RemoveMessage,
    RemoveReaction,
    Withhold,
)
from bot.messages import excerpt_of
from bot.model import (
    FilterLevel,
    MemberRef,
    MessagePosted,
    MessageRef,
    ReactionAdded,
    Relation,
    UnverifiedPolicy,
)
from bot.policy.places import may_notify
from bot.policy.verified import PolicySettings, is_exempt

Interaction = MessagePosted | ReactionAdded


class Target(NamedTuple):
    """A member the interaction touches, how, and the filter that member chose. A named tuple:
    one is made per touched member of every message, and a frozen dataclass costs 15 times as
    much to make."""

    member: MemberRef
    relation: Relation
    filter: FilterLevel


# Which relations each filter level holds.
HELD_RELATIONS: dict[FilterLevel, frozenset[Relation]] = {
    FilterLevel.OFF: frozenset(),
    FilterLevel.REPLIES: frozenset({Relation.REPLY, Relation.MENTION, Relation.REACTION}),
    FilterLevel.ALL: frozenset(
        {Relation.REPLY, Relation.MENTION, Relation.REACTION, Relation.THREAD_POST}
    ),
}

UNKNOWN_AUTHOR = "the member it addresses cannot be known"
# why a held interaction is taken away from the conversation (the removal's reason)
HELD_BY_FILTER = "held by a member's filter for unverified accounts"
# what most messages get; frozen, so every decision may share it
_ALLOW = Allow()

# When one interaction touches a member in several ways, the hold names the most direct one.
_RELATION_RANK = (Relation.REPLY, Relation.MENTION, Relation.REACTION, Relation.THREAD_POST)


def touched_members(event: Interaction) -> list[tuple[MemberRef, Relation]]:
    """Members (other than the sender) an interaction touches, each once, most direct first."""
    sender = event.sender.member
    if isinstance(event, ReactionAdded):
        author = event.message_author
        return [] if author is None or author == sender else [(author, Relation.REACTION)]
    reply, starter = event.reply_to_author, event.thread_starter
    if not event.mentioned and starter is None:  # the common case, without a dict
        return [] if reply is None or reply == sender else [(reply, Relation.REPLY)]
    # relations are added most direct first, so a member keeps the first one found
    found: dict[MemberRef, Relation] = {}
    if reply is not None and reply != sender:
        found[reply] = Relation.REPLY
    for member in event.mentioned:
        if member != sender and member not in found:
            found[member] = Relation.MENTION
    if starter is not None and starter != sender and starter not in found:
        found[starter] = Relation.THREAD_POST
    return list(found.items())


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
        message=_stopped(event),
    )


def _stopped(event: Interaction) -> MessageRef:
    """The event that was stopped: the message itself, or the reaction's own event."""
    if isinstance(event, ReactionAdded) and event.reaction_id is not None:
        return MessageRef(event.message.channel, event.reaction_id)
    return event.message


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
        return [_ALLOW]
    # `effective_policy`, without a call: a channel's own beats the community's, else open
    policy = channel_policy if channel_policy is not None else community_policy
    if policy is not None and policy is not UnverifiedPolicy.OPEN:
        violation = _policy_violation(event, policy, recent_messages, settings)
        if violation is not None:
            actions: list[Action] = [_remove(event, violation)]
            if may_notify(last_notice, now, settings.notice_cooldown):
                actions.append(_notice(event, violation))
            return actions

    holds: list[HoldForMember] = []
    for target in targets:
        if target.filter is FilterLevel.OFF:  # most members: nothing held, no enum hashed
            continue
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
        return [Allow(UNKNOWN_AUTHOR) if unknown else _ALLOW]
    relation = min((h.relation for h in holds), key=_RELATION_RANK.index)
    reason = f"{_WHOM[relation]} limits replies, mentions and reactions from unverified accounts"
    removal = _remove(event, HELD_BY_FILTER)
    actions = [Withhold(tuple(holds), removal)]
    if may_notify(last_notice, now, settings.notice_cooldown):
        actions.append(_notice(event, reason, relation=relation, held=True))
    return actions


def nothing_to_do(actions: Sequence[Action]) -> bool:
    """A plain `[Allow()]`: nothing to perform, log or count (what most messages get)."""
    return len(actions) == 1 and type(actions[0]) is Allow and not actions[0].why
