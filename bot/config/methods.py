"""The ways to verify: an OpenID provider, an e-mail code, a moderator's review."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from bot.config.base import KNOWN_METHODS, LEVEL_PATTERN, Section
from bot.config.secret import SecretRef


class ClaimRule(Section):
    """An ID-token claim whose value, when among `values`, proves `level`."""

    claim: str
    values: list[str]
    level: Annotated[str, Field(pattern=LEVEL_PATTERN)]


class OidcSettings(Section):
    issuer: str
    client_id: str
    client_secret: SecretRef | None = None
    scopes: list[str] = ["openid"]
    level: Annotated[str, Field(pattern=LEVEL_PATTERN)] = "account"
    claim_rules: list[ClaimRule] = []
    allowed_algorithms: list[str] = ["RS256", "ES256", "PS256", "EdDSA"]
    leeway_seconds: Annotated[int, Field(ge=0, le=300)] = 60
    display_name: str = "your identity provider"

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError("must be the provider's issuer URL, e.g. https://id.example.org")
        return url.rstrip("/")

    @field_validator("issuer")
    @classmethod
    def _issuer_https(cls, url: str) -> str:
        """Plain http would let anyone on the path swap the provider's keys; loopback only."""
        host = re.sub(r"^https?://(\[[^]]*\]|[^/:]*).*$", r"\1", url)
        if url.startswith("http://") and host not in ("127.0.0.1", "localhost", "[::1]"):
            raise ValueError("must use https:// (plain http is allowed only on loopback)")
        return url

    @field_validator("allowed_algorithms")
    @classmethod
    def _asymmetric_only(cls, algs: list[str]) -> list[str]:
        bad = [a for a in algs if a.lower() == "none" or a.startswith("HS")]
        if bad:
            raise ValueError(
                f"{', '.join(bad)} not allowed: ID tokens must be signed with the provider's"
                " private key (RS*, PS*, ES*, EdDSA)"
            )
        if not algs:
            raise ValueError('list at least one algorithm, e.g. ["RS256"]')
        return algs


class EmailCodeSettings(Section):
    allowed_domains: list[str]
    smtp_host: str = "127.0.0.1"
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_username: str | None = None
    smtp_password: SecretRef | None = None
    smtp_starttls: bool = True
    sender: str = "verifybot@localhost"
    code_ttl_minutes: Annotated[int, Field(ge=1, le=120)] = 10
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    resend_cooldown_seconds: Annotated[int, Field(ge=0, le=3600)] = 60
    max_sends: Annotated[int, Field(ge=1, le=10)] = 3  # codes per check, so the bot is no mailer
    # codes one account, and one address, may be sent and may try in 24 hours, over all checks
    daily_sends: Annotated[int, Field(ge=1, le=100)] = 5
    daily_tries: Annotated[int, Field(ge=1, le=300)] = 15
    level: Annotated[str, Field(pattern=LEVEL_PATTERN)] = "email"

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        if not domains:
            raise ValueError('list at least one domain, e.g. ["example.org"]')
        cleaned = [d.strip().lower().lstrip("@") for d in domains]
        bad = [d for d in cleaned if not re.match(r"^[a-z0-9.-]+\.[a-z]{2,}$", d)]
        if bad:
            raise ValueError(f"not a domain: {', '.join(bad)} (write example.org, without @)")
        return cleaned


class ModeratorReviewSettings(Section):
    level: Annotated[str, Field(pattern=LEVEL_PATTERN)] = "reviewed"
    request_ttl_days: Annotated[int, Field(ge=1, le=90)] = 7  # an unanswered request lapses


class MethodSettings(Section):
    oidc: OidcSettings | None = None
    email_code: EmailCodeSettings | None = None
    moderator: ModeratorReviewSettings | None = None

    def configured(self) -> list[str]:
        return [name for name in KNOWN_METHODS if getattr(self, name) is not None]

    def levels(self) -> set[str]:
        """Every level some configured method can prove."""
        found: set[str] = set()
        if self.oidc:
            found.add(self.oidc.level)
            found.update(rule.level for rule in self.oidc.claim_rules)
        if self.email_code:
            found.add(self.email_code.level)
        if self.moderator:
            found.add(self.moderator.level)
        return found
