"""The homeserver's questions, asked by synapse-http-antispam before an event is stored.

Synapse loads `synapse_http_antispam.HTTPAntispam` with `base_url` = `<web.base_url>/antispam`
and `authorization` = `[matrix.antispam] secret`. The module POSTs JSON to
`{base_url}/{callback}` and reads the answer:

* a 2xx answer with a JSON body lets the event (or join) through;
* any other status with a JSON object `{"errcode", "error"}` refuses it: the sender's client
  gets 403 with that errcode and text;
* anything else (no answer, a body that is not JSON) counts as the module's failure, where its
  per-callback `fail_open` decides. So a request without the right secret is answered with
  plain text: a misconfigured secret then falls back to the admin's choice rather than
  refusing every message.

`/ping` (the module's `do_ping`) must echo the request's id with `"status": "ok"`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Protocol, TypeGuard

from aiohttp import web

from bot.adapters.matrix.presend import BeforeDelivery
from bot.config import AntispamSettings
from bot.gates import join_refused
from bot.messages import join_refused as join_refused_text
from bot.messages import refused_before_delivery
from bot.model import Actor, ChannelRef
from bot.policy import HELD_BY_FILTER
from bot.web.keys import CORE_KEY
from bot.web.security import bearer_matches

log = logging.getLogger(__name__)

PATH = "/antispam"
LOG_EVERY_SECONDS = 60.0  # a wrong secret is sent with every event: one log line a minute


class AntispamGate(Protocol):
    """What the Matrix adapter offers the homeserver's questions."""

    before_delivery: BeforeDelivery

    def join_request(self, user_id: str, room_id: str) -> tuple[ChannelRef, Actor] | None: ...


class _Refused:
    """Requests refused for their secret, logged briefly (never the secret or the event)."""

    def __init__(self) -> None:
        self.count = 0
        self._logged_at = -LOG_EVERY_SECONDS
        self._unlogged = 0

    def __call__(self, request: web.Request) -> web.Response:
        self.count += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            also = f" (and {self._unlogged} more since the last report)" if self._unlogged else ""
            log.warning(
                "refused an antispam request without the configured secret from %s%s",
                request.remote,
                also,
            )
            self._logged_at, self._unlogged = now, 0
        else:
            self._unlogged += 1
        return web.Response(status=401, text="the antispam secret is missing or wrong")


SETTINGS_KEY: web.AppKey[AntispamSettings] = web.AppKey("antispam_settings")
SECRET_KEY: web.AppKey[bytes] = web.AppKey("antispam_secret")
REFUSED_KEY: web.AppKey[_Refused] = web.AppKey("antispam_refused")


def add_routes(app: web.Application) -> None:
    """The route, when `[matrix.antispam]` is configured."""
    config = app[CORE_KEY].config
    if config.matrix is None or config.matrix.antispam is None:
        return
    app[SETTINGS_KEY] = config.matrix.antispam
    app[SECRET_KEY] = config.matrix.antispam.secret.resolve().encode()
    app[REFUSED_KEY] = _Refused()
    app.router.add_post(PATH + "/{callback}", answer)


async def answer(request: web.Request) -> web.Response:
    if not bearer_matches(request, request.app[SECRET_KEY]):
        return request.app[REFUSED_KEY](request)
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return web.Response(status=400, text="the body is not JSON")
    if not isinstance(body, dict):
        return web.Response(status=400, text="the body is not a JSON object")
    callback = request.match_info["callback"]
    gate = _gate(request)
    if gate is not None:
        gate.before_delivery.heard()
    if callback == "ping":
        log.info("the homeserver's antispam module is connected")
        return web.json_response({"id": body.get("id"), "status": "ok"})
    if gate is None:  # Matrix not started (yet): nothing is known to decide with
        return web.json_response({})
    budget = request.app[SETTINGS_KEY].budget_ms / 1000
    matrix = request.app[CORE_KEY].config.matrix
    prefix = matrix.command_prefix if matrix is not None else "!"
    if callback == "check_event_for_spam":
        event = body.get("event")
        if not isinstance(event, dict):
            return web.Response(status=400, text="no event to judge")
        refusal = await gate.before_delivery.ask(event, budget)
        if refusal is None:
            return web.json_response({})
        held = refusal.reason == HELD_BY_FILTER
        text = refused_before_delivery(reason=refusal.reason, held=held, prefix=prefix)
        return _refuse(text)
    if callback == "user_may_join_room":
        return await _join(request, gate, body, budget, prefix)
    return web.json_response({})  # a callback verifybot has no say in: allowed


async def _join(
    request: web.Request, gate: AntispamGate, body: dict[str, Any], budget: float, prefix: str
) -> web.Response:
    user, room = body.get("user"), body.get("room")
    if not isinstance(user, str) or not isinstance(room, str):
        return web.Response(status=400, text="no user or room")
    asking = gate.join_request(user, room)
    if asking is None:
        return web.json_response({})
    channel, actor = asking
    invited = body.get("is_invited") is True
    try:
        reason = await asyncio.wait_for(
            join_refused(request.app[CORE_KEY], channel, actor, invited), budget
        )
    except TimeoutError:
        log.warning("no answer on a join within %.0f ms; the room's own rules decide", budget * 1e3)
        return web.json_response({})
    if reason is None:
        return web.json_response({})
    return _refuse(join_refused_text(reason=reason, prefix=prefix))


def _refuse(text: str) -> web.Response:
    return web.json_response({"errcode": "M_FORBIDDEN", "error": text}, status=403)


def _gate(request: web.Request) -> AntispamGate | None:
    adapter = request.app[CORE_KEY].adapters.get("matrix")
    return adapter if _is_gate(adapter) else None


def _is_gate(adapter: object) -> TypeGuard[AntispamGate]:
    return hasattr(adapter, "before_delivery") and hasattr(adapter, "join_request")
