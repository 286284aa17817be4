"""Configuration: the example is valid, bad configs are refused with every problem named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, SecretRef, check_secrets, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ENV = {
    "VERIFYBOT_IDENTITY_KEY": "k" * 48,
    "VERIFYBOT_OIDC_CLIENT_SECRET": "s",
    "VERIFYBOT_SMTP_PASSWORD": "p",
    "VERIFYBOT_DISCORD_TOKEN": "t",
    "VERIFYBOT_MATRIX_TOKEN": "m",
}


def problems_of(data: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.problems


def test_the_example_config_is_valid_and_has_no_inline_secret() -> None:
    loaded = load_config(ROOT / "config.example.toml")
    assert loaded.warnings == []
    assert check_secrets(loaded.config, EXAMPLE_ENV) == []
    assert loaded.config.methods.configured() == ["oidc", "email_code", "moderator"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"database": {"url": "mysql://db"}}, "database.url: use sqlite+aiosqlite"),
        (
            {"database": {"pool_size": 0}},
            "database.pool_size: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            {"web": {"base_url": "verify.example.org"}},
            "web.base_url: must be an absolute http(s) URL",
        ),
        ({"webb": {}}, "webb: unknown setting"),
        (
            {"defaults": {"policy": "closed"}},
            "defaults.policy: Input should be 'open', 'limited', 'read_only' or 'verified_only'",
        ),
        (
            {"identity": {"expiry_days": 10, "reminder_days": 14}},
            "reminder_days (14) must be below expiry_days (10)",
        ),
        (
            {"methods": {"moderator": {}}},
            "identity.hash_key: required when any method is configured",
        ),
        (
            {
                "identity": {"hash_key": {"env": "K"}},
                "methods": {"moderator": {}},
                "defaults": {"methods": ["oidc"]},
            },
            "defaults.methods: 'oidc' is accepted but not configured; add a [methods.oidc] section",
        ),
        (
            {
                "identity": {"hash_key": {"env": "K"}},
                "methods": {"moderator": {}},
                "communities": [
                    {"network": "matrix", "id": "!a:hs", "accepted_levels": ["identity"]}
                ],
            },
            "communities.0.accepted_levels: no configured method proves level 'identity'",
        ),
        (
            {"communities": [{"network": "discord", "id": "1"}]},
            "communities.0.network: 'discord' has no [discord] section",
        ),
        (
            {
                "methods": {
                    "oidc": {
                        "issuer": "https://id",
                        "client_id": "c",
                        "allowed_algorithms": ["HS256"],
                    }
                },
                "identity": {"hash_key": {"env": "K"}},
            },
            "HS256 not allowed",
        ),
        (
            {
                "methods": {"email_code": {"allowed_domains": ["@@bad"]}},
                "identity": {"hash_key": {"env": "K"}},
            },
            "allowed_domains: not a domain: bad",
        ),
        (
            {"matrix": {"homeserver": "https://hs", "user_id": "bot"}},
            "matrix.user_id: must be a full Matrix user id",
        ),
        ({"matrix": {"homeserver": "https://hs", "user_id": "@bot:hs"}}, "give access_token"),
        (
            {"discord": {"token": {"env": "A", "file": "/b"}}},
            "discord.token: give exactly one of env",
        ),
    ],
)
def test_bad_configs_name_the_key_and_the_fix(data: dict[str, object], expected: str) -> None:
    assert any(expected in problem for problem in problems_of(data)), problems_of(data)


def test_all_problems_are_reported_at_once() -> None:
    found = problems_of(
        {"database": {"url": "x", "pool_size": 0}, "web": {"base_url": "y"}, "typo": 1}
    )
    assert len(found) == 4


def test_inline_secrets_draw_a_warning() -> None:
    loaded = parse_config({"discord": {"token": {"value": "abc"}}})
    assert loaded.warnings and loaded.warnings[0].startswith(
        "discord.token: the secret is written inline"
    )


def test_secrets_resolve_from_env_and_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-file\n")
    assert SecretRef(file=secret).resolve({}) == "from-file"
    assert SecretRef(env="X").resolve({"X": "from-env"}) == "from-env"
    with pytest.raises(ConfigError, match="environment variable X is not set"):
        SecretRef(env="X").resolve({})


def test_check_config_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(key, value)
    assert main(["check-config", str(ROOT / "config.example.toml")]) == 0
    assert "ok" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[database]\nurl = "mysql://x"\n[defaults]\npolicy = "closed"\n')
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err and "database.url" in err and "defaults.policy" in err
    broken = tmp_path / "broken.toml"
    broken.write_text("[database\n")
    assert main(["check-config", str(broken)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    monkeypatch.delenv("VERIFYBOT_MATRIX_TOKEN")
    assert main(["check-config", str(ROOT / "config.example.toml")]) == 2
    assert (
        "matrix.access_token: environment variable VERIFYBOT_MATRIX_TOKEN is not set"
        in capsys.readouterr().err
    )


def test_console_entry_points_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[web]\nbase_url = "nope"\n')
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "web.base_url" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "--config" in result.stderr


def test_migrate_command_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/m.db"
    assert main(["migrate", "--database-url", url]) == 0
    assert (tmp_path / "m.db").exists()


def test_every_name_imported_from_bot_config_is_exported() -> None:
    """bot.config is a package whose parts may move; what the code imports from it stays."""
    import ast

    import bot.config

    wanted: set[str] = set()
    for folder in ("bot", "cogs", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            if "node_modules" in path.parts or (ROOT / "bot" / "config") in path.parents:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == "bot.config":
                    wanted.update(alias.name for alias in node.names)
    assert {"Config", "ConfigError", "SecretRef", "parse_config"} <= wanted  # the scan works
    assert sorted(n for n in wanted if n not in bot.config.__all__) == []
