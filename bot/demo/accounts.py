"""Accounts on the local homeserver, made with its shared registration secret.

Synapse's admin API (`/_synapse/admin/v1/register`) creates an account when the request carries
an HMAC of a fresh nonce made with the secret from the homeserver's config: no open registration,
no e-mail, no captcha. This is how an operator scripts accounts, and how the demo and the tests
make theirs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.demo.homeserver import SynapseServer


class RegistrationRefused(Exception):
    """The homeserver refused to create the account; `errcode` is e.g. M_USER_IN_USE."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.errcode = str(body.get("errcode", ""))
        self.error = str(body.get("error", ""))
        super().__init__(f"{status} {self.errcode}: {self.error}")


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
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
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
            data = await answer.json(content_type=None)
            if answer.status != 200:
                raise RegistrationRefused(answer.status, data if isinstance(data, dict) else {})
    return Registered(
        user_id=str(data["user_id"]),
        access_token=str(data["access_token"]),
        device_id=str(data.get("device_id", "")),
        password=password,
    )
