"""The bot's own services: the database, the web service, identity keeping, logging."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bot.config.base import Section
from bot.config.secret import SecretRef


class DatabaseSettings(Section):
    url: str = "sqlite+aiosqlite:///verifybot.db"
    pool_size: Annotated[int, Field(ge=1, le=200)] = 10
    auto_migrate: bool = True
    cache_size: Annotated[int, Field(ge=100, le=10_000_000)] = 100_000

    @field_validator("url")
    @classmethod
    def _supported(cls, url: str) -> str:
        if not (url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://")):
            raise ValueError(
                "use sqlite+aiosqlite:///path/to/file.db (embedded) or"
                " postgresql+asyncpg://user@host/db (scale)"
            )
        return url


class WebSettings(Section):
    base_url: str = "http://127.0.0.1:8080"
    listen_host: str = "127.0.0.1"
    listen_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    enabled: bool = True
    # /metrics: on its own listener (same host) instead of the pages' port, and/or only for a
    # scraper that sends `Authorization: Bearer <token>`
    metrics_port: Annotated[int, Field(ge=0, le=65535)] | None = None
    metrics_token: SecretRef | None = None
    dashboard: bool = True  # the admins' dashboard (`dashboard` sends a one-time sign-in link)
    dashboard_session_hours: Annotated[int, Field(ge=1, le=168)] = 8

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError("must be an absolute http(s) URL such as https://verify.example.org")
        return url.rstrip("/")


class IdentitySettings(Section):
    hash_key: SecretRef | None = None
    link_ttl_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    max_accounts_per_identity: Annotated[int, Field(ge=1, le=100)] = 1
    expiry_days: Annotated[int, Field(ge=0, le=3650)] = 365  # 0: never expires
    reminder_days: Annotated[int, Field(ge=0, le=365)] = 14

    @model_validator(mode="after")
    def _reminder_before_expiry(self) -> IdentitySettings:
        if self.expiry_days and self.reminder_days >= self.expiry_days:
            raise ValueError(
                f"reminder_days ({self.reminder_days}) must be below expiry_days"
                f" ({self.expiry_days})"
            )
        return self


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = False  # one JSON object per log line, for log shippers
