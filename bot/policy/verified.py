"""Who counts as verified where: the rules about a member's standing (see bot/policy)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.model import Actor, CommunityRef, Role
from bot.storage.records import VerificationRecord


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """The community's knobs, resolved from config."""

    accepted_levels: frozenset[str]
    limited_messages_per_minute: int = 5
    mass_mention_threshold: int = 5
    bots_count_as_unverified: bool = False
    notice_cooldown: timedelta = timedelta(minutes=10)


def is_verified(
    record: VerificationRecord | None, accepted_levels: frozenset[str], now: datetime
) -> bool:
    if record is None or record.revoked_at is not None:
        return False
    return is_live(record.level, record.expires_at, accepted_levels, now)


def is_live(
    level: str, expires_at: datetime | None, accepted_levels: frozenset[str], now: datetime
) -> bool:
    """Whether a verification in force (not revoked) counts: an accepted level, not run out.
    The hot path keeps only these two facts of a record, so it asks this directly."""
    return (expires_at is None or now < expires_at) and level in accepted_levels


def shows_profile_badge(expires_at: datetime | None, now: datetime) -> bool:
    """Whether a verification in force (not revoked) earns the badge on the member's own
    profile (Discord's Linked Roles): it is not run out. A profile is seen in every server,
    so no one community's accepted levels apply."""
    return expires_at is None or now < expires_at


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


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a proved level earns the badge, seen from the community the member verified for.

    `counts`: the member's communities (in the order given) where the level earns the badge;
    only there does the identity take a place under its limit. `here`: the level earns it in the
    community the check was for. `keeps_previous`: the member's earlier verification still
    earns the badge there.
    """

    counts: tuple[CommunityRef, ...]
    here: bool
    keeps_previous: bool

    @property
    def worth_storing(self) -> bool:
        """Stored when it earns the badge here, or somewhere at all without replacing an earlier
        verification that still earns it here (a weaker check must not take a badge away)."""
        return self.here or (bool(self.counts) and not self.keeps_previous)


def standing(
    level: str,
    accepted: Mapping[CommunityRef, frozenset[str]],
    origin: CommunityRef,
    previous: VerificationRecord | None,
    now: datetime,
) -> Standing:
    """How a finished check that proved `level` stands. `accepted` maps each community the
    member shares with the bot (`origin` among them) to the levels it accepts; `previous` is the
    member's stored verification, if any."""
    counts = tuple(counts_in(level, accepted))
    return Standing(
        counts=counts,
        here=origin in counts,
        keeps_previous=is_verified(previous, accepted[origin], now),
    )


def is_exempt(sender: Actor, verified: bool, settings: PolicySettings) -> bool:
    if sender.is_self or verified or sender.role >= Role.MODERATOR:
        return True
    return sender.is_bot and not settings.bots_count_as_unverified
