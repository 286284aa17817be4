"""`verifybot run` as an admin would start it: it migrates, serves, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_run_starts_migrates_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n[web]\nenabled = false\n'
        '[logging]\nlevel = "INFO"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config), "--dry-run"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if "verifybot is running (dry run)" in line:
            break
    assert any("verifybot is running (dry run)" in line for line in seen), "".join(seen)
    assert db.exists()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_run_serves_health_and_metrics(tmp_path: Path) -> None:
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/bot.db"\n'
        f'[web]\nlisten_port = {port}\nbase_url = "http://127.0.0.1:{port}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "verifybot is running" not in proc.stderr.readline():
            pass
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as answer:
            assert answer.status == 200 and answer.read() == b"ok"
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as answer:
            assert b"verifybot_cache_hits" in answer.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
