"""Who may see a community's dashboard: one-time sign-in links, then a signed session cookie.

The `dashboard` command (admins only: the core checks the role before it runs) issues a link
signed like a verification link, but under its own subkey, so neither kind of link opens the
other's pages. The link is a `pending_checks` row (method "dashboard"), and using it marks the
row used in one conditional UPDATE: single use holds across processes and restarts.

The session that follows needs no database: a cookie naming the community, the admin's account
and an expiry, MACed with the server key. Its random id binds the page's CSRF tokens to this
sign-in. No aiohttp here: the cog issues links with this module too.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from bot.adapters.base import ChatAdapter
from bot.config import Config, ConfigError
from bot.model import NETWORKS, CommunityRef, MemberRef
from bot.storage.records import PendingRecord
from bot.storage.repo import Store
from bot.verification.context import row_id
from bot.verification.identity import ServerKey, WeakKeyError, same
from bot.verification.links import LinkClaims, LinkError, LinkSigner

SIGN_IN_TTL: Final = timedelta(minutes=5)
METHOD: Final = "dashboard"  # the pending_checks row's method
STATUS: Final = "link"
_VERSION: Final = 1
_MAX_COOKIE: Final = 2048

Clock = Callable[[], datetime]


class DashboardUnavailable(Exception):
    """The dashboard is off; the message tells an admin which setting turns it on."""


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in admin: who, for which community, until when; `sid` binds forms to it."""

    community: CommunityRef
    admin: MemberRef
    signed_in_at: datetime
    expires_at: datetime
    sid: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def dashboard_key(config: Config) -> ServerKey:
    """The dashboard's own key, derived from the identity key (links and cookies of the
    dashboard are worthless on the verification pages, and the other way round)."""
    web = config.web
    if not (web.enabled and web.dashboard):
        raise DashboardUnavailable(
            "The dashboard is turned off on this bot (web.enabled and web.dashboard)."
        )
    if config.identity.hash_key is None:
        raise DashboardUnavailable(
            "The dashboard needs identity.hash_key set: it signs the sign-in links with it."
        )
    try:
        master = ServerKey(config.identity.hash_key.resolve())
    except (ConfigError, WeakKeyError) as exc:
        raise DashboardUnavailable(f"The dashboard cannot sign links: {exc}") from None
    return ServerKey(master.subkey("dashboard"))


def community_name(config: Config, adapter: ChatAdapter, community: CommunityRef) -> str:
    """The configured name, else the one the network knows (as the verification pages say)."""
    own = config.community(community.network, community.id)
    return own.name if own is not None and own.name else adapter.name_of(community)


class DashboardAccess:
    """Issues and redeems sign-in links; writes and reads session cookies."""

    def __init__(self, key: ServerKey, config: Config, store: Store, clock: Clock) -> None:
        self._key = key
        self._store = store
        self._clock = clock
        self.base_url = config.web.base_url
        self.session_length = timedelta(hours=config.web.dashboard_session_hours)
        self.links = LinkSigner(key, ttl=SIGN_IN_TTL, clock=clock)

    @classmethod
    def build(cls, config: Config, store: Store, clock: Clock) -> DashboardAccess:
        """Raises DashboardUnavailable when the settings leave the dashboard off."""
        return cls(dashboard_key(config), config, store, clock)

    # --- links (LinkLedger for the signer) --------------------------------------------------

    async def issue(self, admin: MemberRef, community: CommunityRef) -> str:
        """A fresh sign-in link, stored before it is handed out."""
        token, claims = self.links.issue(admin, community)
        await self._store.create_pending(
            PendingRecord(
                id=row_id(METHOD, claims.link_id),
                network=admin.network,
                account_id=admin.id,
                community_id=community.id,
                method=METHOD,
                status=STATUS,
                state={},
                created_at=self._clock(),
                expires_at=claims.expires_at,
            )
        )
        return f"{self.base_url}/dashboard/signin/{token}"

    async def redeem_link(self, link_id: str, expires_at: datetime) -> bool:
        return await self._store.consume_pending(row_id(METHOD, link_id), self._clock())

    async def link_redeemed(self, link_id: str) -> bool:
        """A link with no row (purged, or issued by another bot) counts as used."""
        row = await self._store.get_pending(row_id(METHOD, link_id))
        return row is None or row.used_at is not None or row.method != METHOD

    async def check(self, token: str) -> LinkClaims:
        """Valid, unexpired and unused; does not use the link up (chat previews fetch URLs)."""
        return await self.links.check_unused(token, self)

    async def sign_in(self, token: str) -> Session:
        """Use the link up (once, ever) and start a session; raises LinkError."""
        claims = await self.links.redeem(token, self)
        now = self._clock().replace(microsecond=0)
        return Session(
            community=claims.community,
            admin=claims.member,
            signed_in_at=now,
            expires_at=now + self.session_length,
            sid=secrets.token_urlsafe(18),
        )

    # --- the session cookie -----------------------------------------------------------------

    def cookie(self, session: Session) -> str:
        payload = {
            "v": _VERSION,
            "n": session.community.network,
            "c": session.community.id,
            "a": session.admin.id,
            "i": int(session.signed_in_at.timestamp()),
            "e": int(session.expires_at.timestamp()),
            "s": session.sid,
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return f"{body}.{_b64(self._key.mac('session', body))}"

    def session(self, value: str | None) -> Session | None:
        """The session a cookie carries, if it is ours, intact and not expired."""
        if not value or len(value) > _MAX_COOKIE or value.count(".") != 1 or not value.isascii():
            return None
        body, signature = value.split(".")
        if not same(signature, _b64(self._key.mac("session", body))):
            return None
        try:
            data = json.loads(_unb64(body))
            network = data["n"]
            found = Session(
                community=CommunityRef(network, str(data["c"])),
                admin=MemberRef(network, str(data["a"])),
                signed_in_at=datetime.fromtimestamp(int(data["i"]), UTC),
                expires_at=datetime.fromtimestamp(int(data["e"]), UTC),
                sid=str(data["s"]),
            )
        except (
            ValueError,
            KeyError,
            TypeError,
            OverflowError,
            OSError,
            RecursionError,
            binascii.Error,
        ):
            return None
        if data.get("v") != _VERSION or network not in NETWORKS:
            return None
        return found if self._clock() < found.expires_at else None

    def csrf(self, bound_to: str, path: str) -> str:
        """A form's token: a MAC of what the browser holds (session id, or the sign-in link)
        and the form's address, so it is worthless in another browser or form."""
        return self._key.mac("csrf", bound_to, path).hex()


__all__ = [
    "SIGN_IN_TTL",
    "DashboardAccess",
    "DashboardUnavailable",
    "LinkError",
    "Session",
    "community_name",
    "dashboard_key",
]
