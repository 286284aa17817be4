"""OAuth2 as Discord runs it for Linked Roles: the consent page a member's browser sees, the
token endpoint (codes used once, refresh tokens rotated on every use), `/users/@me` for a
member's own token, and their role connection, kept and recorded per write.

A test says who is signed in to Discord in the browser (`signed_in`) and reads
`role_connections` (the current one per user) and `role_connection_writes` (every write).
"""

from __future__ import annotations

import base64
import html
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import web

from .errors import ApiError
from .objects import Json, User
from .rest import BODY, RestRoutes, Route

CLIENT_SECRET = "loopback-client-secret"


@dataclass
class OAuthState:
    signed_in: User | None = None  # whom Discord's page shows as signed in
    codes: dict[str, tuple[int, str]] = field(default_factory=dict)  # code -> user, redirect
    access: dict[str, int] = field(default_factory=dict)  # access token -> user id
    refresh: dict[str, int] = field(default_factory=dict)  # refresh token -> user id
    role_connections: dict[int, Json] = field(default_factory=dict)
    role_connection_writes: list[tuple[int, Json]] = field(default_factory=list)
    refreshed: int = 0


class OAuthRoutes(RestRoutes):
    """Mixed into `FakeDiscord`; `oauth` holds what members consented to."""

    oauth: OAuthState

    def routes(self) -> list[Route]:
        connection = "/users/@me/applications/{app_id}/role-connection"
        return [
            *super().routes(),
            ("POST", "/oauth2/token", self._token),
            ("PUT", connection, self._put_connection),
            ("GET", connection, self._get_connection),
        ]

    def add_routes(self, app: web.Application) -> None:
        super().add_routes(app)
        app.router.add_get("/oauth2/authorize", self._consent_page)
        app.router.add_post("/oauth2/authorize", self._consent)

    def bearer_user(self, request: web.Request) -> int | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return self.oauth.access.get(token) if scheme == "Bearer" else None

    # --- the member's browser -----------------------------------------------------------------

    async def _consent_page(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != str(self.world.application_id):
            return web.Response(status=400, text="Invalid OAuth2 application")
        user = self.oauth.signed_in
        who = html.escape(user.username) if user else "nobody"
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(query.get(k, ""))}">'
            for k in ("redirect_uri", "state", "scope")
        )
        page = (
            "<!doctype html><html lang=en><title>Discord</title><main>"
            f"<h1>verifybot wants to access your account</h1><p>Signed in as {who}</p>"
            f"<p>{html.escape(query.get('scope', ''))}</p>"
            f'<form method="post">{hidden}'
            '<button name="answer" value="authorize">Authorize</button>'
            '<button name="answer" value="cancel">Cancel</button></form></main></html>'
        )
        return web.Response(text=page, content_type="text/html")

    async def _consent(self, request: web.Request) -> web.Response:
        form = await request.post()
        redirect, state = str(form.get("redirect_uri", "")), str(form.get("state", ""))
        user = self.oauth.signed_in
        if form.get("answer") != "authorize" or user is None:
            answer = {"error": "access_denied", "state": state}
        else:
            code = secrets.token_urlsafe(16)
            self.oauth.codes[code] = (user.id, redirect)
            answer = {"code": code, "state": state}
        raise web.HTTPFound(f"{redirect}?{urlencode(answer)}")

    # --- the bot's server ---------------------------------------------------------------------

    async def _token(self, request: web.Request) -> Json:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        client = base64.b64decode(encoded).decode() if scheme == "Basic" else ""
        if client != f"{self.world.application_id}:{CLIENT_SECRET}":
            raise ApiError(401, 0, "invalid_client")
        form = dict(await request.post())
        grant = form.get("grant_type")
        if grant == "authorization_code":
            found = self.oauth.codes.pop(str(form.get("code", "")), None)
            if found is None or found[1] != form.get("redirect_uri"):
                raise ApiError(400, 0, "invalid_grant")
            user_id = found[0]
        elif grant == "refresh_token":
            user_id_or_none = self.oauth.refresh.pop(str(form.get("refresh_token", "")), None)
            if user_id_or_none is None:
                raise ApiError(400, 0, "invalid_grant")
            user_id = user_id_or_none
            self.oauth.refreshed += 1
        else:
            raise ApiError(400, 0, "unsupported_grant_type")
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.oauth.access[access] = user_id
        self.oauth.refresh[refresh] = user_id
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 604800,
            "refresh_token": refresh,
            "scope": "identify role_connections.write",
        }

    async def _put_connection(self, request: web.Request) -> Json:
        user_id = self._connection_owner(request)
        body = request[BODY]
        self.oauth.role_connections[user_id] = body
        self.oauth.role_connection_writes.append((user_id, body))
        return dict(body)

    async def _get_connection(self, request: web.Request) -> Json:
        return self.oauth.role_connections.get(self._connection_owner(request), {})

    def _connection_owner(self, request: web.Request) -> int:
        if request.match_info["app_id"] != str(self.world.application_id):
            raise ApiError(404, 10002, "Unknown Application")
        user_id = self.bearer_user(request)
        if user_id is None:
            raise ApiError(401, 0, "401: Unauthorized")
        return user_id
