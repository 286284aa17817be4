"""discord.shard_count and discord.shard_ids: what check-config and run refuse, in words that name
the key and the fix, and which guilds a process then owns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import bot.cli
from bot.adapters.discord.shards import ShardPlan, shard_of
from bot.checks import static_checks
from bot.cli import main
from bot.config import parse_config

TOKEN = {"env": "D"}


def findings(discord: dict[str, Any], database: str | None = None) -> tuple[str, str]:
    data: dict[str, Any] = {"discord": {"token": TOKEN, **discord}}
    if database is not None:
        data["database"] = {"url": database}
    found = static_checks(parse_config(data).config, {"D": "d"})
    return "\n".join(found.problems), "\n".join(found.warnings)


@pytest.mark.parametrize(
    ("discord", "expected"),
    [
        (
            {"shard_count": 0},
            "discord.shard_count: 0 cannot be a number of shards; give 1 or more",
        ),
        (
            {"shard_ids": [0]},
            "discord.shard_ids: needs discord.shard_count, the total number of shards across all"
            " processes; add shard_count = N to [discord]",
        ),
        (
            {"shard_count": 2, "shard_ids": [1, 2, -1]},
            "discord.shard_ids: -1, 2 are not between 0 and 1 (shard_count = 2)",
        ),
        (
            {"shard_count": 4, "shard_ids": [3, 1, 3]},
            "discord.shard_ids: 3 is listed more than once; give each shard once",
        ),
        ({"shard_count": 2, "shard_ids": []}, "discord.shard_ids: is empty; list the shards"),
    ],
)
def test_shard_settings_discord_would_refuse(discord: dict[str, Any], expected: str) -> None:
    problems, _ = findings(discord)
    assert expected in problems, problems


def test_a_share_of_the_shards_on_sqlite_draws_a_warning_and_postgresql_none() -> None:
    problems, warnings = findings({"shard_count": 2, "shard_ids": [1]})
    assert problems == ""
    assert "discord.shard_ids: this process runs shards 1 of 2" in warnings
    assert "use PostgreSQL" in warnings
    pg = "postgresql+asyncpg://bot@127.0.0.1/bot"
    assert findings({"shard_count": 2, "shard_ids": [1]}, pg) == ("", "")
    assert findings({"shard_count": 2}) == ("", "")  # one process, every shard


def test_check_config_and_run_refuse_bad_shards_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[object] = []

    async def serve(config: object, dry_run: bool) -> None:
        served.append(config)

    monkeypatch.setattr(bot.cli, "_serve", serve)
    monkeypatch.setenv("VERIFYBOT_DISCORD_TOKEN", "t")
    path = tmp_path / "config.toml"
    path.write_text(
        '[discord]\ntoken = { env = "VERIFYBOT_DISCORD_TOKEN" }\nshard_count = 2\n'
        "shard_ids = [0, 2]\n"
    )
    assert main(["check-config", str(path)]) == 2
    checked = capsys.readouterr().err
    assert main(["run", "--config", str(path)]) == 2
    assert capsys.readouterr().err == checked and served == []
    assert "discord.shard_ids: 2 is not between 0 and 1 (shard_count = 2)" in checked
    assert "Traceback" not in checked


def test_the_plan_owns_the_guilds_discord_routes_to_its_shards() -> None:
    settings = parse_config({"discord": {"token": TOKEN, "shard_count": 3, "shard_ids": [0, 2]}})
    assert settings.config.discord is not None
    plan = ShardPlan.of(settings.config.discord)
    assert plan == ShardPlan(3, (0, 2)) and plan.label == "0,2 of 3"
    guilds = [(ms << 22) | 5 for ms in range(9)]
    assert [shard_of(g, 3) for g in guilds] == [0, 1, 2] * 3
    assert [plan.owns(g) for g in guilds[:3]] == [True, False, True]
    every = parse_config({"discord": {"token": TOKEN, "shard_count": 2}}).config.discord
    assert every is not None and ShardPlan.of(every) == ShardPlan(2, (0, 1))
    plain = parse_config({"discord": {"token": TOKEN}}).config.discord
    assert plain is not None and ShardPlan.of(plain) is None
