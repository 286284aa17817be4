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
