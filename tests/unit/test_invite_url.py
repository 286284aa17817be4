"""`verifybot invite-url`: the link an admin opens asks for exactly the permissions the bot
uses, says why for each, and pre-selects the configured server; a missing token or a wrong id is
a clear message, never a traceback."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from bot.adapters.discord.invite import NEEDED, InviteError, application_id_from_token
from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "discord.toml"
BOT_ID = "1180123456789012345"


def bot_token(user_id: str = BOT_ID) -> str:
    """A token shaped as Discord issues them: base64 of the bot's id, a timestamp, a MAC."""
    first = base64.b64encode(user_id.encode()).decode().rstrip("=")
    return f"{first}.GhJkLm.{'x' * 38}"


def printed_link(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, list[str]], str]:
    out = capsys.readouterr().out
    return parse_qs(urlsplit(out.splitlines()[0]).query), out


def test_the_link_asks_for_what_the_bot_uses_and_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFYBOT_DISCORD_TOKEN", bot_token())
    assert main(["invite-url", "--config", str(EXAMPLE)]) == 0
    query, out = printed_link(capsys)
    assert query["client_id"] == [BOT_ID]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    names = {flag for flag, on in granted if on}
    assert names == {
        "read_messages",  # discord.py's name for View Channels
        "send_messages",
        "send_messages_in_threads",
        "read_message_history",
        "manage_messages",
        "manage_roles",
        "manage_channels",
        "manage_guild",
    }
    assert not granted.administrator and not granted.ban_members and not granted.kick_members
    # the one configured server is chosen for the admin
    assert query["guild_id"] == ["123456789012345678"]
    assert query["disable_guild_select"] == ["true"]
    for needed in NEEDED:
        assert f"  - {needed.name}: {needed.why}" in out
    assert f"Permissions ({granted.value})" in out


def test_several_servers_leave_the_choice_to_the_admin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "two.toml"
    config.write_text(
        '[discord]\ntoken = { value = "unused" }\n'
        '[[communities]]\nnetwork = "discord"\nid = "1"\n'
        '[[communities]]\nnetwork = "discord"\nid = "2"\n'
    )
    assert main(["invite-url", "--config", str(config), "--client-id", BOT_ID]) == 0
    query, _ = printed_link(capsys)
    assert query["client_id"] == [BOT_ID] and "guild_id" not in query


def test_without_the_token_it_says_which_variable_and_the_other_way(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("VERIFYBOT_DISCORD_TOKEN", raising=False)
    assert main(["invite-url", "--config", str(EXAMPLE)]) == 2
    err = capsys.readouterr().err
    assert "discord.token: environment variable VERIFYBOT_DISCORD_TOKEN is not set" in err
    assert "--client-id" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--client-id", "my-bot"], "is not an application id"),
        (["--client-id", "1" * 21], "is not an application id"),
    ],
)
def test_a_wrong_id_is_refused_in_words(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invite-url", "--config", str(EXAMPLE), *args]) == 2
    assert said in capsys.readouterr().err


@pytest.mark.parametrize("token", ["not-a-token", "", "....", "aGVsbG8.x.y", "Bot abc.def.ghi"])
def test_a_token_that_names_no_bot_is_refused(token: str) -> None:
    with pytest.raises(InviteError, match="--client-id"):
        application_id_from_token(token)


def test_a_matrix_only_config_is_told_it_is_for_discord(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["invite-url", "--config", str(ROOT / "examples" / "matrix.toml")]) == 2
    assert "no [discord] section" in capsys.readouterr().err
