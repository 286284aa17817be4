"""A person's Matrix client, reduced to what the demo's people do: log in, make and join rooms,
talk, and read what arrives.

It speaks the client-server API directly (aiohttp) rather than through matrix-nio, so the story
sees the homeserver exactly as anyone's client would, independent of the library the bot uses
(and network libraries stay inside bot/adapters/). Everything here talks to 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

JsonDict = dict[str, Any]


class Refused(Exception):
    """The homeserver refused a request; `errcode` is e.g. M_FORBIDDEN."""

    def __init__(self, status: int, body: JsonDict) -> None:
        self.status = status
        self.errcode = str(body.get("errcode", ""))
        self.error = str(body.get("error", ""))
        super().__init__(f"{status} {self.errcode}: {self.error}")


@dataclass
class Seen:
    """One timeline event as this person's client received it."""

    room_id: str
    event: JsonDict

    @property
    def type(self) -> str:
        return str(self.event.get("type", ""))

    @property
    def sender(self) -> str:
        return str(self.event.get("sender", ""))

    @property
    def body(self) -> str:
        content = self.event.get("content")
        return str(content.get("body", "")) if isinstance(content, dict) else ""

    @property
    def content(self) -> JsonDict:
        content = self.event.get("content")
        return content if isinstance(content, dict) else {}


