"""A member's Matrix client, reduced to what the tests need: what another person's client does.

It speaks the client-server API directly (aiohttp) rather than through matrix-nio, so tests observe
the homeserver exactly as another person's client would, independent of the library the adapter
under test uses. Everything here talks to the test homeserver on 127.0.0.1 only.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp

from bot.demo.person import Refused as MatrixError  # what the homeserver refused

if TYPE_CHECKING:  # only for types: a fixture module imported early loses assertion rewriting
    from tests.fixtures.synapse import SynapseServer

JsonDict = dict[str, Any]


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

    async def reply_quoting(self, room_id: str, to: SyncedEvent | JsonDict, body: str) -> str:
        """A reply as Element sent them until 2024 (and many clients still do): the replied-to
        message quoted in front of `body` (`> <@sender> line` in the body, `<mx-reply>` with a
        pill in the HTML), which the bot must not read as part of what this member wrote."""
        event = to.event if isinstance(to, SyncedEvent) else to
        room = quote(room_id, safe="!")
        event_id, sender = str(event["event_id"]), str(event["sender"])
        quoted = str(event.get("content", {}).get("body", "")).split("\n")
        fallback = "\n".join([f"> <{sender}> {quoted[0]}", *(f"> {line}" for line in quoted[1:])])
        html_quote = "<br>".join(html.escape(line) for line in quoted)
        formatted = (
            f'<mx-reply><blockquote><a href="https://matrix.to/#/{room}/{quote(event_id)}">'
            f'In reply to</a> <a href="https://matrix.to/#/{sender}">{sender}</a><br>'
            f"{html_quote}</blockquote></mx-reply>{html.escape(body)}"
        )
        return await self.send_text(
            room_id,
            f"{fallback}\n\n{body}",
            format="org.matrix.custom.html",
            formatted_body=formatted,
            **{"m.relates_to": {"m.in_reply_to": {"event_id": event_id}}},
        )

    async def edit(self, room_id: str, event_id: str, body: str) -> str:
        """Change what an earlier message of this member says (an `m.replace` edit)."""
        return await self.send_text(
            room_id,
            f"* {body}",
            **{
                "m.new_content": {"msgtype": "m.text", "body": body},
                "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
            },
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

    async def download(self, mxc: str) -> bytes:
        """A file's bytes from the media repository, as a client fetches it (authenticated)."""
        server, media_id = mxc.removeprefix("mxc://").split("/", 1)
        url = f"{self.server.base_url}/_matrix/client/v1/media/download/{server}/{media_id}"
        async with self._session().get(url, timeout=aiohttp.ClientTimeout(total=30)) as answer:
            if answer.status != 200:
                raise MatrixError(answer.status, await answer.json(content_type=None))
            return await answer.read()

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
