"""Values config.example.toml ships with, still in place: the bot would serve no one."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.checks.common import these
from bot.config import Config

# What config.example.toml writes where an admin's own values belong.
EXAMPLE_DOMAINS = ("example.org", "example.com", "example.net")
EXAMPLE_DISCORD_IDS = frozenset(str(123456789012345678 + n) for n in range(4))


def is_example_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith(f".{domain}") for domain in EXAMPLE_DOMAINS)


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _server(matrix_id: str) -> str:
    """The server part of @user:server or !room:server (port dropped); '' if none."""
    return matrix_id.partition(":")[2].rsplit(":", 1)[0] if ":" in matrix_id else ""


def placeholder_warnings(config: Config) -> list[str]:
    """Values config.example.toml ships with, still in place: the bot would serve no one."""
    found = [
        _placeholder(
            key, [v for v, host in zip(values, hosts, strict=True) if is_example_host(host)]
        )
        for key, values, hosts in _addresses(config)
    ]
    found += [
        _placeholder(key, [v for v in values if _is_example_id(v)]) for key, values in _ids(config)
    ]
    return [warning for warning in found if warning]


def _addresses(config: Config) -> list[tuple[str, list[str], list[str]]]:
    """(key, values, the host or domain of each value) for every setting naming a place."""
    web, oidc, email = config.web, config.methods.oidc, config.methods.email_code
    found = [("web.base_url", [web.base_url], [_host(web.base_url)])]
    if oidc is not None:
        found.append(("methods.oidc.issuer", [oidc.issuer], [_host(oidc.issuer)]))
    if email is not None:
        domains = email.allowed_domains
        found.append(("methods.email_code.allowed_domains", domains, domains))
        domain = email.sender.rstrip(">").rpartition("@")[2]
        found.append(("methods.email_code.sender", [email.sender], [domain]))
    matrix = config.matrix
    if matrix is not None:
        found.append(("matrix.homeserver", [matrix.homeserver], [_host(matrix.homeserver)]))
        found.append(("matrix.user_id", [matrix.user_id], [_server(matrix.user_id)]))
        servers, inviters = matrix.allowed_servers, matrix.allowed_inviters
        found.append(("matrix.allowed_servers", servers, servers))
        found.append(("matrix.allowed_inviters", inviters, [_server(i) for i in inviters]))
    return found


def _ids(config: Config) -> list[tuple[str, list[str]]]:
    """(key, ids) for every setting naming a server, space, room or channel."""
    found = (
        []
        if config.discord is None
        else [("discord.command_guilds", config.discord.command_guilds)]
    )
    for i, community in enumerate(config.communities):
        where = f"communities.{i}"
        optional = {
            "log_channel": community.log_channel,
            "moderator_channel": community.moderator_channel,
            "verified_space": community.verified_space,
        }
        found.append((f"{where}.id", [community.id]))
        found += [(f"{where}.{key}", [value]) for key, value in optional.items() if value]
        found.append((f"{where}.rooms", community.rooms))
        found.append((f"{where}.channels", list(community.channels)))
    return found


def _is_example_id(value: str) -> bool:
    return value in EXAMPLE_DISCORD_IDS or is_example_host(_server(value))


def _placeholder(key: str, values: list[str]) -> str:
    if not values:
        return ""
    kind = "an example value" if len(values) == 1 else "example values"
    return f"{key}: {these(values)} {kind} (as in config.example.toml); put your own instead"
