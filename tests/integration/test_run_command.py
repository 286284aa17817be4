"""`verifybot run` as an admin would start it: it migrates, serves, logs what it does, and stops
cleanly on SIGINT or SIGTERM at any moment, even while a homeserver never answers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

LIBRARY_CHATTER = ("alembic", "Context impl", "Will assume", "Running upgrade", "nio.", "discord.")


class Bot:
    """`python -m bot run` in a real process, its stderr read line by line."""

    def __init__(self, config: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config), *extra],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "VERIFYBOT_MATRIX_TOKEN": "token"},
        )
        self.lines: list[str] = []

    def wait_for(self, text: str, seconds: float = 60) -> None:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} in:\n{''.join(self.lines)}")

    def stop(self, *signals: signal.Signals, within: float = 10) -> tuple[int, str]:
        """Send the signals (50 ms apart); the exit code and everything it wrote."""
        began = time.monotonic()
        for sig in signals:
            self.proc.send_signal(sig)
            time.sleep(0.05)
        assert self.proc.stderr is not None
        rest = self.proc.stderr.read()
        code = self.proc.wait(timeout=within)
        assert time.monotonic() - began < within
        return code, "".join(self.lines) + rest


def write_config(tmp_path: Path, extra: str = "", web: str = "enabled = false") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/bot.db"\n[web]\n{web}\n{extra}'
    )
    return config


@pytest.fixture
def silent_homeserver() -> Iterator[tuple[int, threading.Event]]:
    """A loopback port that accepts connections and never answers (a hung homeserver)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()
    for conn in held:
        conn.close()


def test_run_starts_migrates_logs_what_it_does_and_stops_on_sigterm(tmp_path: Path) -> None:
    bot = Bot(write_config(tmp_path, '[logging]\nlevel = "INFO"\n'), "--dry-run")
    bot.wait_for("verifybot is running (dry run)")
    assert (tmp_path / "bot.db").exists()
    code, output = bot.stop(signal.SIGTERM)
    assert code == 0, output
    assert "INFO bot.app: database schema is up to date (revision " in output
    assert "SIGTERM received: stopping" in output and "verifybot stopped" in output
    chatter = [line for line in output.splitlines() if any(c in line for c in LIBRARY_CHATTER)]
    assert chatter == [], output


def test_debug_shows_library_detail_and_json_lines_are_json(tmp_path: Path) -> None:
    bot = Bot(write_config(tmp_path, '[logging]\nlevel = "DEBUG"\njson_lines = true\n'))
    bot.wait_for("verifybot is running")
    code, output = bot.stop(signal.SIGINT)
    assert code == 0, output
    records = [json.loads(line) for line in output.splitlines()]
    assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)
    assert any(r["logger"].startswith("alembic") for r in records)
    assert {"logger": "verifybot", "level": "INFO", "message": "verifybot stopped"} in [
        {key: r[key] for key in ("logger", "level", "message")} for r in records
    ]


def test_the_json_logs_flag_turns_a_text_config_into_json_lines(tmp_path: Path) -> None:
    bot = Bot(write_config(tmp_path, '[logging]\nlevel = "INFO"\n'), "--json-logs")
    bot.wait_for("verifybot is running")
    code, output = bot.stop(signal.SIGTERM)
    assert code == 0, output
    records = [json.loads(line) for line in output.splitlines()]
    assert "verifybot stopped" in [r["message"] for r in records]
    assert {r["level"] for r in records} <= {"INFO", "WARNING"}


@pytest.mark.parametrize("signals", [[signal.SIGINT], [signal.SIGINT, signal.SIGINT]])
def test_a_signal_stops_a_start_stuck_on_a_silent_homeserver(
    signals: list[signal.Signals],
    tmp_path: Path,
    silent_homeserver: tuple[int, threading.Event],
) -> None:
    port, accepted = silent_homeserver
    matrix = (
        f'[matrix]\nhomeserver = "http://127.0.0.1:{port}"\nuser_id = "@bot:localhost"\n'
        'access_token = { env = "VERIFYBOT_MATRIX_TOKEN" }\n'
    )
    bot = Bot(write_config(tmp_path, matrix))
    bot.wait_for(f"connecting to Matrix at http://127.0.0.1:{port}")
    assert accepted.wait(10), "the bot never reached the homeserver"
    time.sleep(0.5)  # it now waits for an answer that never comes
    code, output = bot.stop(*signals)
    assert code == 0, output
    assert "SIGINT received: stopping" in output
    assert "Traceback" not in output and "verifybot is running" not in output


def test_run_serves_health_and_metrics(tmp_path: Path) -> None:
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    web = f'listen_port = {port}\nbase_url = "http://127.0.0.1:{port}"'
    bot = Bot(write_config(tmp_path, web=web))
    try:
        bot.wait_for("verifybot is running")
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as answer:
            assert answer.status == 200 and answer.read() == b"ok"
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as answer:
            assert b"verifybot_cache_lookups_total" in answer.read()
    finally:
        code, output = bot.stop(signal.SIGTERM)
    assert code == 0, output
