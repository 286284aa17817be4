"""Settings: TOML plus environment, validated in full before anything starts.

Every problem is reported at once, each naming the key, the bad value and the fix, so an admin
mends a config in one pass. Secrets are never required inline: each secret is a `SecretRef`
pointing at an environment variable or a file, and an inline value draws a warning.

* base.py — `ConfigError` and the strict base of every section;
* secret.py — `SecretRef`; files.py — reading the config and secret files safely;
* sections.py — database, web, identity, logging; methods.py — the ways to verify;
  communities.py — defaults and each community; networks.py — Discord and Matrix;
* root.py — `Config`: the whole, its cross-section checks and run-time lookups;
* loading.py — `parse_config`, `load_config`, `check_secrets`; problems.py — error lines.
"""

from __future__ import annotations

from bot.config.base import KNOWN_METHODS, LEVEL_PATTERN, ConfigError
from bot.config.communities import CommunityDefaults, CommunitySettings
from bot.config.loading import LoadedConfig, check_secrets, load_config, parse_config
from bot.config.methods import (
    ClaimRule,
    EmailCodeSettings,
    MethodSettings,
    ModeratorReviewSettings,
    OidcSettings,
)
from bot.config.networks import AntispamSettings, DiscordSettings, MatrixSettings
from bot.config.root import Config
from bot.config.secret import SecretRef
from bot.config.sections import DatabaseSettings, IdentitySettings, LoggingSettings, WebSettings

__all__ = [
    "KNOWN_METHODS",
    "LEVEL_PATTERN",
    "AntispamSettings",
    "ClaimRule",
    "CommunityDefaults",
    "CommunitySettings",
    "Config",
    "ConfigError",
    "DatabaseSettings",
    "DiscordSettings",
    "EmailCodeSettings",
    "IdentitySettings",
    "LoadedConfig",
    "LoggingSettings",
    "MatrixSettings",
    "MethodSettings",
    "ModeratorReviewSettings",
    "OidcSettings",
    "SecretRef",
    "WebSettings",
    "check_secrets",
    "load_config",
    "parse_config",
]
