"""Every check of a configuration that needs no network, shared by `check-config` and `run`.

Both commands call `static_checks`, so what check-config accepts, run accepts; and what run would
refuse at start for a reason visible in the files (a weak key, an unreadable secret, an http
callback address, a Matrix prefix no one can type) check-config refuses first. Each problem names
the key, the bad value (never a secret's) and the fix. Warnings are left-over placeholders and
settings that work but are probably not meant.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import Config, ConfigError, DatabaseSettings, SecretRef, check_secrets
from bot.verification.identity import ServerKey, WeakKeyError

# What config.example.toml writes where an admin's own values belong.
EXAMPLE_DOMAINS = ("example.org", "example.com", "example.net")
EXAMPLE_DISCORD_IDS = frozenset(str(123456789012345678 + n) for n in range(4))


@dataclass
class Findings:
    """Problems stop the bot (exit 2); warnings are shown and the bot starts."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, other: Findings) -> None:
        self.problems += other.problems
        self.warnings += other.warnings


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


# --- shared helpers ---------------------------------------------------------------------------


def url_problems(key: str, url: str, schemes: Iterable[str] = ("http", "https")) -> list[str]:
    """What makes `url` unusable as a base address: spaces, a ?query or #fragment, a bad port."""
    allowed = tuple(schemes)
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return [
            f"{key}: {url!r} holds spaces or control characters; write the address without them"
        ]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return [f"{key}: {url!r} is not a usable address ({exc}); check the host and port"]
    if parts.scheme not in allowed or not parts.hostname:
        return [
            f"{key}: {url!r} is not an absolute {' or '.join(allowed)} URL;"
            f" write it like {allowed[-1]}://host.example.org"
        ]
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return [f"{key}: {url!r} has a ?query or #fragment, which cannot be used here; remove it"]
    if port == 0:
        return [f"{key}: {url!r} names port 0; give the real port or none"]
    return []


def these(values: list[str]) -> str:
    """`'a' is` or `'a', 'b' are`: bad values quoted, at most three of them."""
    shown = ", ".join(repr(v) for v in values[:3]) + (", …" if len(values) > 3 else "")
    return f"{shown} {'is' if len(values) == 1 else 'are'}"


def resolved(ref: SecretRef | None, environ: Mapping[str, str]) -> str | None:
    """The secret, or None when it is absent or unreadable (check_secrets reports that)."""
    if ref is None:
        return None
    try:
        return ref.resolve(environ)
    except ConfigError:
        return None


def token_problem(key: str, token: str | None) -> list[str]:
    """A token travels in an HTTP header: whitespace or control characters break it."""
    if token is None or (token.isprintable() and not any(ch.isspace() for ch in token)):
        return []
    return [
        f"{key}: the token holds spaces, line breaks or control characters (not shown);"
        " copy it again, alone on one line"
    ]


# --- the database -----------------------------------------------------------------------------


def database_problems(settings: DatabaseSettings) -> list[str]:
    """What opening the store and migrating would trip over: the driver, the URL, the folder."""
    from bot.storage.repo import Store

    try:
        store = Store.open(settings.url, pool_size=settings.pool_size)
    except ModuleNotFoundError as exc:
        return [
            f"database.url: the {exc.name} package it needs is not installed;"
            ' run pip install "verifybot[postgres]"'
        ]
    except Exception as exc:  # SQLAlchemy's URL and argument errors have no common base
        reason = str(exc).replace(settings.url, "the URL")  # the URL may carry a password
        return [
            f"database.url: cannot be used ({type(exc).__name__}: {reason});"
            " write it like sqlite+aiosqlite:///path/to/verifybot.db"
            " or postgresql+asyncpg://user@host/db"
        ]
    database = store.engine.url.database
    if store.dialect != "sqlite" or not database or database == ":memory:":
        return []
    folder = Path(database).expanduser().absolute().parent
    if not folder.is_dir():
        return [
            f"database.url: the folder {folder} for the SQLite file does not exist;"
            " create it or fix the path"
        ]
    return []


# --- identity checks --------------------------------------------------------------------------


def verification_checks(config: Config, environ: Mapping[str, str]) -> Findings:
    """Build the verification service's static pieces, exactly as the service does at start."""
    from bot.verification.links import LinkSigner
    from bot.verification.providers.moderator import ModeratorReview

    found = Findings()
    methods = config.methods
    if not methods.configured():
        return found
    secret = resolved(config.identity.hash_key, environ)
    if secret is None:
        return found  # missing: parse_config said so; unreadable: check_secrets said so
    try:
        key = ServerKey(secret)
    except WeakKeyError as exc:
        found.problems.append(str(exc).replace("identity.hash_key is", "identity.hash_key: it is"))
        return found
    try:
        LinkSigner(key, ttl=timedelta(minutes=config.identity.link_ttl_minutes))
    except ValueError as exc:
        found.problems.append(str(exc))
    if methods.oidc is not None:
        found.problems += _oidc_problems(config, key, environ)
    if methods.email_code is not None:
        found.add(_email_checks(config, key, environ))
    if methods.moderator is not None:
        ModeratorReview(methods.moderator, key=key)
    link_methods = [m for m in ("oidc", "email_code") if getattr(methods, m) is not None]
    if link_methods and not config.web.enabled:
        found.warnings.append(
            f"web.enabled: false, but members verify with {' and '.join(link_methods)} on its"
            " pages, so their verify links would lead nowhere; set enabled = true or remove"
            " those methods"
        )
    return found


def _oidc_problems(config: Config, key: ServerKey, environ: Mapping[str, str]) -> list[str]:
    from bot.verification.providers.oidc import (
        CALLBACK_PATH,
        OidcConfigError,
        OidcMethod,
        require_secure_url,
    )

    assert config.methods.oidc is not None
    base = config.web.base_url
    redirect = f"{base}{CALLBACK_PATH}"
    try:
        require_secure_url(redirect, "web.base_url")
    except OidcConfigError:
        return [
            f"web.base_url: {base!r} is plain http on a host other than loopback, but"
            f" [methods.oidc] sends members back to {CALLBACK_PATH} there, which must be https;"
            " use an https:// address (TLS in front of the web service) or remove [methods.oidc]"
        ]
    try:
        OidcMethod(
            config.methods.oidc,
            client_secret=resolved(config.methods.oidc.client_secret, environ),
            redirect_uri=redirect,
            key=key,
        )
    except ValueError as exc:
        return [f"methods.oidc: {exc}"]
    return []


def _email_checks(config: Config, key: ServerKey, environ: Mapping[str, str]) -> Findings:
    from bot.verification.providers.email_code import EmailCodeMethod

    settings = config.methods.email_code
    assert settings is not None
    found = Findings()
    try:
        EmailCodeMethod(
            settings,
            smtp_password=resolved(settings.smtp_password, environ),
            key=key,
            clock=time.time,
        )
    except ValueError as exc:
        found.problems.append(f"methods.email_code: {exc}")
    if not settings.sender.isprintable() or "@" not in settings.sender:
        found.problems.append(
            f"methods.email_code.sender: {settings.sender!r} is not an address the mail can come"
            ' from; write it like sender = "verifybot@your-domain.org", on one line'
        )
    if settings.smtp_username and settings.smtp_password is None:
        found.warnings.append(
            "methods.email_code.smtp_password: smtp_username is set but no password; add"
            ' smtp_password = { env = "VERIFYBOT_SMTP_PASSWORD" } or remove smtp_username'
        )
    return found


# --- placeholders left from config.example.toml -----------------------------------------------


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
