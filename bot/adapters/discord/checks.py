"""What the Discord adapter would refuse, or could never use, found without reaching Discord.

Called by `bot.checks.static_checks` for both `check-config` and `run`. Discord knows servers,
channels and roles by number (a snowflake); anything else fails when the adapter turns it into
one (`command_guilds` at start, the others at the first event that needs them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.adapters.discord.shards import ShardPlan, shard_problems
from bot.checks.common import Findings, resolved, these, token_problem, url_problems
from bot.config import Config

_SNOWFLAKE = re.compile(r"^[0-9]{1,20}$")
_ID_HELP = (
    "Discord ids are numbers: turn on Developer Mode (User Settings → Advanced), then right-click"
    " the server or channel → Copy ID"
)


def discord_checks(config: Config, environ: Mapping[str, str]) -> Findings:
    settings = config.discord
    found = Findings()
    if settings is None:
        return found
    token = resolved(settings.token, environ)
    found.problems += token_problem("discord.token", token)
    if token is not None and token.lower().startswith("bot "):
        found.problems.append(
            'discord.token: starts with "Bot "; give the token alone (the bot adds the prefix)'
        )
    name = settings.badge_role_name
    if not 1 <= len(name.strip()) <= 100:
        found.problems.append(
            f"discord.badge_role_name: {name[:120]!r} cannot be a role name; Discord takes 1 to"
            ' 100 characters, e.g. badge_role_name = "Verified"'
        )
    for key, url, schemes in (
        ("discord.api_base", settings.api_base, ("http", "https")),
        ("discord.gateway_url", settings.gateway_url, ("ws", "wss", "http", "https")),
    ):
        if url is None:
            continue
        problems = url_problems(key, url, schemes)
        found.problems += problems
        if not problems:
            found.warnings.append(
                f"{key}: points the bot at {url} instead of Discord; this is for tests only,"
                " remove it to reach Discord"
            )
    found.add(_shard_findings(config))
    places: dict[str, list[str | None]] = {"discord.command_guilds": [*settings.command_guilds]}
    for i, community in enumerate(config.communities):
        if community.network != "discord":
            continue
        where = f"communities.{i}"
        places[f"{where}.id"] = [community.id]
        places[f"{where}.log_channel"] = [community.log_channel]
        places[f"{where}.moderator_channel"] = [community.moderator_channel]
        places[f"{where}.channels"] = [*community.channels]
    for key, values in places.items():
        bad = [v for v in values if v is not None and not _SNOWFLAKE.match(v)]
        if bad:
            found.problems.append(f"{key}: {these(bad)} not an id; {_ID_HELP}")
    return found


def _shard_findings(config: Config) -> Findings:
    """Shard settings discord.py or Discord would refuse; a share of the shards on SQLite (whose
    file one process owns) cannot be coherent with the processes running the rest."""
    assert config.discord is not None
    found = Findings(problems=shard_problems(config.discord))
    plan = None if found.problems else ShardPlan.of(config.discord)
    if plan is not None and len(plan.ids) < plan.count and config.database.url.startswith("sqlite"):
        found.warnings.append(
            f"discord.shard_ids: this process runs shards {plan.label}; the processes running"
            " the others must share its database, and a SQLite file serves one process only:"
            ' use PostgreSQL (database.url = "postgresql+asyncpg://...") in every process'
        )
    return found
