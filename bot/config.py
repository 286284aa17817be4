"""Settings: TOML plus environment, validated in full before anything starts.

Every problem is reported at once, each naming the key, the bad value and the fix, so an admin
mends a config in one pass. Secrets are never required inline: each secret is a `SecretRef`
pointing at an environment variable or a file, and an inline value draws a warning.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot import config_files
from bot.model import FilterLevel, Network, UnverifiedPolicy

KNOWN_METHODS = ("oidc", "email_code", "moderator")
LEVEL_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class ConfigError(Exception):
    """The configuration cannot be used. `problems` lists every issue found, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Section):
    """Where a secret lives. Exactly one of `env`, `file` or (discouraged) `value`."""

    env: str | None = None
    file: Path | None = None
    value: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _a_table(cls, data: Any) -> Any:
        """A bare string here is most likely the secret itself: refuse it without echoing it."""
        if not isinstance(data, Mapping | SecretRef):
            raise ValueError(
                'must be a table: { env = "VARIABLE" } or { file = "/path/to/secret" }'
                " (the value given is not shown, as it may be the secret itself)"
            )
        return data

    @field_validator("env")
    @classmethod
    def _variable_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(
                "not an environment variable name; use letters, digits and _,"
                ' e.g. env = "VERIFYBOT_DISCORD_TOKEN"'
            )
        return name

    @field_validator("file")
    @classmethod
    def _usable_path(cls, path: Path) -> Path:
        text = str(path)
        if "\x00" in text or not text.strip() or text == ".":
            raise ValueError(
                "cannot be a file name (it is empty or holds a NUL character); give the path of"
                ' the file holding the secret, e.g. file = "/etc/verifybot/token"'
            )
        return path

    @field_validator("value")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError('is empty; better: env = "VARIABLE" or file = "/path/to/secret"')
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [k for k in ("env", "file", "value") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                'give exactly one of env = "VAR_NAME" or file = "/path/to/secret"'
                f" (got {', '.join(given) or 'none'})"
            )
        return self

    @property
    def is_inline(self) -> bool:
        return self.value is not None

    def describe(self) -> str:
        if self.env is not None:
            return f"environment variable {self.env}"
        if self.file is not None:
            return f"file {self.file}"
        return "an inline value"

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret itself; raises ConfigError naming where it was looked for."""
        env = os.environ if environ is None else environ
        if self.value is not None:
            return self.value
        if self.env is not None:
            found = env.get(self.env, "")
            if not found:
                raise ConfigError([f"secret: environment variable {self.env} is not set or empty"])
            return found
        assert self.file is not None
        return _read_secret_file(self.file)


class DatabaseSettings(_Section):
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


class WebSettings(_Section):
    base_url: str = "http://127.0.0.1:8080"
    listen_host: str = "127.0.0.1"
    listen_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    enabled: bool = True

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError("must be an absolute http(s) URL such as https://verify.example.org")
        return url.rstrip("/")


class IdentitySettings(_Section):
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


class ClaimRule(_Section):
    """An ID-token claim whose value, when among `values`, proves `level`."""

    claim: str
    values: list[str]
    level: Annotated[str, Field(pattern=LEVEL_PATTERN)]


class OidcSettings(_Section):
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


class EmailCodeSettings(_Section):
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


class ModeratorReviewSettings(_Section):
    level: Annotated[str, Field(pattern=LEVEL_PATTERN)] = "reviewed"
    request_ttl_days: Annotated[int, Field(ge=1, le=90)] = 7  # an unanswered request lapses


class MethodSettings(_Section):
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


class CommunityDefaults(_Section):
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


class CommunitySettings(_Section):
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
    rules: dict[str, str] = {}  # report categories -> the rule that applies

    @field_validator("id")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty: a Discord guild id or a Matrix space/room id")
        return value.strip()


class DiscordSettings(_Section):
    token: SecretRef
    badge_role_name: str = "Verified"
    badge_role_colour: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#2ecc71"
    command_guilds: list[str] = []  # sync commands to these guilds at once (global sync is slow)
    guild_ready_timeout: Annotated[float, Field(gt=0, le=60)] = 2.0
    linked_roles: bool = False
    automod_mention_block: bool = True
    api_base: str | None = None  # only for tests against a loopback Discord API
    gateway_url: str | None = None  # only for tests against a loopback Discord gateway


class MatrixSettings(_Section):
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


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = False  # one JSON object per log line, for log shippers


class Config(_Section):
    database: DatabaseSettings = DatabaseSettings()
    web: WebSettings = WebSettings()
    identity: IdentitySettings = IdentitySettings()
    methods: MethodSettings = MethodSettings()
    defaults: CommunityDefaults = CommunityDefaults()
    communities: list[CommunitySettings] = []
    discord: DiscordSettings | None = None
    matrix: MatrixSettings | None = None
    logging: LoggingSettings = LoggingSettings()

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
        if self.methods.oidc and self.methods.oidc.client_secret:
            found.append(("methods.oidc.client_secret", self.methods.oidc.client_secret))
        if self.methods.email_code and self.methods.email_code.smtp_password:
            found.append(
                ("methods.email_code.smtp_password", self.methods.email_code.smtp_password)
            )
        if self.discord:
            found.append(("discord.token", self.discord.token))
        if self.matrix:
            if self.matrix.access_token:
                found.append(("matrix.access_token", self.matrix.access_token))
            if self.matrix.password:
                found.append(("matrix.password", self.matrix.password))
        return found


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    warnings: list[str]


def _format_error(error: Mapping[str, Any]) -> list[str]:
    parts = tuple(error.get("loc", ()))
    loc = ".".join(str(part) for part in parts)
    message = str(error.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    value = error.get("input")
    lines = message.split("\n")
    if error.get("type") == "extra_forbidden":
        return [f"{loc}: unknown setting; check the spelling against config.example.toml"]
    if error.get("type") == "missing":
        return [f"{loc}: required setting is missing; see config.example.toml"]
    if len(lines) > 1 or not loc:
        # cross-field messages already name their keys
        return [line if not loc else f"{loc}: {line}" for line in lines]
    hidden = isinstance(value, dict | list) or value is None or _is_secret_value(parts)
    return [f"{loc}: {message}{'' if hidden else f' (got {_short_repr(value)})'}"]


def parse_config(data: Mapping[str, Any]) -> LoadedConfig:
    """Validate already-parsed TOML data; raises ConfigError listing every problem."""
    too_deep = config_files.too_deep(data)
    if too_deep is not None:
        raise ConfigError([too_deep])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems: list[str] = []
        for error in exc.errors():
            problems.extend(_format_error(error))
        raise ConfigError(problems) from None
    except RecursionError:  # belt and braces: too_deep() should have caught it
        raise ConfigError([config_files.nested_too_deep("the configuration")]) from None
    warnings = [
        f"{key}: the secret is written inline; move it to an environment variable"
        f' ({key} = {{ env = "VERIFYBOT_..." }}) or a file readable only by the bot'
        for key, ref in config.secrets()
        if ref.is_inline
    ]
    return LoadedConfig(config, warnings)


def load_config(path: str | Path) -> LoadedConfig:
    """Read and validate a TOML file; raises ConfigError with every problem found."""
    try:
        data = config_files.load_toml(Path(path))
    except config_files.Unusable as exc:
        raise ConfigError([str(exc)]) from None
    return parse_config(data)


def check_secrets(config: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """Problems resolving secrets (unset variables, unreadable files), for check-config/run."""
    problems: list[str] = []
    for key, ref in config.secrets():
        try:
            ref.resolve(environ)
        except ConfigError as exc:
            problems.extend(f"{key}: {p.removeprefix('secret: ')}" for p in exc.problems)
    return problems


# --- helpers for the functions above ---------------------------------------------------------


def _read_secret_file(file: Path) -> str:
    try:
        return config_files.read_secret(file)
    except config_files.Unusable as exc:
        raise ConfigError([f"secret: {exc}"]) from None


def _short_repr(value: Any, limit: int = 80) -> str:
    """A bad value as the user wrote it, cut short so a huge value cannot flood the output."""
    shown = repr(value)
    return shown if len(shown) <= limit else f"{shown[: limit - 1]}…"


def _is_secret_value(loc: tuple[Any, ...]) -> bool:
    """Whether an error is about a secret's own value, whose input must never be echoed."""
    current: Any = Config
    for index, part in enumerate(loc):
        if _holds_secret(current):
            return loc[index:] == ("value",)
        current = _field_type(current, part)
        if current is None:
            return False
    return _holds_secret(current)


def _holds_secret(annotation: Any) -> bool:
    """SecretRef itself, or an optional SecretRef."""
    return annotation is SecretRef or (
        get_origin(annotation) in _UNIONS and SecretRef in get_args(annotation)
    )


def _field_type(container: Any, part: Any) -> Any:
    """The type found at `part` inside `container` (a model, list or dict type), or None."""
    for option in get_args(container) if get_origin(container) in _UNIONS else (container,):
        origin = get_origin(option)
        if isinstance(option, type) and issubclass(option, BaseModel) and isinstance(part, str):
            field = option.model_fields.get(part)
            if field is not None:
                return field.annotation
        elif origin is list and isinstance(part, int):
            return get_args(option)[0]
        elif origin is dict and isinstance(part, str):
            return get_args(option)[1]
    return None


_UNIONS = (Union, UnionType)
