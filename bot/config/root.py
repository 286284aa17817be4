"""The whole configuration: its sections, the checks that span them, and the lookups the bot
makes at run time (a community's section, what it accepts, every secret)."""

from __future__ import annotations

from functools import cached_property

from pydantic import model_validator

from bot.config.base import KNOWN_METHODS, Section
from bot.config.communities import CommunityDefaults, CommunitySettings
from bot.config.methods import MethodSettings
from bot.config.networks import DiscordSettings, MatrixSettings
from bot.config.reports import ReportSettings, RetentionSettings
from bot.config.secret import SecretRef
from bot.config.sections import (
    DatabaseSettings,
    IdentitySettings,
    LoggingSettings,
    WebSettings,
)


class Config(Section):
    """Everything the bot is told, validated as one: problems that span sections (a method
    accepted but not configured, a community on a network without its section) are found here,
    all at once."""

    database: DatabaseSettings = DatabaseSettings()
    web: WebSettings = WebSettings()
    identity: IdentitySettings = IdentitySettings()
    methods: MethodSettings = MethodSettings()
    defaults: CommunityDefaults = CommunityDefaults()
    communities: list[CommunitySettings] = []
    discord: DiscordSettings | None = None
    matrix: MatrixSettings | None = None
    logging: LoggingSettings = LoggingSettings()
    reports: ReportSettings = ReportSettings()
    retention: RetentionSettings = RetentionSettings()

    @model_validator(mode="after")
    def _cross_field(self) -> Config:
        problems: list[str] = []
        configured = self.methods.configured()
        provable = self.methods.levels()
        scopes: list[tuple[str, list[str] | None, list[str] | None]] = [
            ("defaults", self.defaults.methods, self.defaults.accepted_levels)
        ]
        scopes += [
            (f"communities.{i}", c.methods, c.accepted_levels)
            for i, c in enumerate(self.communities)
        ]
        for where, methods, levels in scopes:
            for method in methods or []:
                if method not in KNOWN_METHODS:
                    problems.append(
                        f"{where}.methods: unknown method {method!r};"
                        f" choose from {', '.join(KNOWN_METHODS)}"
                    )
                elif method not in configured:
                    problems.append(
                        f"{where}.methods: {method!r} is accepted but not configured;"
                        f" add a [methods.{method}] section or remove it"
                    )
            for level in levels or []:
                if level not in provable:
                    problems.append(
                        f"{where}.accepted_levels: no configured method proves level {level!r}"
                        f" (configured methods prove: {', '.join(sorted(provable)) or 'nothing'})"
                    )
        seen: set[tuple[str, str]] = set()
        for i, community in enumerate(self.communities):
            key = (community.network, community.id)
            if key in seen:
                problems.append(f"communities.{i}.id: {community.id!r} is listed twice")
            seen.add(key)
            if getattr(self, community.network) is None:
                problems.append(
                    f"communities.{i}.network: {community.network!r} has no [{community.network}]"
                    " section; add one or remove this community"
                )
            for category in community.rules:
                if category not in self.reports.categories:
                    problems.append(
                        f"communities.{i}.rules: {category!r} is not a report category; choose"
                        f" from {', '.join(self.reports.categories)}"
                    )
        if self.discord and self.discord.linked_roles and self.discord.client_secret is None:
            problems.append(
                "discord.client_secret: required with linked_roles (Developer Portal → OAuth2 →"
                ' Client Secret); set client_secret = { env = "VERIFYBOT_DISCORD_CLIENT_SECRET" }'
            )
        if self.discord and self.discord.linked_roles and not self.web.enabled:
            problems.append(
                "discord.linked_roles: members give their consent on the bot's web pages, which"
                " are off; set web.enabled = true or turn linked_roles off"
            )
        if self.matrix and self.matrix.antispam and not self.web.enabled:
            problems.append(
                "matrix.antispam: the homeserver asks the bot's web service, which is off;"
                " set web.enabled = true or remove [matrix.antispam]"
            )
        if configured and self.identity.hash_key is None:
            problems.append(
                "identity.hash_key: required when any method is configured;"
                ' set hash_key = { env = "VERIFYBOT_IDENTITY_KEY" }'
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    # --- lookups used at run time -----------------------------------------------------------

    @cached_property
    def _community_index(self) -> dict[tuple[str, str], CommunitySettings]:
        return {(c.network, c.id): c for c in self.communities}

    def community(self, network: str, community_id: str) -> CommunitySettings | None:
        """A community's own section (a dict lookup: this runs for every message)."""
        return self._community_index.get((network, community_id))

    def accepted_levels(self, network: str, community_id: str) -> frozenset[str]:
        own = self.community(network, community_id)
        if own is not None and own.accepted_levels is not None:
            return frozenset(own.accepted_levels)
        if self.defaults.accepted_levels is not None:
            return frozenset(self.defaults.accepted_levels)
        return frozenset(self.methods.levels())

    def accepted_methods(self, network: str, community_id: str) -> list[str]:
        own = self.community(network, community_id)
        if own is not None and own.methods is not None:
            return list(own.methods)
        if self.defaults.methods is not None:
            return list(self.defaults.methods)
        return self.methods.configured()

    def secrets(self) -> list[tuple[str, SecretRef]]:
        """Every secret reference with its key, for checks and warnings."""
        found: list[tuple[str, SecretRef]] = []
        if self.identity.hash_key:
            found.append(("identity.hash_key", self.identity.hash_key))
        if self.web.metrics_token:
            found.append(("web.metrics_token", self.web.metrics_token))
        if self.methods.oidc and self.methods.oidc.client_secret:
            found.append(("methods.oidc.client_secret", self.methods.oidc.client_secret))
        if self.methods.email_code and self.methods.email_code.smtp_password:
            found.append(
                ("methods.email_code.smtp_password", self.methods.email_code.smtp_password)
            )
        if self.discord:
            found.append(("discord.token", self.discord.token))
            if self.discord.client_secret:
                found.append(("discord.client_secret", self.discord.client_secret))
        if self.matrix:
            if self.matrix.access_token:
                found.append(("matrix.access_token", self.matrix.access_token))
            if self.matrix.antispam:
                found.append(("matrix.antispam.secret", self.matrix.antispam.secret))
            if self.matrix.password:
                found.append(("matrix.password", self.matrix.password))
        return found
