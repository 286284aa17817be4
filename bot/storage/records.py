"""Plain values the repository returns, so callers never touch ORM objects or SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.model import (
    ChannelRef,
    CommunityRef,
    FilterLevel,
    MemberRef,
    MessageRef,
    Network,
    Relation,
    UnverifiedPolicy,
)


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    network: Network
    account_id: str
    method: str
    level: str
    identity_hash: str
    verified_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None
    reminded_at: datetime | None = None

    @property
    def member(self) -> MemberRef:
        return MemberRef(self.network, self.account_id)


@dataclass(frozen=True, slots=True)
class RevocationRecord:
    """A revocation in force: the account and its identity may not verify again until lifted."""

    network: str
    account_id: str
    community_id: str | None
    revoked_by: str | None
    reason: str
    revoked_at: datetime


@dataclass(frozen=True, slots=True)
class CommunityPolicies:
    """A community's own policy plus its per-channel overrides (ids of channels)."""

    community: UnverifiedPolicy | None = None
    channels: dict[str, UnverifiedPolicy] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PendingRecord:
    id: str
    network: Network
    account_id: str
    community_id: str | None
    method: str | None
    status: str
    state: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    attempts: int = 0

    @property
    def member(self) -> MemberRef:
        return MemberRef(self.network, self.account_id)

    @property
    def community(self) -> CommunityRef | None:
        return CommunityRef(self.network, self.community_id) if self.community_id else None


@dataclass(frozen=True, slots=True)
class HeldRecord:
    id: int
    network: Network
    community_id: str
    channel_id: str
    message_id: str
    for_account: str
    sender_account: str
    relation: Relation
    content: str
    reason: str
    status: str
    held_at: datetime
    expires_at: datetime
    resolved_at: datetime | None = None

    @property
    def message(self) -> MessageRef:
        community = CommunityRef(self.network, self.community_id)
        return MessageRef(ChannelRef(community, self.channel_id), self.message_id)

    @property
    def sender(self) -> MemberRef:
        return MemberRef(self.network, self.sender_account)


@dataclass(frozen=True, slots=True)
class ReportRecord:
    id: int
    network: Network
    community_id: str
    channel_id: str | None
    message_id: str | None
    reporter_account: str
    target_account: str | None
    category: str
    rule: str | None
    details: str
    routed_to: str | None
    status: str
    created_at: datetime
    answer_due_at: datetime | None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    urgent: bool = False
    message_text: str | None = None
    outcome: str | None = None
    moderator_note: str | None = None
    raised_at: datetime | None = None

    @property
    def community(self) -> CommunityRef:
        return CommunityRef(self.network, self.community_id)

    @property
    def reporter(self) -> MemberRef:
        return MemberRef(self.network, self.reporter_account)

    @property
    def target(self) -> MemberRef | None:
        return MemberRef(self.network, self.target_account) if self.target_account else None

    @property
    def message(self) -> MessageRef | None:
        if self.channel_id is None or self.message_id is None:
            return None
        return MessageRef(ChannelRef(self.community, self.channel_id), self.message_id)


@dataclass(frozen=True, slots=True)
class AuditDraft:
    """An audit entry to be written."""

    network: str
    community_id: str | None
    actor: str | None
    action: str
    target: str | None
    detail: str
    at: datetime
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    network: str
    community_id: str | None
    actor: str | None
    action: str
    target: str | None
    detail: str
    dry_run: bool


@dataclass(frozen=True, slots=True)
class FilterRecord:
    member: MemberRef
    community: CommunityRef
    level: FilterLevel
