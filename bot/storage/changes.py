"""What a write changed among the facts the read cache keeps.

Every `Store` method that writes a cached fact (a verification, an identity's place, a filter
level, a policy, a sender notice, an erased member) announces it with one of these values after
its transaction commits. `ReadCache` watches its store and applies them, so the cache sees every
such write, whichever object the caller went through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import CommunityRef, FilterLevel, MemberRef
from bot.storage.records import VerificationRecord


@dataclass(frozen=True, slots=True)
class Verified:
    """A verification stored as given; the account took its identity's place in `places`."""

    record: VerificationRecord
    places: tuple[CommunityRef, ...] = ()


@dataclass(frozen=True, slots=True)
class VerificationTouched:
    """The account's verification changed in a way the writer did not read back (revoked,
    reminded): the next read loads it again."""

    member: MemberRef


@dataclass(frozen=True, slots=True)
class Unverified:
    """The account's verification and its identity places are gone."""

    member: MemberRef


@dataclass(frozen=True, slots=True)
class Placed:
    """The account arrived in a community: it holds its identity's place there, or is refused."""

    community: CommunityRef
    member: MemberRef
    placed: bool


@dataclass(frozen=True, slots=True)
class FilterSet:
    community: CommunityRef
    member: MemberRef
    level: FilterLevel


@dataclass(frozen=True, slots=True)
class PolicySet:
    """A policy of the community (its own or a channel's) changed."""

    community: CommunityRef


@dataclass(frozen=True, slots=True)
class Noticed:
    """A sender was told how to verify (the start of their notice cooldown)."""

    community: CommunityRef
    member: MemberRef
    at: datetime


@dataclass(frozen=True, slots=True)
class Erased:
    """Data about the account was erased: nothing cached about it may survive."""

    member: MemberRef


Change = (
    Verified | VerificationTouched | Unverified | Placed | FilterSet | PolicySet | Noticed | Erased
)

__all__ = [
    "Change",
    "Erased",
    "FilterSet",
    "Noticed",
    "Placed",
    "PolicySet",
    "Unverified",
    "VerificationTouched",
    "Verified",
]
