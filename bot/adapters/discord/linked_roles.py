"""The Verified badge on a member's own Discord profile (Linked Roles), with their consent.

Discord shows a linked role's badge when the member's role connection for this application says
`verified = 1`; only the member can allow the bot to write it, through OAuth2 (`identify` to
know who they are, `role_connections.write` to set it). The web flow (bot/web/profile.py) sends
them to Discord and back; here the bot:

* exchanges the code for tokens and asks Discord who the member is (`connect`);
* writes the role connection (`publish`), keeping only the refresh token, sealed (AES-GCM with a
  key derived from the identity key, which never leaves the environment), so the badge can be
  taken off later without asking the member again;
* takes it off when the verification ends (`take_off`): the refresh token is used (Discord
  rotates it), `verified = 0` is written, and the sealed token is dropped — nothing is kept.

No token is ever logged. A member who declines on Discord's page leaves nothing behind.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.adapters.base import AdapterError
from bot.config import Config, DiscordSettings
from bot.model import MemberRef

log = logging.getLogger(__name__)

API = "https://discord.com/api/v10"
AUTHORIZE = "https://discord.com/oauth2/authorize"
SCOPES = "identify role_connections.write"
PLATFORM = "verifybot"
CALLBACK_PATH = "/verify/profile/done"
TIMEOUT = aiohttp.ClientTimeout(total=10)


class TokenVault(Protocol):
    """Where the sealed refresh token is kept (the store's `role_connections`)."""

    async def sealed_token(self, member: MemberRef) -> str | None: ...

    async def keep_sealed_token(self, member: MemberRef, sealed: str, at: datetime) -> None: ...

    async def drop_sealed_token(self, member: MemberRef) -> None: ...


class ProfileRefused(AdapterError):
    """Discord did not go along (a used code, a revoked grant, an outage), in words."""


@dataclass(frozen=True, slots=True)
class Connected:
    """The member as Discord named them, and the tokens their consent gave."""

    member: MemberRef
    access_token: str
    refresh_token: str


class ProfileBadges:
    """The OAuth2 and role-connection calls, for one bot application."""

    def __init__(
        self,
        settings: DiscordSettings,
        config: Config,
        vault: TokenVault,
        clock: Callable[[], datetime],
        application_id: Callable[[], str],
    ) -> None:
        if settings.client_secret is None or config.identity.hash_key is None:
            raise AdapterError("linked_roles needs discord.client_secret and identity.hash_key")
        self._settings = settings
        self._vault = vault
        self._clock = clock
        self._api = settings.api_base or API
        self._authorize = _authorize_url(settings.api_base)
        self.redirect_uri = config.web.base_url + CALLBACK_PATH
        self._application_id = application_id  # the connected client's (the OAuth2 client id)
        self._client_secret = settings.client_secret.resolve()
        key = hmac.new(
            config.identity.hash_key.resolve().encode(), b"verifybot profile tokens", hashlib.sha256
        )
        self._aead = AESGCM(key.digest())
        self._session: aiohttp.ClientSession | None = None

    def authorize_url(self, state: str) -> str:
        query = {
            "client_id": self._application_id(),
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": SCOPES,
            "state": state,
            "prompt": "consent",
        }
        return f"{self._authorize}?{urlencode(query)}"

    async def connect(self, code: str) -> Connected:
        """The code Discord sent back, exchanged; who consented, asked of Discord itself."""
        tokens = await self._token({"grant_type": "authorization_code", "code": code})
        me = await self._call("GET", "/users/@me", tokens["access_token"])
        user_id = str(me.get("id", ""))
        if not user_id.isdigit():
            raise ProfileRefused("Discord did not say which account this is.")
        return Connected(
            MemberRef("discord", user_id), tokens["access_token"], tokens["refresh_token"]
        )

    async def publish(self, connected: Connected, verified: bool) -> None:
        """Write the badge as it is; keep the sealed refresh token only while it shows."""
        await self._write(connected.access_token, verified)
        if verified:
            sealed = self._seal(connected.refresh_token)
            await self._vault.keep_sealed_token(connected.member, sealed, self._clock())
        else:
            await self._vault.drop_sealed_token(connected.member)

    async def take_off(self, member: MemberRef) -> bool:
        """The verification ended: `verified = 0` on the profile, and nothing kept. True when
        there was a badge to take off."""
        sealed = await self._vault.sealed_token(member)
        if sealed is None:
            return False
        try:
            tokens = await self._token(
                {"grant_type": "refresh_token", "refresh_token": self._unseal(sealed)}
            )
            await self._write(tokens["access_token"], False)
        except ProfileRefused as exc:  # the member revoked the grant: Discord dropped it too
            log.info("could not take a profile badge off (%s); forgetting its token", exc)
        await self._vault.drop_sealed_token(member)
        log.info("took the Verified badge off a member's Discord profile")
        return True

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- Discord's endpoints ------------------------------------------------------------------

    async def _write(self, access_token: str, verified: bool) -> None:
        path = f"/users/@me/applications/{self._application_id()}/role-connection"
        body = {"platform_name": PLATFORM, "metadata": {"verified": "1" if verified else "0"}}
        await self._call("PUT", path, access_token, json=body)

    async def _token(self, form: dict[str, str]) -> dict[str, str]:
        form = {**form, "redirect_uri": self.redirect_uri}
        client = f"{self._application_id()}:{self._client_secret}".encode()
        auth = {"Authorization": "Basic " + base64.b64encode(client).decode()}
        url = f"{self._api}/oauth2/token"
        async with self._http().post(url, data=form, headers=auth) as answer:
            data = await _json(answer)
        if answer.status != 200 or not {"access_token", "refresh_token"} <= data.keys():
            raise ProfileRefused(_why(answer.status, data))
        return {k: str(data[k]) for k in ("access_token", "refresh_token")}

    async def _call(
        self, method: str, path: str, access_token: str, *, json: Any = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}"}
        request = self._http().request(method, self._api + path, headers=headers, json=json)
        async with request as answer:
            data = await _json(answer)
        if answer.status >= 300:
            raise ProfileRefused(_why(answer.status, data))
        return data

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    # --- sealing ------------------------------------------------------------------------------

    def _seal(self, token: str) -> str:
        nonce = secrets.token_bytes(12)
        return base64.urlsafe_b64encode(
            nonce + self._aead.encrypt(nonce, token.encode(), None)
        ).decode()

    def _unseal(self, sealed: str) -> str:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()


def _authorize_url(api_base: str | None) -> str:
    """Discord's consent page; against a loopback Discord (tests), its own."""
    if api_base is None:
        return AUTHORIZE
    return api_base.removesuffix("/").removesuffix("/api/v10") + "/oauth2/authorize"


async def _json(answer: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        data = await answer.json(content_type=None)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _why(status: int, data: dict[str, Any]) -> str:
    """Discord's refusal in words, without any token."""
    said = str(data.get("error_description") or data.get("message") or data.get("error") or "")
    return f"Discord answered {status}" + (f": {said[:200]}" if said else "")
