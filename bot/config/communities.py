"""Communities: the defaults every one gets, and each one's own section."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from bot.config.base import Section
from bot.model import FilterLevel, Network, UnverifiedPolicy


class CommunityDefaults(Section):
    """What applies to every community unless its own section says otherwise."""

    policy: UnverifiedPolicy = UnverifiedPolicy.OPEN
    accepted_levels: list[str] | None = None  # None: every level a configured method proves
    methods: list[str] | None = None  # None: every configured method
    limited_messages_per_minute: Annotated[int, Field(ge=1, le=600)] = 5
    mass_mention_threshold: Annotated[int, Field(ge=2, le=100)] = 5
    bots_count_as_unverified: bool = False
    sender_notice_cooldown_seconds: Annotated[int, Field(ge=0, le=86_400)] = 600
    held_retention_days: Annotated[int, Field(ge=1, le=365)] = 30
    default_filter: FilterLevel = FilterLevel.OFF
    report_response_hours: Annotated[int, Field(ge=1, le=720)] = 48
    # check every badge against the stored verifications this often (0: only at start)
    badge_check_minutes: Annotated[float, Field(ge=0, le=10_080)] = 60


class CommunitySettings(Section):
    network: Network
    id: str
    name: str | None = None
    policy: UnverifiedPolicy | None = None
    accepted_levels: list[str] | None = None
    methods: list[str] | None = None
    channels: dict[str, UnverifiedPolicy] = {}
    log_channel: str | None = None  # where admins are told what needs their action
    moderator_channel: str | None = None  # where reports and review requests go
    rooms: list[str] = []  # Matrix: a configured set of rooms instead of (or beside) a space
    verified_space: str | None = None  # Matrix: the community's "Verified" space
    rules: dict[str, str] = {}  # report categories -> this community's own wording of the rule
    audit_channel: str | None = None  # where each audit entry is also posted, one line each

    @field_validator("id")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty: a Discord guild id or a Matrix space/room id")
        return value.strip()
