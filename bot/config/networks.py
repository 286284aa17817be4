"""The chat networks the bot connects to: Discord and Matrix."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from bot.config.base import Section
from bot.config.secret import SecretRef


class DiscordSettings(Section):
    token: SecretRef
    badge_role_name: str = "Verified"
    badge_role_colour: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#2ecc71"
    command_guilds: list[str] = []  # sync commands to these guilds at once (global sync is slow)
    guild_ready_timeout: Annotated[float, Field(gt=0, le=60)] = 2.0
    linked_roles: bool = False
    # the application's OAuth2 secret: members who choose it get the badge on their profile
    client_secret: SecretRef | None = None
    automod_mention_block: bool = True
    # several processes on one database: the total number of shards, and the ones this process
    # runs (each guild belongs to shard (guild_id >> 22) % shard_count); checked in
    # bot/adapters/discord/checks.py so every problem is named with its fix
    shard_count: int | None = None  # none: one connection for every guild
    shard_ids: list[int] | None = None  # none: every shard of shard_count
    api_base: str | None = None  # only for tests against a loopback Discord API
    gateway_url: str | None = None  # only for tests against a loopback Discord gateway


class AntispamSettings(Section):
    """verifybot as the homeserver's synapse-http-antispam server: Synapse asks before it stores
    an event or lets an account join (README, "Deciding before delivery")."""

    # what Synapse sends as `authorization` (Bearer); anything else is refused
    secret: SecretRef
    # an answer not ready in this time allows the event; the after-the-fact path then acts
    budget_ms: Annotated[int, Field(ge=5, le=10_000)] = 50


class MatrixSettings(Section):
    homeserver: str
    user_id: str
    access_token: SecretRef | None = None
    password: SecretRef | None = None
    device_id: str | None = None
    badge_power_level: Annotated[int, Field(ge=1, le=99)] = 1
    moderator_power_level: Annotated[int, Field(ge=1, le=100)] = 50
    admin_power_level: Annotated[int, Field(ge=1, le=100)] = 100
    allowed_inviters: list[str] = []
    allowed_servers: list[str] = []
    command_prefix: str = "!"
    # redact members' command messages in community rooms, so `!verify` does not announce who is
    # verifying (the answer still comes by direct message)
    redact_commands: bool = False
    # pin a notice in read_only and verified_only rooms saying how to verify (newcomers there
    # cannot type a command)
    announce_verification: bool = False
    queue_size: Annotated[int, Field(ge=1, le=100_000)] = 1000
    # warn admins when a room's power levels grow past this (Matrix refuses them above 64 KiB)
    power_levels_warn_bytes: Annotated[int, Field(ge=1024, le=65_536)] = 32_768
    antispam: AntispamSettings | None = None  # [matrix.antispam]: decide before delivery

    @model_validator(mode="after")
    def _credentials(self) -> MatrixSettings:
        if self.access_token is None and self.password is None:
            raise ValueError(
                'give access_token = { env = "VERIFYBOT_MATRIX_TOKEN" } or password = { env = ... }'
            )
        if not self.badge_power_level < self.moderator_power_level <= self.admin_power_level:
            raise ValueError(
                "power levels must rise: badge_power_level < moderator_power_level"
                " <= admin_power_level"
            )
        return self

    @field_validator("user_id")
    @classmethod
    def _mxid(cls, user_id: str) -> str:
        if not re.match(r"^@[^:\s]+:\S+$", user_id):
            raise ValueError("must be a full Matrix user id such as @verifybot:example.org")
        return user_id

    @field_validator("homeserver")
    @classmethod
    def _url(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError("must be the homeserver's URL, e.g. https://matrix.example.org")
        return url.rstrip("/")
