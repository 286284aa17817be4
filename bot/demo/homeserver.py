"""A throwaway Synapse homeserver on 127.0.0.1, started from the running interpreter.

The demo and the test suite both use it: SQLite in a directory of their own, registration only
through the shared secret (`accounts.py`), no federation, nothing that phones out, and every rate
limit out of the way (a scripted story and a test act faster than people do). Synapse runs in its
own session, so a Ctrl-C in the terminal reaches only us and we stop it in order; and it is told
to die with its parent, so even a killed parent leaves no homeserver behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_NAME = "localhost"
LOOPBACK = "127.0.0.1"

JsonDict = dict[str, Any]


def free_port() -> int:
    """A port nobody listens on right now (there is a small race; start_synapse retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _rate_limit(per_second: float = 10_000, burst_count: int = 100_000) -> JsonDict:
    return {"per_second": per_second, "burst_count": burst_count}


def synapse_config(
    directory: Path,
    port: int,
    shared_secret: str,
    *,
    server_name: str = SERVER_NAME,
    max_upload_size: str = "10M",
    modules: list[JsonDict] | None = None,
) -> JsonDict:
    """A homeserver config: loopback only, no federation, nothing that phones out. `modules`:
    Synapse modules to load (`homeserver.yaml`'s `modules:` list), e.g. synapse-http-antispam.

    Written as JSON (a subset of YAML) so no YAML library is needed to produce it.
    """
    limit = _rate_limit()
    return {
        "modules": modules or [],
        "server_name": server_name,
        "public_baseurl": f"http://{LOOPBACK}:{port}/",
        "pid_file": str(directory / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": [LOOPBACK],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                # client only: no federation (and no key server) resource at all
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "log_config": str(directory / "log.config.yaml"),
        "media_store_path": str(directory / "media"),
        "max_upload_size": max_upload_size,
        "signing_key_path": str(directory / "signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "report_stats": False,
        "enable_metrics": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "enable_registration": False,
        # registration hashes the password; the default 12 rounds cost ~0.2 s per account
        "bcrypt_rounds": 4,
        "user_directory": {"enabled": False},
        "rc_message": limit,
        "rc_registration": limit,
        "rc_registration_token_validity": limit,
        "rc_login": {"address": limit, "account": limit, "failed_attempts": limit},
        "rc_admin_redaction": limit,
        "rc_joins": {"local": limit, "remote": limit},
        "rc_joins_per_room": limit,
        "rc_3pid_validation": limit,
        "rc_invites": {"per_room": limit, "per_user": limit, "per_issuer": limit},
        "rc_third_party_invite": limit,
        "rc_media_create": limit,
        "rc_presence": {"per_user": limit},
        "rc_delayed_event_mgmt": limit,
        "rc_room_creation": limit,
        "rc_reports": limit,
        "rc_user_directory": limit,
        "rc_profile": limit,
        "rc_key_requests": limit,
        "rc_federation": {"window_size": 1000, "sleep_limit": 10_000, "reject_limit": 100_000},
    }


def _log_config(log_file: Path) -> JsonDict:
    return {
        "version": 1,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "plain",
                "filename": str(log_file),
                "encoding": "utf8",
            }
        },
        "loggers": {"synapse.storage.SQL": {"level": "WARNING"}},
        "root": {"level": "INFO", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


@dataclass
class SynapseServer:
    """A running homeserver and what its users need to reach it."""

    base_url: str
    server_name: str
    shared_secret: str
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def log_file(self) -> Path:
        return self.directory / "homeserver.log"

    def log_tail(self, lines: int = 40) -> str:
        texts = []
        for path in (self.log_file, self.directory / "stderr.log"):
            with contextlib.suppress(OSError):
                texts.append(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(line for text in texts for line in text)

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"


def die_with_parent() -> None:
    """Runs in the child: if the parent is killed outright, the kernel ends Synapse too."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def wait_until_up(server: SynapseServer, deadline: float) -> None:
    """Until the homeserver answers; fails with its log when it exits or takes too long."""
    url = f"{server.base_url}/_matrix/client/versions"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"Synapse exited with code {server.process.returncode} before it answered:\n"
                + server.log_tail()
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"Synapse did not answer {url} in time:\n{server.log_tail()}")


def start_synapse(
    directory: Path,
    *,
    python: str = sys.executable,
    timeout: float = 60.0,
    attempts: int = 3,
    max_upload_size: str = "10M",
    modules: list[JsonDict] | None = None,
) -> SynapseServer:
    """Write a config into `directory`, generate keys, start Synapse and wait until it answers.

    The port is picked free just before the start; if another process grabs it in between,
    Synapse exits and we try again on a new port. Blocking: call it from a thread in async code.
    """
    directory.mkdir(parents=True, exist_ok=True)
    shared_secret = secrets.token_hex(16)
    last_error: Exception | None = None
    for attempt in range(attempts):
        port = free_port()
        config_path = directory / "homeserver.yaml"
        config = synapse_config(
            directory, port, shared_secret, max_upload_size=max_upload_size, modules=modules
        )
        config_path.write_text(json.dumps(config, indent=1))
        (directory / "log.config.yaml").write_text(
            json.dumps(_log_config(directory / "homeserver.log"))
        )
        base_cmd = [python, "-m", "synapse.app.homeserver", "--config-path", str(config_path)]
        if attempt == 0:
            subprocess.run(
                [*base_cmd, "--generate-keys"],
                check=True,
                cwd=directory,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=timeout,
            )
        server = SynapseServer(
            base_url=f"http://{LOOPBACK}:{port}",
            server_name=SERVER_NAME,
            shared_secret=shared_secret,
            directory=directory,
            process=launch(base_cmd, directory),
        )
        try:
            wait_until_up(server, time.monotonic() + timeout)
            return server
        except (RuntimeError, TimeoutError) as exc:
            last_error = exc
            stop_synapse(server)
    assert last_error is not None
    raise last_error


def launch(command: list[str], directory: Path, *, append: bool = False) -> subprocess.Popen[bytes]:
    """Start the homeserver process (also used to start it again after a stop)."""
    with open(directory / "stderr.log", "ab" if append else "wb") as stderr:
        return subprocess.Popen(
            command,
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,  # only sets a kernel flag
            start_new_session=True,  # a terminal's Ctrl-C is ours to pass on, in order
        )


def stop_synapse(server: SynapseServer, timeout: float = 15.0) -> None:
    """Stop Synapse politely, then firmly; never leaves the process behind."""
    process = server.process
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
