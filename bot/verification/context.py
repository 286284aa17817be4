"""What every part of the identity check stands on, and the steps every check shares.

The service is built from parts (opening.py, email_check.py, oidc_check.py, review.py,
outcome.py, lifecycle.py); each gets one `CheckContext`: the core, the server key, the link
signer, the configured methods, and the few steps they all take the same way — a pending row
for a check, using a check up exactly once, telling a member a check failed, the audit line.

Single use comes from storage: links and checks are pending rows that `consume_pending` marks
used exactly once, so a replayed callback, a reused link or a second code submission finds
nothing. Rows are stored under a hash of their bearer value (`row_id`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from bot.actions import Action, SendDirect
from bot.adapters.base import ChatAdapter
from bot.audit import AuditTrail
from bot.config import Config, ConfigError
from bot.metrics import Metrics
from bot.model import CommunityRef, MemberRef, Network
from bot.storage.cache import ReadCache
from bot.storage.records import AuditDraft, PendingRecord
from bot.storage.repo import Store
from bot.verification.identity import ServerKey, WeakKeyError, same
from bot.verification.links import LinkClaims, LinkSigner
from bot.verification.providers import VerificationFailed
from bot.verification.providers.email_code import EmailCodeMethod
from bot.verification.providers.moderator import ModeratorReview
from bot.verification.providers.oidc import CALLBACK_PATH, OidcMethod
from bot.verification.titles import failure_title
from bot.verification.views import Result, StaleCheck

log = logging.getLogger(__name__)

RefreshBadges = Callable[[MemberRef], Awaitable[Sequence[CommunityRef]]]

OPEN: Final = "open"
LINK: Final = "link"


def row_id(kind: str, raw: str) -> str:
    """Pending rows are stored under a hash of the bearer value, so the database alone cannot
    be used to replay a link, a callback or a code page."""
    return hashlib.sha256(f"{kind}:{raw}".encode()).hexdigest()


def browser_tag(browser_id: str) -> str:
    """The browser's cookie id as a check keeps it: only that browser may finish the check, and
    the row does not hold the cookie itself."""
    return hashlib.sha256(f"browser:{browser_id}".encode()).hexdigest()


class ServiceCore(Protocol):
    """What the identity check uses of the core (`BotCore` is one): settings, storage and its
    cache, the clock, the networks, actions, and the one answer to "verified here"."""

    @property
    def config(self) -> Config: ...

    @property
    def store(self) -> Store: ...

    @property
    def cache(self) -> ReadCache: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def dry_run(self) -> bool: ...

    @property
    def audit(self) -> AuditTrail: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def adapters(self) -> Mapping[Network, ChatAdapter]: ...

    def adapter(self, network: Network) -> ChatAdapter: ...

    async def execute(self, action: Action, *, actor: MemberRef | None = None) -> bool: ...

    async def verified_in(self, member: MemberRef, community: CommunityRef) -> bool: ...


class VerificationUnavailable(Exception):
    """Identity checks are not configured; the message says what an admin must add."""


def server_key(config: Config, environ: Mapping[str, str] | None) -> ServerKey:
    """The configured identity key. Missing: checks are off; weak or unset: a config error."""
    if config.identity.hash_key is None:
        raise VerificationUnavailable("identity.hash_key is not set")
    try:
        return ServerKey(config.identity.hash_key.resolve(environ))
    except WeakKeyError as exc:
        raise ConfigError([str(exc)]) from None


class CheckContext:
    """The core, the key and the configured methods, shared by every part of the service."""

    def __init__(
        self,
        core: ServiceCore,
        *,
        key: ServerKey | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        config = core.config
        if not config.methods.configured():
            raise VerificationUnavailable(
                "no verification method is configured; add a [methods.oidc], [methods.email_code]"
                " or [methods.moderator] section"
            )
        self.core = core
        self.config = config
        self.key = key if key is not None else server_key(config, environ)
        self.links = LinkSigner(
            self.key, ttl=timedelta(minutes=config.identity.link_ttl_minutes), clock=core.clock
        )
        self.oidc: OidcMethod | None = None
        self.email: EmailCodeMethod | None = None
        self.moderator: ModeratorReview | None = None
        methods = config.methods
        if methods.oidc is not None:
            secret = methods.oidc.client_secret
            self.oidc = OidcMethod(
                methods.oidc,
                client_secret=secret.resolve(environ) if secret else None,
                redirect_uri=f"{config.web.base_url}{CALLBACK_PATH}",
                key=self.key,
            )
        if methods.email_code is not None:
            password = methods.email_code.smtp_password
            self.email = EmailCodeMethod(
                methods.email_code,
                smtp_password=password.resolve(environ) if password else None,
                key=self.key,
                clock=lambda: core.clock().timestamp(),
            )
        if methods.moderator is not None:
            self.moderator = ModeratorReview(methods.moderator, key=self.key)

    # --- plain facts --------------------------------------------------------------------------

    def now(self) -> datetime:
        """The core's clock (tests shift it)."""
        return self.core.clock()

    def community_name(self, community: CommunityRef) -> str:
        """The configured name, else the name the network knows (a space's, a server's)."""
        settings = self.config.community(community.network, community.id)
        if settings and settings.name:
            return settings.name
        adapter = self.core.adapters.get(community.network)
        return adapter.name_of(community) if adapter is not None else community.id

    def accepted(self, community: CommunityRef) -> frozenset[str]:
        """The levels that earn the badge in `community`."""
        return self.config.accepted_levels(community.network, community.id)

    def prefix(self, network: Network) -> str:
        """How commands start on `network` (`!` on Matrix, `/` on Discord)."""
        return self.core.adapter(network).capabilities.command_prefix

    def display(self, member: MemberRef) -> str:
        """How moderators see the member named (a mention, a Matrix id)."""
        return self.core.adapter(member.network).display(member)

    # --- what every part does the same way ----------------------------------------------------

    async def tell(self, member: MemberRef, text: str) -> None:
        """A private message to the member."""
        await self.core.execute(SendDirect(member, text))

    async def audit(
        self,
        community: CommunityRef | None,
        actor: MemberRef,
        action: str,
        target: MemberRef,
        detail: str,
    ) -> None:
        """One line in the audit trail, written before the member is answered (a dry run marks
        it so)."""
        await self.core.audit.write(
            AuditDraft(
                network=target.network,
                community_id=community.id if community else None,
                actor=actor.id,
                action=action,
                target=target.id,
                detail=detail,
                at=self.now(),
                dry_run=self.core.dry_run,
            )
        )

    def pending(
        self,
        kind: str,
        raw: str,
        claims: LinkClaims,
        method: str,
        state: dict[str, Any],
        ttl: timedelta,
    ) -> PendingRecord:
        """The row of an open check started from the link `claims` describes."""
        now = self.now()
        return PendingRecord(
            id=row_id(kind, raw),
            network=claims.network,
            account_id=claims.account,
            community_id=claims.community_id,
            method=method,
            status=OPEN,
            state=state,
            created_at=now,
            expires_at=now + ttl,
        )

    async def take(self, rid: str, browser: str | None, method: str) -> PendingRecord:
        """Use up an open check, then make sure it is the one expected, from this browser.

        Used up first, whoever presents it: a leaked callback tried from another browser is
        burnt, so it can never be replayed later, from any browser (the member starts again)."""
        if not await self.core.store.consume_pending(rid, self.now()):
            raise StaleCheck(f"{method} check {rid[:12]} already used, expired or unknown")
        record = await self.core.store.get_pending(rid)
        if record is None or record.method != method:
            raise StaleCheck(f"no {method} check {rid[:12]}")
        if browser is not None and not same(
            str(record.state.get("browser", "")), browser_tag(browser)
        ):
            raise StaleCheck(f"{method} check {rid[:12]} was started in another browser")
        return record

    @staticmethod
    def origin(record: PendingRecord) -> CommunityRef:
        """The community a check was started for."""
        community = record.community
        if community is None:  # every check is started from a community's link
            raise StaleCheck(f"check {record.id[:12]} has no community")
        return community

    async def failed(self, record: PendingRecord, failure: VerificationFailed) -> Result:
        """Nothing is stored; the person is told on the page and privately. The page's title
        names the problem (titles.py keeps every such title in one place)."""
        log.info(
            "a %s check in %s failed: %s (%s)",
            record.method,
            record.community_id,
            failure.reason,
            failure.detail,
        )
        self.core.metrics.check(record.method, "failed")
        await self.tell(record.member, f"Your verification did not succeed. {failure}")
        return Result(False, failure_title(failure.reason), str(failure))
