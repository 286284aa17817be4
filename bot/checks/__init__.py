"""Every check of a configuration that needs no network, shared by `check-config` and `run`.

Both commands call `static_checks`, so what check-config accepts, run accepts; and what run would
refuse at start for a reason visible in the files (a weak key, an unreadable secret, an http
callback address, a Matrix prefix no one can type) check-config refuses first. Each problem names
the key, the bad value (never a secret's) and the fix. Warnings are left-over placeholders and
settings that work but are probably not meant.

* common.py — `Findings` and the helpers every part shares, the networks' own checks included
  (bot/adapters/*/checks.py import them from there);
* database.py, verification.py — the database, and the identity checks' static pieces;
* placeholders.py — values left from config.example.toml.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from bot.checks.common import Findings, resolved, these, token_problem, url_problems
from bot.checks.database import database_problems
from bot.checks.placeholders import placeholder_warnings
from bot.checks.verification import verification_checks
from bot.config import Config, check_secrets


def static_checks(config: Config, environ: Mapping[str, str] | None = None) -> Findings:
    """Everything that can be known about `config` before touching a network."""
    env = os.environ if environ is None else environ
    found = Findings(problems=check_secrets(config, env))
    found.problems += database_problems(config.database)
    for key, url in (("web.base_url", config.web.base_url), *_issuer(config)):
        found.problems += url_problems(key, url)
    found.add(verification_checks(config, env))
    if config.matrix is not None:
        from bot.adapters.matrix.checks import matrix_checks

        found.add(matrix_checks(config, env))
    if config.discord is not None:
        from bot.adapters.discord.checks import discord_checks

        found.add(discord_checks(config, env))
    found.warnings += placeholder_warnings(config)
    return found


def static_problems(config: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    return static_checks(config, environ).problems


def _issuer(config: Config) -> list[tuple[str, str]]:
    oidc = config.methods.oidc
    return [] if oidc is None else [("methods.oidc.issuer", oidc.issuer)]


__all__ = [
    "Findings",
    "database_problems",
    "placeholder_warnings",
    "resolved",
    "static_checks",
    "static_problems",
    "these",
    "token_problem",
    "url_problems",
    "verification_checks",
]
