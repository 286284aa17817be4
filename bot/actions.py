"""Neutral actions: what the policy engine and the cogs decide, and adapters perform.

Every action goes through `BotCore.execute`, so a dry run can log and audit each one as "would ..."
instead of performing it, and every network performs the same decision the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.model import (
    ChannelRef,
    Choice,
    CommunityRef,
    MemberRef,
    MessageRef,
    Relation,
    UnverifiedPolicy,
)


@dataclass(frozen=True, slots=True)
class Allow:
    """Nothing to do; kept so a decision can be logged and tested as an explicit outcome.
    `why` names a decision taken without every fact (see `policy.UNKNOWN_AUTHOR`)."""

    why: str = ""


@dataclass(frozen=True, slots=True)
class HoldForMember:
    """Keep an interaction for `for_member` to review (a part of `Withhold`)."""

    for_member: MemberRef
    relation: Relation
    message: MessageRef
    sender: MemberRef
    content: str
    reason: str


@dataclass(frozen=True, slots=True)
class RemoveMessage:
    message: MessageRef
    sender: MemberRef
    reason: str


@dataclass(frozen=True, slots=True)
class RemoveReaction:
    message: MessageRef
    reactor: MemberRef
    emoji: str
    reaction_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Withhold:
    """Hold an interaction for every member whose filter stopped it, then remove it.

    One action, not three, so that the rule "hold, then remove" is structural: the removal runs
    only once every hold is durable, and a hold that cannot be written removes nothing."""

    holds: tuple[HoldForMember, ...]
    removal: RemoveMessage | RemoveReaction


@dataclass(frozen=True, slots=True)
class NotifySender:
    """Tell the sender, privately and politely, why something was stopped and how to verify."""

    member: MemberRef
    community: CommunityRef
    channel: ChannelRef | None
    reason: str
    what: str = "message"  # what was stopped, as the sender would say it: "reply", "reaction"
    excerpt: str = ""  # the start of what was stopped, so the sender knows which one
    held: bool = False  # kept for the member it addressed (not just removed)
    message: MessageRef | None = None  # what was stopped (was it ever delivered?)


@dataclass(frozen=True, slots=True)
class SetBadge:
    member: MemberRef
    community: CommunityRef
    on: bool


@dataclass(frozen=True, slots=True)
class ApplyPolicy:
    """Set a policy with the network's own tools. For a whole community, the channels in
    `keep` have a policy of their own and are left as they are (`policy.native_plan`)."""

    scope: CommunityRef | ChannelRef
    policy: UnverifiedPolicy
    keep: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SendDirect:
    member: MemberRef
    text: str


@dataclass(frozen=True, slots=True)
class PostToChannel:
    channel: ChannelRef
    text: str
    choices: tuple[Choice, ...] = ()  # buttons on Discord, commands to send on Matrix


@dataclass(frozen=True, slots=True)
class NotifyAdmins:
    community: CommunityRef
    text: str


@dataclass(frozen=True, slots=True)
class NotifyModerators:
    """Tell a community's moderators (their moderators' room or channel; the admins' log when
    none is configured). Private reasons may travel this way: it never goes to a public room.
    `choices`: answers a moderator can give in one step (buttons on Discord)."""

    community: CommunityRef
    text: str
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True, slots=True)
class TakeOffProfileBadge:
    """The member's verification ended: the badge on their own profile goes (Discord's Linked
    Roles, where they chose to show it; elsewhere nothing)."""

    member: MemberRef


Action = (
    Allow
    | Withhold
    | RemoveMessage
    | RemoveReaction
    | NotifySender
    | SetBadge
    | ApplyPolicy
    | SendDirect
    | PostToChannel
    | NotifyAdmins
    | NotifyModerators
    | TakeOffProfileBadge
)


def kind(action: Action) -> str:
    """What sort of action, and where, naming no one: "RemoveMessage in !space:hs"."""
    community = ""
    match action:
        case Withhold(removal=removal):
            community = removal.message.channel.community.id
        case RemoveMessage(message=m) | RemoveReaction(message=m):
            community = m.channel.community.id
        case SetBadge(community=c) | NotifySender(community=c) | NotifyAdmins(community=c):
            community = c.id
        case NotifyModerators(community=c):
            community = c.id
        case ApplyPolicy(scope=scope):
            community = scope.id if isinstance(scope, CommunityRef) else scope.community.id
        case PostToChannel(channel=channel):
            community = channel.community.id
    name = type(action).__name__
    return f"{name} in {community}" if community else name


def summary(action: Action) -> str | None:
    """What the bot did, for the log at INFO: the kind of action, the community and the reason,
    and nothing about the people involved (no account ids, no message text). None for actions
    that are only messages."""
    match action:
        case Withhold(holds=holds, removal=removal):
            community = removal.message.channel.community.id
            what = "reaction" if isinstance(removal, RemoveReaction) else "message"
            who = (
                "a member who filters it"
                if len(holds) == 1
                else f"{len(holds)} members who filter it"
            )
            return f"held a {what} in {community} for {who}"
        case RemoveMessage(message=msg, reason=why):
            return f"removed a message in {msg.channel.community.id}: {why}"
        case RemoveReaction(message=msg, reason=why):
            return f"removed a reaction in {msg.channel.community.id}: {why}"
        case SetBadge(community=c, on=on):
            return f"{'showed' if on else 'took down'} a Verified badge in {c.id}"
        case ApplyPolicy(scope=CommunityRef() as community, policy=p):
            return f"applied the {p.value} policy to community {community.id}"
        case ApplyPolicy(scope=ChannelRef() as channel, policy=p):
            return f"applied the {p.value} policy to channel {channel.id} in {channel.community.id}"
    return None
