"""`verifybot demo` as a newcomer runs it: a real Synapse, a mail catcher, the bot and a story.

The transcript is read as a person reads it: each feature is seen to happen, in words. After the
demo ends, by itself (`--no-wait`) or on Ctrl-C, nothing it started is still running and its
temporary directory is gone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.synapse

ROOT = Path(__file__).resolve().parents[2]
DEMO = [sys.executable, "-m", "bot", "demo"]


def demo_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def started(transcript: str) -> tuple[int, Path]:
    """Synapse's process id and the demo's directory, as the transcript names them."""
    found = re.search(r"\(process (\d+)\) on http://127\.0\.0\.1:\d+.*?in (\S+)", transcript, re.S)
    assert found, transcript
    return int(found.group(1)), Path(found.group(2))


def running_under(directory: Path) -> list[str]:
    """Every process whose command line names the demo's directory."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(directory) in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_nothing_left(transcript: str) -> None:
    pid, directory = started(transcript)
    assert not alive(pid), f"Synapse (process {pid}) is still running"
    assert running_under(directory) == []
    assert not directory.exists()


def test_the_demo_tells_the_whole_story_and_leaves_nothing_running() -> None:
    done = subprocess.run(
        [*DEMO, "--no-wait"],
        cwd=ROOT,
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = " ".join(done.stdout.split())  # read as sentences, however the lines were wrapped
    # verified by e-mail: the code read from the captured mail, the page says so
    assert "alice's inbox (the local mail catcher)" in out
    assert "alice types the code; the page says: You are verified" in out
    # verified through a moderator's review, approved in the moderators' room
    assert "verifybot → #moderators: @bob:localhost asks to be verified by a moderator" in out
    assert "mod in #moderators: !approve @bob:localhost" in out
    assert "verifybot → bob: You are verified (checked by a moderator)" in out
    # the badge, as another member's client shows it
    assert "carol's client: alice is at power level 1 in #general — the Verified badge" in out
    assert "carol's client: bob is at power level 1 in #general — the Verified badge" in out
    # a filter holds an unverified reply, and !held shows it
    assert "alice in #general: !filter replies" in out
    assert "alice's client: verifybot removed the message" in out
    assert "bot log: held a message in Demo Community for a member who filters it" in out
    assert "verifybot → alice: Held for you (1):" in out
    assert "“Nobody wants your picnic.”" in out
    # a room set read_only, refused by the homeserver itself
    assert "admin in #general: !policy announcements read_only" in out
    assert "is now read only" in out
    assert "the homeserver refuses carol's message (M_FORBIDDEN)" in out
    # a report filed and resolved
    assert "bob in #general (a reply): !report spam" in out
    assert "verifybot → #moderators: Report #1: spam." in out
    assert "mod in #moderators: !resolve 1 removed" in out
    assert "Report #1 was resolved by @mod:localhost: removed." in out
    assert "have looked at your report #1 (spam) and removed the message" in out
    # the member's data exported, then erased, and the badge gone
    assert "alice downloads verifybot-my-data.json: rows about her in" in out
    assert "verifybot → alice: Done: I erased everything" in out
    assert "alice has no power level of their own in #general any more — no badge" in out
    assert "The story took" in out
    assert "stopped; nothing left running" in out
    assert_nothing_left(done.stdout)


def test_ctrl_c_stops_everything_while_it_keeps_running() -> None:
    demo = subprocess.Popen(
        DEMO, cwd=ROOT, env=demo_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert demo.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C to stop everything" in line:
                break
        out = "".join(lines)
        assert "Press Ctrl-C to stop everything" in out, out
        assert re.search(r"@alice:localhost +password \S+", out), out
        assert "Homeserver  http://127.0.0.1:" in out
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, out + rest
    assert "SIGINT: stopping" in rest
    assert_nothing_left(out + rest)
