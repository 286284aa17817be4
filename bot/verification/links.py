"""Signed, short-lived, single-use links that bind a chat account to one identity check.

The `verify` command hands a member a URL carrying such a token. The signature (HMAC-SHA256 under
a subkey of the server key) proves the bot issued it for exactly this (network, account,
community); the expiry keeps a leaked link from being useful for long; and redeeming it through
storage makes it single use, so a link seen by someone else (a shared screen, a log) cannot be
replayed once the member has started.

Opening the page does not redeem the link (chat clients fetch URLs for previews); starting a
method does.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.model import NETWORKS, CommunityRef, MemberRef, Network
from bot.verification.identity import ServerKey, same

Clock = Callable[[], datetime]

DEFAULT_TTL = timedelta(minutes=15)
_VERSION = 1
_MAX_TOKEN_LENGTH = 2048


def utcnow() -> datetime:
    return datetime.now(UTC)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkProblem(enum.StrEnum):
    TAMPERED = "tampered"
    EXPIRED = "expired"
    USED = "used"


_MESSAGES = {
    LinkProblem.TAMPERED: (
        "This verification link is not valid. Copy the whole link from the bot's message,"
        " or run the verify command again for a new one."
    ),
    LinkProblem.EXPIRED: (
        "This verification link has expired. Run the verify command again for a new one."
    ),
    LinkProblem.USED: (
        "This verification link was already used. Run the verify command again for a new one."
    ),
}


class LinkError(Exception):
    """A link that cannot be honoured; `str()` is a message for the person holding it."""

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(_MESSAGES[problem])
        self.problem = problem


@dataclass(frozen=True, slots=True)
class LinkClaims:
    """What a valid link says: who is verifying, for which community, until when."""

    network: Network
    account: str
    community_id: str
    link_id: str
    expires_at: datetime

    @property
    def member(self) -> MemberRef:
        return MemberRef(self.network, self.account)

    @property
    def community(self) -> CommunityRef:
        return CommunityRef(self.network, self.community_id)


class LinkLedger(Protocol):
    """Storage's record of redeemed links (only the link id and its expiry are kept)."""

    async def redeem_link(self, link_id: str, expires_at: datetime) -> bool:
        """Record `link_id` as used; True the first time, False if it was used before."""
        ...

    async def link_redeemed(self, link_id: str) -> bool: ...


class LinkSigner:
    """Issues and reads link tokens; redeeming them needs a `LinkLedger`."""

    def __init__(self, key: ServerKey, ttl: timedelta = DEFAULT_TTL, clock: Clock = utcnow) -> None:
        if ttl <= timedelta(0):
            raise ValueError("identity.link_ttl_minutes must be positive")
        self._key = key
        self._ttl = ttl
        self._clock = clock

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    def _sign(self, body: str) -> str:
        return _b64encode(self._key.mac("link", body))

    def issue(self, member: MemberRef, community: CommunityRef) -> tuple[str, LinkClaims]:
        if member.network != community.network:
            raise ValueError("a link binds an account to a community on the same network")
        expires = self._clock().replace(microsecond=0) + self._ttl
        claims = LinkClaims(
            network=member.network,
            account=member.id,
            community_id=community.id,
            link_id=secrets.token_urlsafe(18),
            expires_at=expires,
        )
        payload = {
            "v": _VERSION,
            "n": claims.network,
            "a": claims.account,
            "c": claims.community_id,
            "j": claims.link_id,
            "e": int(expires.timestamp()),
        }
        body = _b64encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return f"{body}.{self._sign(body)}", claims

    def read(self, token: str) -> LinkClaims:
        """Check signature and expiry (not single use); raises LinkError."""
        if len(token) > _MAX_TOKEN_LENGTH or token.count(".") != 1 or not token.isascii():
            raise LinkError(LinkProblem.TAMPERED)
        body, signature = token.split(".")
        if not same(signature, self._sign(body)):
            raise LinkError(LinkProblem.TAMPERED)
        try:
            payload = json.loads(_b64decode(body))
            network = payload["n"]
            claims = LinkClaims(
                network=network,
                account=str(payload["a"]),
                community_id=str(payload["c"]),
                link_id=str(payload["j"]),
                expires_at=datetime.fromtimestamp(int(payload["e"]), UTC),
            )
        except (
            ValueError,
            KeyError,
            TypeError,
            OverflowError,  # a timestamp past what the platform's clock holds
            OSError,  # ditto, on some platforms
            RecursionError,  # JSON nested past the parser's depth
            binascii.Error,
        ) as exc:
            # A correct signature over a malformed body means a bug or a key compromise.
            raise LinkError(LinkProblem.TAMPERED) from exc
        if payload.get("v") != _VERSION or network not in NETWORKS:
            raise LinkError(LinkProblem.TAMPERED)
        if self._clock() >= claims.expires_at:
            raise LinkError(LinkProblem.EXPIRED)
        return claims

    async def check_unused(self, token: str, ledger: LinkLedger) -> LinkClaims:
        """Read a link for display: valid, unexpired and not yet redeemed."""
        claims = self.read(token)
        if await ledger.link_redeemed(claims.link_id):
            raise LinkError(LinkProblem.USED)
        return claims

    async def redeem(self, token: str, ledger: LinkLedger) -> LinkClaims:
        """Read and use up a link; a second redemption raises LinkError(USED)."""
        claims = self.read(token)
        if not await ledger.redeem_link(claims.link_id, claims.expires_at):
            raise LinkError(LinkProblem.USED)
        return claims