@dataclass
class Person:
    """Someone with a Matrix account on the demo's homeserver, and their client."""

    name: str
    homeserver: str
    server_name: str
    user_id: str
    password: str
    access_token: str = ""
    since: str | None = None
    seen: list[Seen] = field(default_factory=list)
    invites: dict[str, JsonDict] = field(default_factory=dict)
    _http: aiohttp.ClientSession | None = None
    _txn: int = 0

    async def log_in(self) -> None:
        """Log in with the password, as any client does (the demo prints the same password)."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": self.user_id},
            "password": self.password,
            "initial_device_display_name": "verifybot demo",
        }
        self.access_token = str((await self.request("POST", "/login", body))["access_token"])
        await self._fresh_session()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _fresh_session(self) -> None:
        await self.close()
        headers = {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}
        self._http = aiohttp.ClientSession(headers=headers)

    async def request(
        self,
        method: str,
        path: str,
        body: JsonDict | None = None,
        *,
        params: dict[str, str] | None = None,
        within: float = 30.0,
    ) -> JsonDict:
        if self._http is None:
            await self._fresh_session()
        assert self._http is not None
        url = f"{self.homeserver}/_matrix/client/v3{path}"
        timeout = aiohttp.ClientTimeout(total=within)
        async with self._http.request(
            method, url, json=body, params=params, timeout=timeout
        ) as answer:
            data: Any = await answer.json(content_type=None)
            if answer.status != 200:
                raise Refused(answer.status, data if isinstance(data, dict) else {})
            return data if isinstance(data, dict) else {}

    # --- rooms ---

    async def create_room(
        self,
        name: str,
        *,
        space: bool = False,
        preset: str = "public_chat",
        power_users: dict[str, int] | None = None,
        invite: list[str] | None = None,
        topic: str | None = None,
    ) -> str:
        body: JsonDict = {"preset": preset, "name": name, "invite": invite or []}
        if space:
            body["creation_content"] = {"type": "m.space"}
        if power_users:
            body["power_level_content_override"] = {"users": dict(power_users)}
        if topic:
            body["topic"] = topic
        return str((await self.request("POST", "/createRoom", body))["room_id"])

    async def add_child(self, space_id: str, room_id: str) -> None:
        path = f"/rooms/{quote(space_id)}/state/m.space.child/{quote(room_id)}"
        await self.request("PUT", path, {"via": [self.server_name]})

    async def join(self, room_id: str) -> None:
        params = {"server_name": self.server_name}
        await self.request("POST", f"/join/{quote(room_id)}", {}, params=params)

    async def invite(self, room_id: str, user_id: str) -> None:
        await self.request("POST", f"/rooms/{quote(room_id)}/invite", {"user_id": user_id})

    async def power_levels(self, room_id: str) -> JsonDict:
        path = f"/rooms/{quote(room_id)}/state/m.room.power_levels/"
        return await self.request("GET", path)

    async def membership(self, room_id: str, user_id: str) -> str | None:
        path = f"/rooms/{quote(room_id)}/state/m.room.member/{quote(user_id)}"
        try:
            return str((await self.request("GET", path)).get("membership"))
        except Refused as exc:
            if exc.errcode == "M_NOT_FOUND":
                return None
            raise

    async def event(self, room_id: str, event_id: str) -> JsonDict:
        return await self.request("GET", f"/rooms/{quote(room_id)}/event/{quote(event_id)}")

    # --- talking ---

    async def say(self, room_id: str, body: str, *, reply_to: str | None = None) -> str:
        """Send a text message (a reply when `reply_to` names an event); returns its event id."""
        self._txn += 1
        content: JsonDict = {"msgtype": "m.text", "body": body}
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        path = f"/rooms/{quote(room_id)}/send/m.room.message/demo{time.time_ns()}-{self._txn}"
        return str((await self.request("PUT", path, content))["event_id"])

    async def download(self, mxc: str) -> bytes:
        """A file's bytes from the media repository, as a client fetches it."""
        if self._http is None:
            await self._fresh_session()
        assert self._http is not None
        server, media_id = mxc.removeprefix("mxc://").split("/", 1)
        url = f"{self.homeserver}/_matrix/client/v1/media/download/{server}/{media_id}"
        async with self._http.get(url, timeout=aiohttp.ClientTimeout(total=30)) as answer:
            if answer.status != 200:
                raise Refused(answer.status, await answer.json(content_type=None))
            return await answer.read()

    # --- reading ---

    async def sync(self, timeout_ms: int = 0) -> list[Seen]:
        """One /sync; the first only sets the position (history is not news)."""
        params = {"timeout": str(timeout_ms)}
        first = self.since is None
        if self.since is not None:
            params["since"] = self.since
        else:
            params["filter"] = json.dumps({"room": {"timeline": {"limit": 0}}})
        data = await self.request("GET", "/sync", params=params, within=timeout_ms / 1000 + 30)
        self.since = str(data["next_batch"])
        rooms = data.get("rooms", {})
        for room_id, invited in rooms.get("invite", {}).items():
            self.invites[str(room_id)] = invited
        fresh: list[Seen] = []
        for room_id, joined in rooms.get("join", {}).items():
            self.invites.pop(str(room_id), None)
            if not first:
                events = joined.get("timeline", {}).get("events", [])
                fresh += [Seen(str(room_id), event) for event in events]
        self.seen.extend(fresh)
        return fresh

    async def wait_for(self, wanted: Callable[[Seen], bool], *, within: float) -> Seen:
        """The first event, already received or arriving within `within` s, that is `wanted`;
        an event is returned once, so the next wait looks further."""
        if self.since is None:
            await self.sync()
        deadline = time.monotonic() + within
        while True:
            for index, event in enumerate(self.seen):
                if wanted(event):
                    del self.seen[index]
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name} saw nothing of what was expected in {within} s")
            await self.sync(timeout_ms=int(max(left, 0.05) * 1000))

    async def message_from(
        self, sender: str, room_id: str, *, contains: str = "", within: float
    ) -> Seen:
        def wanted(event: Seen) -> bool:
            return (
                event.room_id == room_id
                and event.type == "m.room.message"
                and event.sender == sender
                and contains in event.body
            )

        return await self.wait_for(wanted, within=within)

    async def redaction_of(self, room_id: str, event_id: str, *, within: float) -> Seen:
        def wanted(event: Seen) -> bool:
            redacts = (event.event.get("redacts"), event.content.get("redacts"))
            return (
                event.room_id == room_id
                and event.type == "m.room.redaction"
                and event_id in redacts
            )

        return await self.wait_for(wanted, within=within)

    async def invitation_from(self, inviter: str, *, direct: bool, within: float) -> str:
        """The room a pending invitation from `inviter` is to (a direct chat, or not)."""

        def matching() -> str | None:
            for room_id, invited in self.invites.items():
                for event in invited.get("invite_state", {}).get("events", []):
                    if (
                        event.get("type") == "m.room.member"
                        and event.get("state_key") == self.user_id
                        and event.get("sender") == inviter
                        and bool(event.get("content", {}).get("is_direct")) == direct
                    ):
                        return room_id
            return None

        if self.since is None:
            await self.sync()
        deadline = time.monotonic() + within
        while (found := matching()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name} got no invitation from {inviter} in {within} s")
            await self.sync(timeout_ms=int(max(left, 0.05) * 1000))
        return found
