"""Which policy applies where, and what to set with the network's own tools (see bot/policy)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.actions import ApplyPolicy
from bot.model import ChannelRef, CommunityRef, Role, UnverifiedPolicy


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
    # whether `limited` applies anywhere in the community: only then are messages counted
    # (the allowance counts what was sent while it applied); worked out once
    limited_anywhere: bool = field(init=False, compare=False, repr=False)
    # whether some channel has a policy of its own (most communities: none)
    any_channel: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        limited = UnverifiedPolicy.LIMITED
        overrides = self.channel_overrides()
        anywhere = self.community_policy() is limited or any(
            p is limited for p in overrides.values()
        )
        object.__setattr__(self, "limited_anywhere", anywhere)
        object.__setattr__(self, "any_channel", bool(overrides))

    def community_policy(self) -> UnverifiedPolicy:
        """The community-wide policy: stored, else configured, else the default."""
        return self.stored_community or self.configured_community or self.default

    def own_channel_policy(self, channel_ids: Sequence[str]) -> UnverifiedPolicy | None:
        """The first channel (a thread, then its parent) with a policy of its own, if any."""
        if not self.any_channel:
            return None
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


def join_refusal(policy: UnverifiedPolicy, *, exempt: bool, invited: bool) -> str | None:
    """Why an account may not join a room whose policy this is, or None. Only `verified_only`
    keeps accounts out; an invitation is a moderator's own exception (as Matrix's restricted
    join rule makes it), and the exempt (verified, staff) always come in."""
    if policy is not UnverifiedPolicy.VERIFIED_ONLY or exempt or invited:
        return None
    return "only verified members can join there"


def may_notify(last_notice: datetime | None, now: datetime, cooldown: timedelta) -> bool:
    return last_notice is None or now - last_notice >= cooldown


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
