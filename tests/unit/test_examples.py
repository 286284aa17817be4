"""The single-network examples in examples/ are what a README reader starts from: each passes
`check-config` once its secrets are exported, and names every value the reader must replace."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def secrets_exported(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VERIFYBOT_DISCORD_TOKEN", "VERIFYBOT_MATRIX_TOKEN", "VERIFYBOT_SMTP_PASSWORD"):
        monkeypatch.setenv(name, "secret-from-the-environment")
    monkeypatch.setenv("VERIFYBOT_IDENTITY_KEY", "k" * 48)


@pytest.mark.parametrize(
    ("name", "network", "placeholders"),
    [
        ("discord.toml", "discord", ["communities.0.id", "communities.0.moderator_channel"]),
        ("matrix.toml", "matrix", ["matrix.homeserver", "communities.0.id", "allowed_domains"]),
    ],
)
def test_an_example_passes_and_names_what_to_replace(
    name: str, network: str, placeholders: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(EXAMPLES / name)]) == 0
    said = capsys.readouterr()
    assert f"networks: {network};" in said.out
    for key in placeholders:
        assert f"{key}: " in said.err and "is an example value" in said.err


def test_an_example_without_its_secrets_says_which_to_export(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("VERIFYBOT_DISCORD_TOKEN")
    assert main(["check-config", str(EXAMPLES / "discord.toml")]) == 2
    assert "VERIFYBOT_DISCORD_TOKEN is not set" in capsys.readouterr().err
