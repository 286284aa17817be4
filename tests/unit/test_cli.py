"""`check-config` is the truth: it refuses exactly what `run` refuses, with the same words.

Every bad configuration here must end with exit code 2, a message naming the key (or the file)
and no traceback, from both commands; `run` must refuse before it starts anything.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bot.cli
from bot.app import Application
from bot.cli import main
from bot.config import parse_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
EXAMPLE_ENV = {
    "VERIFYBOT_IDENTITY_KEY": "k" * 48,
    "VERIFYBOT_OIDC_CLIENT_SECRET": "s",
    "VERIFYBOT_SMTP_PASSWORD": "p",
    "VERIFYBOT_DISCORD_TOKEN": "t",
    "VERIFYBOT_MATRIX_TOKEN": "m",
}
OIDC = '[methods.oidc]\nissuer = "https://id.mine.test"\nclient_id = "c"\n'
KEY = '[identity]\nhash_key = { env = "VERIFYBOT_IDENTITY_KEY" }\n'

# name -> (what to write, text the message must hold)
BAD_FILES: dict[str, tuple[bytes, str]] = {
    "http base_url with oidc": (
        f'[web]\nbase_url = "http://verify.mine.test"\n{KEY}{OIDC}'.encode(),
        "web.base_url: 'http://verify.mine.test' is plain http",
    ),
    "weak hash_key": (
        b'[identity]\nhash_key = { env = "WEAK_KEY" }\n[methods.moderator]\n',
        "identity.hash_key: it is 5 bytes; use at least 32 random bytes",
    ),
    "NUL in a secret file path": (
        b'[discord]\ntoken = { file = "/tmp/a\\u0000b" }\n',
        "discord.token.file: cannot be a file name",
    ),
    "deep arrays": (
        b"a = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
        "line 1 (key 'a'): brackets or braces nested more than 32 levels deep",
    ),
    "deep inline tables": (
        b"a = " + b"{b = " * 5_000 + b"1" + b"}" * 5_000 + b"\n",
        "line 1 (key 'a'): brackets or braces nested more than 32 levels deep",
    ),
    "deep table headers": (
        b"[" + b".".join([b"a"] * 200) + b"]\n",
        "a.a.a.…: brackets or braces nested more than 32 levels deep",
    ),
    "binary file": (b"\x00\x01\xff\xfe" * 64, "is not UTF-8 text (byte 2 is not)"),
    "huge file": (b"# " + b"x" * (2 * 1024 * 1024), "is larger than 1024 KiB"),
    "matrix prefix with a space": (
        b'[matrix]\nhomeserver = "https://hs.test"\nuser_id = "@b:hs.test"\n'
        b'access_token = { env = "VERIFYBOT_MATRIX_TOKEN" }\ncommand_prefix = "! "\n',
        "matrix.command_prefix: '! ' cannot start a command",
    ),
    "discord gateway not a websocket": (
        b'[discord]\ntoken = { env = "VERIFYBOT_DISCORD_TOKEN" }\ngateway_url = "ftp://gw"\n',
        "discord.gateway_url: 'ftp://gw' is not an absolute ws or wss or http or https URL",
    ),
}


@pytest.fixture(autouse=True)
def example_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**EXAMPLE_ENV, "WEAK_KEY": "short"}.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def never_serve(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """`run` with networks replaced by a record of what it would have served."""
    served: list[object] = []

    async def serve(config: object, dry_run: bool) -> None:
        served.append(config)

    monkeypatch.setattr(bot.cli, "_serve", serve)
    return served


def both_refuse(path: Path, capsys: pytest.CaptureFixture[str], served: list[object]) -> str:
    """check-config and run both exit 2 with the same message; run starts nothing."""
    assert main(["check-config", str(path)]) == 2
    checked = capsys.readouterr()
    assert main(["run", "--config", str(path)]) == 2
    ran = capsys.readouterr()
    assert served == []
    assert checked.err == ran.err and "Traceback" not in checked.err
    return checked.err


@pytest.mark.parametrize("name", BAD_FILES)
def test_check_config_and_run_refuse_the_same_bad_file(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], never_serve: list[object]
) -> None:
    content, expected = BAD_FILES[name]
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    err = both_refuse(path, capsys, never_serve)
    assert err.startswith(f"verifybot: {path} has 1 problem(s):"), err
    assert expected in err, err


def test_a_directory_a_missing_file_and_an_unreadable_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    never_serve: list[object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert f"{tmp_path} is a directory; give the path of the config file itself" in both_refuse(
        tmp_path, capsys, never_serve
    )
    missing = tmp_path / "missing.toml"
    assert f"{missing} does not exist" in both_refuse(missing, capsys, never_serve)
    locked = tmp_path / "locked.toml"
    locked.write_text("")
    real_open = Path.open

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if self == locked:  # chmod 000 does not stop root, so refuse the way the OS would
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refuse)
    assert f"{locked} cannot be read (permission denied)" in both_refuse(
        locked, capsys, never_serve
    )


def test_a_secret_given_inline_as_a_string_is_never_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], never_serve: list[object]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[discord]\ntoken = "MTIz.secret-token"\n')
    err = both_refuse(path, capsys, never_serve)
    assert "discord.token: must be a table" in err and "secret-token" not in err


def test_the_example_passes_with_warnings_and_run_accepts_it_identically(
    capsys: pytest.CaptureFixture[str], never_serve: list[object]
) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    checked = capsys.readouterr()
    warnings = [line for line in checked.err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 13 and checked.err.count("\n") == 13
    assert "warning: web.base_url: 'https://verify.example.org' is an example value" in warnings[0]
    assert checked.out.strip().endswith("communities: 2; 13 warning(s)")
    assert main(["run", "--config", str(EXAMPLE)]) == 0
    ran = capsys.readouterr()
    assert len(never_serve) == 1  # run went on to serve
    for warning in warnings:  # ... and logged the same warnings first
        assert f"WARNING verifybot: {warning.removeprefix('warning: ')}" in ran.err


def test_migrate_refuses_a_bad_database_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--database-url", "mysql://db"]) == 2
    assert "database.url: use sqlite+aiosqlite" in capsys.readouterr().err
    nowhere = tmp_path / "no" / "m.db"
    assert main(["migrate", "--database-url", f"sqlite+aiosqlite:///{nowhere}"]) == 2
    assert "database.url: the folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "content", "expected"),
    [
        (["check-config"], "a = " + "[" * 100_000 + "]" * 100_000, "nested more than 32 levels"),
        (["run", "--config"], f'[web]\nbase_url = "http://v.mine.test"\n{KEY}{OIDC}', "plain http"),
    ],
)
def test_a_real_process_exits_2_without_a_traceback(
    command: list[str], content: str, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "bot", *command, str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **EXAMPLE_ENV},
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


async def test_a_second_stop_cuts_a_hanging_shutdown_short(monkeypatch: pytest.MonkeyPatch) -> None:
    async def hang() -> None:
        await asyncio.Event().wait()

    config = parse_config({"database": {"url": "sqlite+aiosqlite://"}, "web": {"enabled": False}})
    app = Application(config.config)
    monkeypatch.setattr(app, "connect", hang)  # a network that never answers
    monkeypatch.setattr(app, "stop", hang)  # a shutdown that never ends
    stop, force = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, stop.set)
    loop.call_later(0.4, force.set)
    async with asyncio.timeout(5):
        assert await app.serve(stop, force) is False
    await app.store.close()
