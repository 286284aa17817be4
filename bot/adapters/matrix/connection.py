"""matrix-nio as the adapter uses it: the client, logging in, raw event JSON, errors in words.

Kept in one place so the rest of the adapter reads the homeserver's JSON, not nio's partial event
classes, and so the one request nio cannot make (a join naming servers) is visible as such.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlencode

import nio

from bot.adapters.base import AdapterError
from bot.config import MatrixSettings

JsonDict = dict[str, Any]
ClientSource = Callable[[], nio.AsyncClient]  # the started client; raises before start


class CountingClient(nio.AsyncClient):  # type: ignore[misc]
    """nio's client, counting the connection failures it rides out (the homeserver away):
    nio retries them inside its own requests, where the adapter's loop never sees them."""

    unreachable = 0

    async def get_timeout_retry_wait_time(self, got_timeouts: int) -> float:
        self.unreachable += 1
        wait: float = await super().get_timeout_retry_wait_time(got_timeouts)
        return wait


def new_client(settings: MatrixSettings) -> CountingClient:
    """A client that gives up after three timeouts: at start an unreachable homeserver is a
    configuration problem to report, not something to wait out."""
    return CountingClient(
        settings.homeserver,
        settings.user_id,
        device_id=settings.device_id or "VERIFYBOT",
        config=nio.AsyncClientConfig(
            store_sync_tokens=False, encryption_enabled=False, max_timeouts=3
        ),
    )


def ride_out_outages(client: nio.AsyncClient) -> None:
    """Once running, retry for as long as the homeserver is away instead of giving up."""
    client.config = dataclasses.replace(client.config, max_timeouts=None)


async def log_in(
    client: nio.AsyncClient, settings: MatrixSettings, environ: Mapping[str, str] | None
) -> None:
    """With the access token (checked against matrix.user_id) or the password; every refusal
    names the setting to fix."""
    bot_id = settings.user_id
    if settings.access_token is not None:
        client.access_token = settings.access_token.resolve(environ)
        client.user_id = bot_id
        who = await client.whoami()
        if is_error(who):
            raise AdapterError(
                f"the Matrix access token was refused ({error_text(who)});"
                " check matrix.access_token"
            )
        if who.user_id != bot_id:
            raise AdapterError(
                f"the access token belongs to {who.user_id}, not matrix.user_id"
                f" {bot_id}; fix one of them"
            )
        client.device_id = who.device_id or client.device_id
        return
    if settings.password is None:
        raise AdapterError("give matrix.access_token or matrix.password")
    answer = await client.login(settings.password.resolve(environ), device_name="verifybot")
    if is_error(answer):
        raise AdapterError(
            f"logging in as {bot_id} failed ({error_text(answer)}); check matrix.password"
        )


def raw_event(event: Any) -> JsonDict:
    """The raw JSON of a nio event: we read that, not nio's partial event classes.

    nio takes `content` out of the source of some events (invite state), so it is put back.
    """
    source = getattr(event, "source", None)
    if not isinstance(source, dict):
        return {}
    content = getattr(event, "content", None)
    if "content" not in source and isinstance(content, dict):
        return {**cast(JsonDict, source), "content": content}
    return cast(JsonDict, source)


def sent_at(event: JsonDict) -> datetime | None:
    """When the sender's homeserver received the event, if it says."""
    ts = event.get("origin_server_ts")
    return datetime.fromtimestamp(ts / 1000, UTC) if isinstance(ts, int | float) else None


def is_error(response: Any) -> bool:
    return isinstance(response, nio.ErrorResponse)


def error_text(response: Any) -> str:
    """A refusal as `status: message`, for logs and for what admins are told."""
    code = getattr(response, "status_code", None) or "error"
    message = getattr(response, "message", None) or "no details"
    return f"{code}: {message}"


async def join_via(client: nio.AsyncClient, room_id: str, via: list[str]) -> Any:
    """Join naming servers that know the room (v12 room ids carry no server to ask).

    nio's `join` cannot pass `server_name`, so this one request goes through its transport.
    """
    query = urlencode([("server_name", server) for server in via[:3]])
    path = f"{nio.Api._build_path(['join', room_id])}?{query}"
    return await client._send(nio.JoinResponse, "POST", path, "{}")
