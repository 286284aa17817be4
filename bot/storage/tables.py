"""Database tables (SQLAlchemy 2 declarative).

Privacy by design: no column holds a person's name, e-mail address, document or a provider's raw
subject id. A person is known only by the chat account id the network gives us and, once verified,
a keyed hash of (issuer, subject) that cannot be reversed without the server's key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(255)  # account, community, channel and message ids of either network


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use datetime.now(UTC)")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Verification(Base):
    """One account's current verification. Re-verifying replaces it; revoking keeps it, marked."""

    __tablename__ = "verifications"
    __table_args__ = (UniqueConstraint("network", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(ID)
    method: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(32))
    identity_hash: Mapped[str] = mapped_column(String(64), index=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(ID)
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class IdentityBinding(Base):
    """Which accounts an identity holds in a community: enforces 'one identity, N accounts'.

    Each account an identity verifies in a community takes one of its N numbered `slot`s, and
    the database refuses a second holder of a slot (a unique index), so two processes racing to
    verify two accounts with one identity cannot both succeed. A `refused` row (no slot) records
    an account whose identity already held its limit when it arrived: it does not count as
    verified there, and it takes no place in the count."""

    __tablename__ = "identity_bindings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[str] = mapped_column(ID)
    identity_hash: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(ID)
    refused: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    slot: Mapped[int | None] = mapped_column(Integer)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("network", "community_id", "account_id"),
        Index(None, "network", "community_id", "identity_hash"),
        Index(
            "uq_identity_bindings_slot",
            "network",
            "community_id",
            "identity_hash",
            "slot",
            unique=True,
            sqlite_where=text("slot IS NOT NULL"),
            postgresql_where=text("slot IS NOT NULL"),
        ),
    )


class Revocation(Base):
    """A moderator's revocation. It outlives the verification it ended (the member may
    `unverify`, or erase the record): until a moderator lifts it, neither the account nor the
    identity (keyed hash) can verify again, on this network."""

    __tablename__ = "revocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(ID)
    identity_hash: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[str | None] = mapped_column(ID)
    revoked_by: Mapped[str | None] = mapped_column(ID)
    reason: Mapped[str] = mapped_column(Text)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(ID)

    __table_args__ = (
        Index(None, "network", "identity_hash"),
        Index(
            "uq_revocations_active_account",
            "network",
            "account_id",
            unique=True,
            sqlite_where=text("lifted_at IS NULL"),
            postgresql_where=text("lifted_at IS NULL"),
        ),
    )


class MemberFilter(Base):
    __tablename__ = "member_filters"
    __table_args__ = (UniqueConstraint("network", "community_id", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[str] = mapped_column(ID)
    account_id: Mapped[str] = mapped_column(ID)
    level: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScopePolicy(Base):
    """An admin's policy for unverified members: community-wide (channel_id '') or per channel."""

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("network", "community_id", "channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[str] = mapped_column(ID)
    channel_id: Mapped[str] = mapped_column(ID, default="")
    policy: Mapped[str] = mapped_column(String(16))
    set_by: Mapped[str | None] = mapped_column(ID)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PendingCheck(Base):
    """A verification under way; survives restarts. `state` holds method data (PKCE verifier,
    nonce, hashed code, attempts) and never a name or address."""

    __tablename__ = "pending_checks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(ID)
    community_id: Mapped[str | None] = mapped_column(ID)
    method: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index(None, "network", "account_id"),)


class HeldItem(Base):
    """An interaction a member's filter stopped, kept for that member to review."""

    __tablename__ = "held_items"
    __table_args__ = (
        UniqueConstraint("network", "message_id", "for_account", "relation"),
        Index(None, "network", "for_account", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[str] = mapped_column(ID)
    channel_id: Mapped[str] = mapped_column(ID)
    message_id: Mapped[str] = mapped_column(ID)
    for_account: Mapped[str] = mapped_column(ID)
    sender_account: Mapped[str] = mapped_column(ID)
    relation: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="held")
    held_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Report(Base):
    """What a member reported to a community's moderators, and what became of it."""

    __tablename__ = "reports"
    __table_args__ = (Index(None, "status", "answer_due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[str] = mapped_column(ID, index=True)
    channel_id: Mapped[str | None] = mapped_column(ID)
    message_id: Mapped[str | None] = mapped_column(ID)
    reporter_account: Mapped[str] = mapped_column(ID)
    target_account: Mapped[str | None] = mapped_column(ID)
    category: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, default="")
    routed_to: Mapped[str | None] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(ID)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # the start of the reported message as the bot saw it when the report came (evidence that
    # outlives a deletion); None when the bot could no longer see it
    message_text: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(16))
    moderator_note: Mapped[str | None] = mapped_column(Text)  # for moderators only
    raised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last overdue reminder


class AuditEntry(Base):
    """What the bot did or (in a dry run) would have done, and who asked."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "network", "target"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    network: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[str | None] = mapped_column(ID)
    actor: Mapped[str | None] = mapped_column(ID)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(ID)
    detail: Mapped[str] = mapped_column(Text, default="")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)


class AdapterStateEntry(Base):
    """Small durable values an adapter needs across restarts (e.g. the Matrix sync token)."""

    __tablename__ = "adapter_state"
    __table_args__ = (UniqueConstraint("network", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedEvent(Base):
    """Event ids already acted on, so redelivery after a restart changes nothing."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("network", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(ID)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SenderNotice(Base):
    """When a sender was last told how to verify, so notices respect their cooldown."""

    __tablename__ = "sender_notices"
    __table_args__ = (UniqueConstraint("network", "community_id", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[str] = mapped_column(ID)
    account_id: Mapped[str] = mapped_column(ID)
    noticed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Budget(Base):
    """How much of a daily allowance (codes mailed, codes tried) an account or an address has
    used, shared by every check and every process, so starting fresh checks gives no fresh
    allowance. An address is known only by its keyed hash (and then `network` is empty)."""

    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("kind", "network", "holder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    network: Mapped[str] = mapped_column(String(16))
    holder: Mapped[str] = mapped_column(ID)  # an account id, or an address's keyed hash
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    used: Mapped[int] = mapped_column(Integer)


__all__ = [
    "AdapterStateEntry",
    "AuditEntry",
    "Base",
    "Budget",
    "HeldItem",
    "IdentityBinding",
    "MemberFilter",
    "PendingCheck",
    "ProcessedEvent",
    "Report",
    "ScopePolicy",
    "SenderNotice",
    "Verification",
]


class RoleConnection(Base):
    """What it takes to clear a member's Discord profile badge later (Linked Roles): the refresh
    token Discord gave when they chose to show it, encrypted (bot/adapters/discord/
    linked_roles.py). Nothing else about the Discord account is kept."""

    __tablename__ = "role_connections"
    __table_args__ = (UniqueConstraint("network", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(ID)
    sealed_token: Mapped[str] = mapped_column(Text)  # AES-GCM, base64; the key is not stored
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
