"""A throwaway Synapse homeserver on loopback, and a small client that acts as a member.

Kept apart from the pytest fixture (tests/fixtures/synapse.py) so benchmarks and later issues can
start a server and drive members without pytest. Everything here talks to 127.0.0.1 only.

The member client speaks the client-server API directly (aiohttp) rather than through matrix-nio,
so tests observe the homeserver exactly as another person's client would, independent of the
library the adapter under test uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import inspect
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

SERVER_NAME = "localhost"
_LOOPBACK = "127.0.0.1"

JsonDict = dict[str, Any]


# --- the homeserver -----------------------------------------------------------------------------


def free_port() -> int:
    """A port nobody listens on right now (there is a small race; start_synapse retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _rate_limit(per_second: float = 10_000, burst_count: int = 100_000) -> JsonDict:
    return {"per_second": per_second, "burst_count": burst_count}


def synapse_config(directory: Path, port: int, shared_secret: str) -> JsonDict:
    """A homeserver config for tests: loopback only, no federation, nothing that phones out.

    Written as JSON (a subset of YAML) so no YAML library is needed to produce it.
    """
    limit = _rate_limit()
    return {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://{_LOOPBACK}:{port}/",
        "pid_file": str(directory / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": [_LOOPBACK],
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
        # registration hashes the password; the default 12 rounds cost ~0.2 s per user
        "bcrypt_rounds": 4,
        "user_directory": {"enabled": False},
        # every rate limit out of the way: tests act faster than people do
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
    """A running homeserver and what tests need to reach it."""

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

    async def register(
        self, localpart: str, *, admin: bool = False, password: str | None = None
    ) -> Registered:
        """Create an account through the shared-secret admin API; returns its access token."""
        return await register_user(self, localpart, admin=admin, password=password)


def _die_with_parent() -> None:
    """Runs in the child: if pytest is killed outright, the kernel ends Synapse too."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_until_up(server: SynapseServer, deadline: float) -> None:
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
    directory: Path, *, python: str = sys.executable, timeout: float = 60.0, attempts: int = 3
) -> SynapseServer:
    """Write a config into `directory`, generate keys, start Synapse and wait until it answers.

    The port is picked free just before the start; if another process grabs it in between,
    Synapse exits and we try again on a new port.
    """
    directory.mkdir(parents=True, exist_ok=True)
    shared_secret = secrets.token_hex(16)
    last_error: Exception | None = None
    for attempt in range(attempts):
        port = free_port()
        config_path = directory / "homeserver.yaml"
        config_path.write_text(json.dumps(synapse_config(directory, port, shared_secret), indent=1))
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
        with open(directory / "stderr.log", "wb") as stderr:
            process = subprocess.Popen(
                base_cmd,
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # only sets a kernel flag
                start_new_session=True,
            )
        server = SynapseServer(
            base_url=f"http://{_LOOPBACK}:{port}",
            server_name=SERVER_NAME,
            shared_secret=shared_secret,
            directory=directory,
            process=process,
        )
        try:
            _wait_until_up(server, time.monotonic() + timeout)
            return server
        except (RuntimeError, TimeoutError) as exc:
            last_error = exc
            stop_synapse(server)
    assert last_error is not None
    raise last_error


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


# --- accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    user_id: str
    access_token: str
    device_id: str
    password: str


def registration_mac(shared_secret: str, nonce: str, user: str, password: str, admin: bool) -> str:
    """HMAC-SHA1 over nonce NUL user NUL password NUL admin|notadmin, as Synapse expects."""
    mac = hmac.new(shared_secret.encode(), digestmod=hashlib.sha1)
    mac.update(nonce.encode() + b"\x00" + user.encode() + b"\x00" + password.encode() + b"\x00")
    mac.update(b"admin" if admin else b"notadmin")
    return mac.hexdigest()


async def register_user(
    server: SynapseServer, localpart: str, *, admin: bool = False, password: str | None = None
) -> Registered:
    """Register through /_synapse/admin/v1/register with a fresh nonce per call."""
    password = password or secrets.token_urlsafe(12)
    url = f"{server.base_url}/_synapse/admin/v1/register"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as answer:
            answer.raise_for_status()
            nonce = str((await answer.json())["nonce"])
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": registration_mac(server.shared_secret, nonce, localpart, password, admin),
        }
        async with http.post(url, json=body) as answer:
            data = await answer.json()
            if answer.status != 200:
                raise MatrixError(answer.status, data)
    return Registered(
        user_id=str(data["user_id"]),
        access_token=str(data["access_token"]),
        device_id=str(data.get("device_id", "")),
        password=password,
    )


# --- a member's client --------------------------------------------------------------------------


class MatrixError(Exception):
    """The homeserver refused a request; `errcode` is e.g. M_FORBIDDEN."""

    def __init__(self, status: int, body: JsonDict) -> None:
        self.status = status
        self.errcode = str(body.get("errcode", ""))
        self.error = str(body.get("error", ""))
        super().__init__(f"{status} {self.errcode}: {self.error}")


@dataclass
class SyncedEvent:
    room_id: str
    event: JsonDict
    received_at: float  # time.monotonic() when this client's sync returned it

    @property
    def type(self) -> str:
        return str(self.event.get("type", ""))

    @property
    def content(self) -> JsonDict:
        content = self.event.get("content", {})
        return content if isinstance(content, dict) else {}


@dataclass
class MatrixMember:
    """What a person's client does, reduced to what the tests need.

    It keeps its own sync position, so `wait_for` sees events in the order its owner's client
    would, and only those arriving after the member started watching.
    """

    server: SynapseServer
    user_id: str
    access_token: str
    password: str = ""
    since: str | None = None
    seen: list[SyncedEvent] = field(default_factory=list)
    invites: dict[str, JsonDict] = field(default_factory=dict)
    memberships: dict[str, str] = field(default_factory=dict)  # room -> join/invite/leave
    _http: aiohttp.ClientSession | None = None
    _txn: int = 0

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    # --- transport ---

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.access_token}"}
            )
        return self._http

    async def request(
        self,
        method: str,
        path: str,
        body: JsonDict | None = None,
        *,
        params: dict[str, str] | None = None,
        within: float = 30.0,
    ) -> JsonDict:
        url = f"{self.server.base_url}/_matrix/client/v3{path}"
        async with self._session().request(
            method, url, json=body, params=params, timeout=aiohttp.ClientTimeout(total=within)
        ) as answer:
            data: Any = await answer.json(content_type=None)
            if answer.status != 200:
                raise MatrixError(answer.status, data if isinstance(data, dict) else {})
            return data if isinstance(data, dict) else {}

    def _next_txn(self) -> str:
        self._txn += 1
        return f"t{time.time_ns()}-{self._txn}"

    # --- rooms ---

    async def create_room(
        self,
        *,
        name: str | None = None,
        invite: list[str] | None = None,
        space: bool = False,
        preset: str = "public_chat",
        power_users: dict[str, int] | None = None,
        initial_state: list[JsonDict] | None = None,
        encrypted: bool = False,
        extra: JsonDict | None = None,
    ) -> str:
        body: JsonDict = {"preset": preset, "invite": invite or []}
        if name:
            body["name"] = name
        if space:
            body["creation_content"] = {"type": "m.space"}
        if power_users:
            body["power_level_content_override"] = {"users": dict(power_users)}
        state = list(initial_state or [])
        if encrypted:
            state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        if state:
            body["initial_state"] = state
        body.update(extra or {})
        return str((await self.request("POST", "/createRoom", body))["room_id"])

    async def add_child(self, space_id: str, room_id: str) -> None:
        """Make `room_id` a child of the space (the community's rooms)."""
        await self.put_state(
            space_id, "m.space.child", {"via": [self.server.server_name]}, state_key=room_id
        )

    async def join(self, room_id: str) -> str:
        data = await self.request(
            "POST", f"/join/{quote(room_id)}", {}, params={"server_name": self.server.server_name}
        )
        return str(data["room_id"])

    async def leave(self, room_id: str) -> None:
        await self.request("POST", f"/rooms/{quote(room_id)}/leave", {})

    async def invite(self, room_id: str, user_id: str) -> None:
        await self.request("POST", f"/rooms/{quote(room_id)}/invite", {"user_id": user_id})

    async def state(self, room_id: str, event_type: str, state_key: str = "") -> JsonDict:
        path = f"/rooms/{quote(room_id)}/state/{quote(event_type)}/{quote(state_key)}"
        return await self.request("GET", path)

    async def put_state(
        self, room_id: str, event_type: str, content: JsonDict, *, state_key: str = ""
    ) -> str:
        path = f"/rooms/{quote(room_id)}/state/{quote(event_type)}/{quote(state_key)}"
        return str((await self.request("PUT", path, content))["event_id"])

    async def power_levels(self, room_id: str) -> JsonDict:
        return await self.state(room_id, "m.room.power_levels")

    async def set_power_level(self, room_id: str, user_id: str, level: int) -> None:
        levels = await self.power_levels(room_id)
        levels.setdefault("users", {})[user_id] = level
        await self.put_state(room_id, "m.room.power_levels", levels)

    async def membership(self, room_id: str, user_id: str | None = None) -> str | None:
        try:
            data = await self.state(room_id, "m.room.member", user_id or self.user_id)
        except MatrixError as exc:
            if exc.errcode == "M_NOT_FOUND":
                return None
            raise
        return str(data.get("membership"))

    async def joined_rooms(self) -> list[str]:
        return [str(r) for r in (await self.request("GET", "/joined_rooms"))["joined_rooms"]]

    # --- sending ---

    async def send(
        self, room_id: str, content: JsonDict, event_type: str = "m.room.message"
    ) -> str:
        path = f"/rooms/{quote(room_id)}/send/{quote(event_type)}/{self._next_txn()}"
        return str((await self.request("PUT", path, content))["event_id"])

    async def send_text(self, room_id: str, body: str, **extra: Any) -> str:
        return await self.send(room_id, {"msgtype": "m.text", "body": body, **extra})

    async def reply(self, room_id: str, to_event_id: str, body: str) -> str:
        return await self.send_text(
            room_id, body, **{"m.relates_to": {"m.in_reply_to": {"event_id": to_event_id}}}
        )

    async def mention(self, room_id: str, user_id: str, body: str, *, pill: bool = False) -> str:
        """Mention with m.mentions, or (pill=True) only with an HTML pill, as older clients do."""
        if pill:
            link = f'<a href="https://matrix.to/#/{user_id}">{user_id}</a>'
            return await self.send_text(
                room_id,
                f"{user_id}: {body}",
                format="org.matrix.custom.html",
                formatted_body=f"{link}: {body}",
            )
        return await self.send_text(
            room_id, f"{user_id}: {body}", **{"m.mentions": {"user_ids": [user_id]}}
        )

    async def thread_post(self, room_id: str, root_event_id: str, body: str) -> str:
        relates = {
            "rel_type": "m.thread",
            "event_id": root_event_id,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root_event_id},
        }
        return await self.send_text(room_id, body, **{"m.relates_to": relates})

    async def react(self, room_id: str, event_id: str, key: str = "👍") -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return await self.send(room_id, content, "m.reaction")

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> str:
        path = f"/rooms/{quote(room_id)}/redact/{quote(event_id)}/{self._next_txn()}"
        body = {"reason": reason} if reason else {}
        return str((await self.request("PUT", path, body))["event_id"])

    async def get_event(self, room_id: str, event_id: str) -> JsonDict:
        return await self.request("GET", f"/rooms/{quote(room_id)}/event/{quote(event_id)}")

    # --- watching ---

    async def sync(self, timeout_ms: int = 0) -> list[SyncedEvent]:
        """One /sync; the first call only sets the position (history is not news)."""
        params = {"timeout": str(timeout_ms)}
        first = self.since is None
        if self.since is not None:
            params["since"] = self.since
        else:
            params["filter"] = json.dumps({"room": {"timeline": {"limit": 0}}})
        data = await self.request("GET", "/sync", params=params, within=timeout_ms / 1000 + 30)
        self.since = str(data["next_batch"])
        now = time.monotonic()
        fresh: list[SyncedEvent] = []
        rooms = data.get("rooms", {})
        for room_id, invited in rooms.get("invite", {}).items():
            self.invites[str(room_id)] = invited
            self.memberships[str(room_id)] = "invite"
        for room_id in rooms.get("leave", {}):
            self.invites.pop(str(room_id), None)
            self.memberships[str(room_id)] = "leave"
        for room_id, joined in rooms.get("join", {}).items():
            self.invites.pop(str(room_id), None)
            self.memberships[str(room_id)] = "join"
            if first:
                continue
            for event in joined.get("timeline", {}).get("events", []):
                fresh.append(SyncedEvent(str(room_id), event, now))
        self.seen.extend(fresh)
        return fresh

    async def start_watching(self) -> None:
        """Fix the point from which `wait_for` reports events."""
        if self.since is None:
            await self.sync()

    async def wait_for(
        self, predicate: Callable[[SyncedEvent], bool], *, within: float = 10.0
    ) -> SyncedEvent:
        """The first event, already seen or arriving within `within` s, matching `predicate`."""
        await self.start_watching()
        for seen in self.seen:
            if predicate(seen):
                return seen
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            for event in await self.sync(timeout_ms=int(max(left, 0.05) * 1000)):
                if predicate(event):
                    return event
        raise TimeoutError(f"{self.user_id} saw no matching event within {within} s")

    async def wait_for_redaction(
        self, room_id: str, event_id: str, *, within: float = 10.0
    ) -> SyncedEvent:
        """The redaction of `event_id` as this member's client receives it."""

        def redacts(ev: SyncedEvent) -> bool:
            return (
                ev.room_id == room_id
                and ev.type == "m.room.redaction"
                and event_id in (ev.event.get("redacts"), ev.content.get("redacts"))
            )

        return await self.wait_for(redacts, within=within)

    async def wait_for_message(
        self,
        room_id: str,
        *,
        sender: str | None = None,
        contains: str = "",
        within: float = 10.0,
    ) -> SyncedEvent:
        def matches(ev: SyncedEvent) -> bool:
            return (
                ev.room_id == room_id
                and ev.type == "m.room.message"
                and (sender is None or ev.event.get("sender") == sender)
                and contains in str(ev.content.get("body", ""))
            )

        return await self.wait_for(matches, within=within)

    async def wait_for_invite(
        self,
        room_id: str | None = None,
        *,
        inviter: str | None = None,
        direct: bool | None = None,
        within: float = 10.0,
    ) -> str:
        """The room of a pending invite (to `room_id`, or from `inviter`; `direct` picks only
        direct-chat invites, or only others); returns its id."""

        def matches(ev: JsonDict) -> bool:
            if ev.get("type") != "m.room.member" or ev.get("state_key") != self.user_id:
                return False
            if inviter is not None and ev.get("sender") != inviter:
                return False
            is_direct = bool(ev.get("content", {}).get("is_direct"))
            return direct is None or is_direct == direct

        def pending() -> str | None:
            for rid, invited in self.invites.items():
                if room_id is not None and rid != room_id:
                    continue
                events = invited.get("invite_state", {}).get("events", [])
                if (inviter is None and direct is None) or any(matches(ev) for ev in events):
                    return rid
            return None

        await self.start_watching()
        deadline = time.monotonic() + within
        while (found := pending()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.user_id} got no matching invite within {within} s")
            await self.sync(timeout_ms=int(max(left, 0.05) * 1000))
        return found

    async def wait_for_membership(
        self, room_id: str, membership: str, *, within: float = 10.0
    ) -> None:
        """Until this member's own client shows `membership` (join/invite/leave) in the room."""
        await self.start_watching()
        deadline = time.monotonic() + within
        while self.memberships.get(room_id) != membership:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"{self.user_id} is {self.memberships.get(room_id)} in {room_id},"
                    f" not {membership}, after {within} s"
                )
            await self.sync(timeout_ms=int(max(left, 0.05) * 1000))

    async def accept_dm(self, inviter: str, *, within: float = 10.0) -> str:
        """Join the direct-message room `inviter` opened with this member; returns its id."""
        room_id = await self.wait_for_invite(inviter=inviter, direct=True, within=within)
        await self.join(room_id)
        return room_id

    async def is_redacted(self, room_id: str, event_id: str) -> bool:
        event = await self.get_event(room_id, event_id)
        return "redacted_because" in event.get("unsigned", {}) or not event.get("content")


async def wait_until(
    check: Callable[[], bool | Awaitable[bool]],
    *,
    within: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
) -> None:
    """Poll a condition until it holds; fail loudly after `within` s (no bare sleeps)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not hold within {within} s")
        await asyncio.sleep(interval)
