"""The static checks check-config and run share: each problem names the key, value and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.checks import static_checks
from bot.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
KEY = "k" * 48
ENV = {
    "VERIFYBOT_IDENTITY_KEY": KEY,
    "VERIFYBOT_OIDC_CLIENT_SECRET": "s",
    "VERIFYBOT_SMTP_PASSWORD": "p",
    "VERIFYBOT_DISCORD_TOKEN": "t",
    "VERIFYBOT_MATRIX_TOKEN": "m",
}
OIDC = {"issuer": "https://id.test", "client_id": "c"}
MATRIX = {"homeserver": "https://hs.test", "user_id": "@bot:hs.test", "access_token": {"env": "M"}}


def findings(data: dict[str, Any], env: dict[str, str] | None = None) -> tuple[str, str]:
    """(problems, warnings), each joined into one text to search."""
    found = static_checks(parse_config(data).config, {"K": KEY, "M": "m", "D": "d", **(env or {})})
    return "\n".join(found.problems), "\n".join(found.warnings)


def with_oidc(**web: Any) -> dict[str, Any]:
    return {"web": web, "identity": {"hash_key": {"env": "K"}}, "methods": {"oidc": OIDC}}


def test_the_example_passes_with_a_warning_for_each_placeholder() -> None:
    found = static_checks(load_config(ROOT / "config.example.toml").config, ENV)
    assert found.problems == []
    keys = [warning.split(":", 1)[0] for warning in found.warnings]
    assert keys == [
        "web.base_url",
        "methods.oidc.issuer",
        "methods.email_code.allowed_domains",
        "methods.email_code.sender",
        "matrix.homeserver",
        "matrix.user_id",
        "communities.0.id",
        "communities.0.log_channel",
        "communities.0.moderator_channel",
        "communities.0.channels",
        "communities.1.id",
        "communities.1.log_channel",
        "communities.1.moderator_channel",
    ]
    assert "'!mods:example.org' is an example value" in "\n".join(found.warnings)


def test_real_values_draw_no_placeholder_warning() -> None:
    problems, warnings = findings({**with_oidc(base_url="https://verify.mine.test")})
    assert problems == "" and warnings == ""


@pytest.mark.parametrize("base_url", ["http://verify.mine.test", "http://10.0.0.5:8080"])
def test_an_http_callback_address_is_refused_when_oidc_is_configured(base_url: str) -> None:
    problems, _ = findings(with_oidc(base_url=base_url))
    assert f"web.base_url: {base_url!r} is plain http" in problems
    assert "use an https:// address" in problems
    assert findings({"web": {"base_url": base_url}})[0] == ""  # without OIDC nothing is sent there


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]"])
def test_http_on_loopback_is_allowed_for_local_set_ups(base_url: str) -> None:
    assert findings(with_oidc(base_url=base_url))[0] == ""


def test_a_weak_identity_key_is_refused_without_showing_it() -> None:
    data = {"identity": {"hash_key": {"env": "WEAK"}}, "methods": {"moderator": {}}}
    problems, _ = findings(data, {"WEAK": "hunter2-secret"})
    assert "identity.hash_key: it is 14 bytes; use at least 32 random bytes" in problems
    assert "hunter2" not in problems


def test_secret_files_that_cannot_be_read_are_named(tmp_path: Path) -> None:
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00token")
    huge = tmp_path / "huge"
    huge.write_bytes(b"x" * 100_000)
    data = {
        "discord": {"token": {"file": str(binary)}},
        "matrix": {
            **MATRIX,
            "access_token": {"file": str(tmp_path)},
            "password": {"file": str(huge)},
        },
    }
    problems, _ = findings(data)
    assert f"discord.token: {binary} is not UTF-8 text" in problems
    assert f"matrix.access_token: {tmp_path} is a directory" in problems
    assert f"matrix.password: {huge} is larger than 64 KiB" in problems


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ({"file": "/tmp/a\u0000b"}, "discord.token.file: cannot be a file name"),
        ({"file": ""}, "discord.token.file: cannot be a file name"),
        ({"env": "NOT-A-NAME"}, "discord.token.env: not an environment variable name"),
        ("the-token-itself", 'discord.token: must be a table: { env = "VARIABLE" }'),
    ],
)
def test_secret_references_that_cannot_work_are_refused(secret: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"discord": {"token": secret}})
    assert any(problem.startswith(expected) for problem in caught.value.problems)
    assert "the-token-itself" not in "\n".join(caught.value.problems)


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ({"command_prefix": ""}, "matrix.command_prefix: '' cannot start a command"),
        ({"command_prefix": "! "}, "matrix.command_prefix: '! ' cannot start a command"),
        ({"homeserver": "https://hs.test/?x=1"}, "matrix.homeserver: 'https://hs.test/?x=1' has"),
        ({"homeserver": "https://hs.test:99999"}, "matrix.homeserver: 'https://hs.test:99999' is"),
        ({"allowed_inviters": ["admin"]}, "matrix.allowed_inviters: 'admin' is not a Matrix user"),
        ({"allowed_servers": ["https://hs"]}, "matrix.allowed_servers: 'https://hs' is not a"),
    ],
)
def test_matrix_settings_the_adapter_cannot_use(matrix: dict[str, Any], expected: str) -> None:
    assert expected in findings({"matrix": {**MATRIX, **matrix}})[0]


def test_matrix_access_token_with_a_line_break_is_refused_unseen() -> None:
    problems, _ = findings({"matrix": MATRIX}, {"M": "syt_abc\ndef"})
    assert "matrix.access_token: the token holds spaces, line breaks" in problems
    assert "syt_abc" not in problems


def test_matrix_rooms_are_known_by_id_not_alias() -> None:
    community = {"network": "matrix", "id": "#space:hs.test", "log_channel": "!log:hs.test"}
    problems, _ = findings({"matrix": MATRIX, "communities": [community]})
    assert "communities.0.id: '#space:hs.test' is not a room id" in problems
    assert "log_channel" not in problems


def test_matrix_prefix_a_client_would_eat_draws_a_warning_and_a_path_is_fine() -> None:
    problems, warnings = findings(
        {"matrix": {**MATRIX, "command_prefix": "/", "homeserver": "https://hs.test/matrix"}}
    )
    assert problems == ""
    assert "matrix.command_prefix: '/' starts with /" in warnings


@pytest.mark.parametrize(
    ("discord", "expected"),
    [
        ({"api_base": "ftp://api.test"}, "discord.api_base: 'ftp://api.test' is not an absolute"),
        ({"gateway_url": "gateway"}, "discord.gateway_url: 'gateway' is not an absolute ws"),
        ({"command_guilds": ["my guild"]}, "discord.command_guilds: 'my guild' is not an id"),
        ({"badge_role_name": ""}, "discord.badge_role_name: '' cannot be a role name"),
    ],
)
def test_discord_settings_the_adapter_cannot_use(discord: dict[str, Any], expected: str) -> None:
    assert expected in findings({"discord": {"token": {"env": "D"}, **discord}})[0]


def test_discord_ids_must_be_numbers_and_tokens_come_alone() -> None:
    community = {"network": "discord", "id": "guild", "channels": {"general": "read_only"}}
    data = {"discord": {"token": {"env": "D"}}, "communities": [community]}
    problems, _ = findings(data, {"D": "Bot abc.def"})
    assert "communities.0.id: 'guild' is not an id" in problems
    assert "communities.0.channels: 'general' is not an id" in problems
    assert 'discord.token: starts with "Bot "' in problems


def test_a_loopback_discord_api_is_allowed_with_a_warning() -> None:
    problems, warnings = findings(
        {"discord": {"token": {"env": "D"}, "gateway_url": "ws://127.0.0.1:9", "api_base": None}}
    )
    assert problems == ""
    assert "discord.gateway_url: points the bot at ws://127.0.0.1:9 instead of Discord" in warnings


def test_database_urls_that_cannot_open_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "bot.db"
    problems, _ = findings({"database": {"url": f"sqlite+aiosqlite:///{missing}"}})
    assert (
        f"database.url: the folder {missing.parent} for the SQLite file does not exist" in problems
    )
    secret_url = "postgresql+asyncpg://bot:pw-secret@db.test:port/bot"
    problems, _ = findings({"database": {"url": secret_url}})
    assert problems.startswith("database.url: cannot be used (")
    assert "pw-secret" not in problems


def test_email_code_sender_and_password(tmp_path: Path) -> None:
    email = {"allowed_domains": ["mine.test"], "sender": "bot@mine.test\nBcc: x@y.test"}
    data = {"identity": {"hash_key": {"env": "K"}}, "methods": {"email_code": email}}
    problems, _ = findings(data)
    assert (
        "methods.email_code.sender: 'bot@mine.test\\nBcc: x@y.test' is not an address" in problems
    )
    email = {"allowed_domains": ["mine.test"], "smtp_username": "bot"}
    data = {"identity": {"hash_key": {"env": "K"}}, "methods": {"email_code": email}}
    assert "smtp_username is set but no password" in findings(data)[1]


def test_link_methods_without_the_web_service_draw_a_warning() -> None:
    assert (
        "web.enabled: false, but members verify with oidc on its pages"
        in findings(with_oidc(enabled=False))[1]
    )
