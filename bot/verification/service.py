"""The identity check from start to badge: link -> method -> proof -> record -> badge.

Everything a person is owed is written before they are told (write, then answer):
* the link row exists before the `verify` reply carries it;
* a method's pending check (PKCE verifier, nonce, hashed code, attempt count) is stored before the
  browser is sent on, and an attempt is counted before the code is compared;
* the verification record is stored before any badge is shown or message sent.

Single use comes from storage: links and checks are pending rows that `consume_pending` marks used
exactly once, so a replayed callback, a reused link or a second code submission finds nothing.
Failure stores no verification. The only identity kept is the keyed hash a method proved.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from bot import policy
from bot.actions import NotifyAdmins, NotifyModerators, SendDirect, SetBadge
from bot.config import ConfigError
from bot.core import BotCore
from bot.messages import accepted_words, date_words, each, either, in_words, method_words
from bot.model import CommunityRef, MemberRef
from bot.storage.budgets import Holder
from bot.storage.records import PendingRecord, RevocationRecord, VerificationRecord
from bot.verification.identity import ServerKey, WeakKeyError, same
from bot.verification.links import LinkClaims, LinkError, LinkProblem, LinkSigner
from bot.verification.providers import Proof, VerificationFailed
from bot.verification.providers.email_code import CodeState, EmailCodeMethod, parse_address
from bot.verification.providers.moderator import ModeratorReview
from bot.verification.providers.oidc import CALLBACK_PATH, OidcMethod
from bot.verification.titles import failure_title

log = logging.getLogger(__name__)

MethodName = Literal["oidc", "email_code", "moderator"]
RefreshBadges = Callable[[MemberRef], Awaitable[Sequence[CommunityRef]]]

OPEN: Final = "open"
LINK: Final = "link"
EMAIL_CHECK_TTL = timedelta(hours=1)
SWEEP_STATE_KEY: Final = "expiry_swept_at"
SWEEP_NETWORK: Final = "verification"


def row_id(kind: str, raw: str) -> str:
    """Pending rows are stored under a hash of the bearer value, so the database alone cannot
    be used to replay a link, a callback or a code page."""
    return hashlib.sha256(f"{kind}:{raw}".encode()).hexdigest()


def browser_tag(browser_id: str) -> str:
    return hashlib.sha256(f"browser:{browser_id}".encode()).hexdigest()


# --- what the web pages show ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MethodChoice:
    name: MethodName
    title: str
    shares: str
    keeps: str
    needs_address: bool = False


@dataclass(frozen=True, slots=True)
class LinkPage:
    claims: LinkClaims
    community_name: str
    methods: tuple[MethodChoice, ...]


@dataclass(frozen=True, slots=True)
class Redirect:
    url: str


@dataclass(frozen=True, slots=True)
class CodeSent:
    """Show the code page for `check_id` with `message` (a problem, when `problem`, whose
    stable code is `reason`: "wrong_code", "code_expired", "smtp", ...)."""

    check_id: str
    message: str
    problem: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Result:
    """The end of a check, as the person sees it (page and private message)."""

    ok: bool
    title: str
    message: str


Started = Redirect | CodeSent | Result


class StaleCheck(VerificationFailed):
    """The check was finished, used, or never existed (forged state, replayed callback)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "This verification step is no longer valid: it was already used, has expired, or"
            " was not started in this browser. Nothing was stored. Run the verify command again"
            " for a fresh link.",
            reason="stale_check",
            detail=detail,
        )


class VerificationUnavailable(Exception):
    """Identity checks are not configured; the message says what an admin must add."""


# --- the service ---------------------------------------------------------------------------------


class VerificationService:
    def __init__(
        self,
        core: BotCore,
        *,
        refresh_badges: RefreshBadges | None = None,
        key: ServerKey | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.core = core
        config = core.config
        self.config = config
        if not config.methods.configured():
            raise VerificationUnavailable(
                "no verification method is configured; add a [methods.oidc], [methods.email_code]"
                " or [methods.moderator] section"
            )
        if key is None:
            if config.identity.hash_key is None:
                raise VerificationUnavailable("identity.hash_key is not set")
            try:
                key = ServerKey(config.identity.hash_key.resolve(environ))
            except WeakKeyError as exc:
                raise ConfigError([str(exc)]) from None
        self.key = key
        self.links = LinkSigner(
            key, ttl=timedelta(minutes=config.identity.link_ttl_minutes), clock=core.clock
        )
        self._refresh = refresh_badges or self.refresh_badges
        self._resend_lock = asyncio.Lock()  # read-modify-write of the send counter
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
                key=key,
            )
        if methods.email_code is not None:
            password = methods.email_code.smtp_password
            self.email = EmailCodeMethod(
                methods.email_code,
                smtp_password=password.resolve(environ) if password else None,
                key=key,
                clock=lambda: core.clock().timestamp(),
            )
        if methods.moderator is not None:
            self.moderator = ModeratorReview(methods.moderator, key=key)

    @classmethod
    def maybe(cls, core: BotCore, **kwargs: Any) -> VerificationService | None:
        """The service, or None (with a log line saying why) when no method is configured.

        A configured but unusable set-up (a missing or weak key, an unset secret) raises
        ConfigError instead: starting half-configured would hide the mistake."""
        try:
            return cls(core, **kwargs)
        except VerificationUnavailable as exc:
            log.warning("identity checks are off: %s", exc)
            return None

    async def close(self) -> None:
        if self.oidc is not None:
            await self.oidc.close()

    # --- small helpers ----------------------------------------------------------------------

    def now(self) -> datetime:
        return self.core.clock()

    def community_name(self, community: CommunityRef) -> str:
        """The configured name, else the name the network knows (a space's, a server's)."""
        settings = self.config.community(community.network, community.id)
        if settings and settings.name:
            return settings.name
        adapter = self.core.adapters.get(community.network)
        return adapter.name_of(community) if adapter is not None else community.id

    def methods_for(self, community: CommunityRef) -> tuple[MethodChoice, ...]:
        """The methods this community accepts, in plain words: what each shares and keeps."""
        accepted = self.config.accepted_methods(community.network, community.id)
        choices: list[MethodChoice] = []
        if "oidc" in accepted and self.oidc is not None:
            name = self.oidc.display_name
            choices.append(
                MethodChoice(
                    "oidc",
                    f"Sign in with {name}",
                    f"{name} tells the bot a fixed account number for you and, where it does,"
                    " how thoroughly it checked who you are.",
                    "A scrambled code made from that number, which cannot be turned back into"
                    " it; how you verified; and the dates. No name, e-mail address or document.",
                )
            )
        if "email_code" in accepted and self.email is not None:
            choices.append(
                MethodChoice(
                    "email_code",
                    f"Get a code at your {self.email.domains_text} e-mail address",
                    "You type your address; the bot mails a 6-digit code to it.",
                    "A scrambled code made from the address (not the address itself), which"
                    " cannot be turned back into it; how you verified; and the dates.",
                    needs_address=True,
                )
            )
        if "moderator" in accepted and self.moderator is not None:
            choices.append(
                MethodChoice(
                    "moderator",
                    "Ask a moderator to review your account",
                    "The moderators of this community see your account and decide.",
                    "Only the decision and the dates.",
                )
            )
        return tuple(choices)

    def link_url(self, token: str) -> str:
        return f"{self.config.web.base_url}/verify/{token}"

    # --- links ------------------------------------------------------------------------------

    async def issue_link(self, member: MemberRef, community: CommunityRef) -> str:
        """A fresh single-use link, recorded before it is handed out."""
        if not self.methods_for(community):
            raise VerificationUnavailable("this community accepts no configured method")
        token, claims = self.links.issue(member, community)
        await self.core.store.create_pending(
            PendingRecord(
                id=row_id(LINK, claims.link_id),
                network=member.network,
                account_id=member.id,
                community_id=community.id,
                method=None,
                status=LINK,
                state={},
                created_at=self.now(),
                expires_at=claims.expires_at,
            )
        )
        return self.link_url(token)

    async def redeem_link(self, link_id: str, expires_at: datetime) -> bool:
        """LinkLedger: use up a link exactly once."""
        return await self.core.store.consume_pending(row_id(LINK, link_id), self.now())

    async def link_redeemed(self, link_id: str) -> bool:
        """LinkLedger: a link whose row is gone (purged, or never issued here) counts as used."""
        row = await self.core.store.get_pending(row_id(LINK, link_id))
        return row is None or row.used_at is not None

    async def open_link(self, token: str) -> LinkPage:
        """What the link's page shows. Does not use up the link (chat previews fetch URLs)."""
        claims = await self.links.check_unused(token, self)
        community = claims.community
        return LinkPage(claims, self.community_name(community), self.methods_for(community))

    # --- starting a method ------------------------------------------------------------------

    async def start(
        self, token: str, method: str, *, browser: str, address: str | None = None
    ) -> Started:
        """Begin `method` for the link's account. Input is checked before the link is used up,
        so a typo in an address costs nothing; then the link is redeemed (single use)."""
        claims = self.links.read(token)
        offered = {m.name for m in self.methods_for(claims.community)}
        if method not in offered:
            raise VerificationFailed(
                "That method is not available in this community. Choose one from the list.",
                reason="method_not_offered",
            )
        if method == "email_code":
            assert self.email is not None
            identity = self.email.identity_of(address or "")  # domain and form, first
            await self._spend("code_sends", claims.member, identity)
        elif method == "oidc":
            assert self.oidc is not None
            await self.oidc.metadata()  # an unreachable provider should not burn the link
        claims = await self.links.redeem(token, self)
        if method == "oidc":
            return await self._start_oidc(claims, browser)
        if method == "email_code":
            return await self._start_email(claims, browser, address or "")
        return await self._start_review(claims)

    def _pending(
        self,
        kind: str,
        raw: str,
        claims: LinkClaims,
        method: str,
        state: dict[str, Any],
        ttl: timedelta,
    ) -> PendingRecord:
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

    async def _start_oidc(self, claims: LinkClaims, browser: str) -> Redirect:
        assert self.oidc is not None
        start = await self.oidc.begin()
        state = {
            "browser": browser_tag(browser),
            "nonce": start.nonce,
            "code_verifier": start.code_verifier,
        }
        await self.core.store.create_pending(
            self._pending("oidc", start.state, claims, "oidc", state, self.links.ttl)
        )
        return Redirect(start.authorization_url)

    async def _start_email(self, claims: LinkClaims, browser: str, address: str) -> CodeSent:
        assert self.email is not None
        check_id = secrets.token_urlsafe(32)
        rid = row_id("email", check_id)
        code, code_state = self.email.prepare(rid, address)
        state = {"browser": browser_tag(browser), "code": code_state.to_json()}
        await self.core.store.create_pending(
            self._pending("email", check_id, claims, "email_code", state, EMAIL_CHECK_TTL)
        )
        try:
            await self._deliver(rid, state, address, code, claims.community)
        except VerificationFailed as exc:  # the check exists: offer to send again from its page
            return CodeSent(check_id, str(exc), problem=True, reason=exc.reason)
        return CodeSent(check_id, self._sent_message(address))

    def _sent_message(self, address: str) -> str:
        assert self.email is not None
        minutes = self.email.settings.code_ttl_minutes
        return (
            f"A 6-digit code is on its way to {parse_address(address).mail_to}. Enter it"
            " below within"
            f" {minutes} minutes."
        )

    async def _deliver(
        self, rid: str, state: dict[str, Any], address: str, code: str, community: CommunityRef
    ) -> None:
        assert self.email is not None
        try:
            await self.email.deliver(address, code, self.community_name(community))
        except VerificationFailed:
            unsent = self.email.unsent(CodeState.from_json(state["code"]))
            await self.core.store.update_pending(rid, state={**state, "code": unsent.to_json()})
            raise

    async def _start_review(self, claims: LinkClaims) -> Result:
        assert self.moderator is not None
        member, community = claims.member, claims.community
        if await self._open_review(member, community) is None:
            ttl = timedelta(days=self.moderator.settings.request_ttl_days)
            record = self._pending(
                "review", secrets.token_urlsafe(16), claims, "moderator", {}, ttl
            )
            await self.core.store.create_pending(record)
            adapter = self.core.adapter(member.network)
            text = self.moderator.request_text(
                adapter.display(member),
                adapter.capabilities.command_prefix,
                lapses=in_words(record.expires_at, self.now()),
            )
            await self.core.execute(NotifyModerators(community, text), actor=member)
        return Result(
            True,
            "Your request is with the moderators",
            f"The moderators of {self.community_name(community)} will look at your request."
            " You will get a private message with their decision. You can close this page.",
        )

    async def _open_review(
        self, member: MemberRef, community: CommunityRef
    ) -> PendingRecord | None:
        now = self.now()
        for record in await self.core.store.pending_of_member(member):
            if (
                record.method == "moderator"
                and record.community_id == community.id
                and record.status == OPEN
                and record.used_at is None
                and record.expires_at > now
            ):
                return record
        return None

    # --- finishing a method -----------------------------------------------------------------

    async def _take(self, rid: str, browser: str | None, method: str) -> PendingRecord:
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

    async def oidc_callback(self, params: Mapping[str, str], *, browser: str) -> Result:
        """The provider sent the browser back. `state` must match an open check from this
        browser; it is used up before the code is redeemed, so a replay finds nothing."""
        if self.oidc is None:
            raise StaleCheck("OpenID Connect is not configured")
        state = params.get("state", "")
        if not state:
            raise StaleCheck("callback without state")
        record = await self._take(row_id("oidc", state), browser, "oidc")
        try:
            proof = await self.oidc.finish(
                params,
                nonce=str(record.state["nonce"]),
                code_verifier=str(record.state["code_verifier"]),
            )
        except VerificationFailed as exc:
            return await self._failed(record, exc)
        return await self.complete(record.member, self._origin(record), proof)

    async def submit_code(self, check_id: str, code: str, *, browser: str) -> Result | CodeSent:
        """Check a code. The attempt is counted (durably) before the comparison."""
        assert self.email is not None
        rid = row_id("email", check_id)
        record = await self._open_email_check(rid, browser)
        stored = CodeState.from_json(record.state["code"])
        try:
            await self._spend("code_tries", record.member, stored.identity_hash)
        except VerificationFailed as exc:  # tried too often today: the check ends
            await self.core.store.consume_pending(rid, self.now())
            return await self._failed(record, exc)
        attempts = await self.core.store.count_attempt(rid, self.now())
        if attempts is None:
            raise StaleCheck(f"e-mail check {rid[:12]} closed while a code was submitted")
        counted = replace(stored, attempts=attempts)
        try:
            proof = self.email.check(rid, counted, code)
        except VerificationFailed as exc:
            if exc.reason != "locked":
                return CodeSent(check_id, str(exc), problem=True, reason=exc.reason)
            await self.core.store.consume_pending(rid, self.now())
            return await self._failed(record, exc)
        record = await self._take(rid, browser, "email_code")
        return await self.complete(record.member, self._origin(record), proof)

    async def resend_code(self, check_id: str, address: str, *, browser: str) -> CodeSent:
        """Send a new code. The address is asked for again because it was never kept."""
        assert self.email is not None
        rid = row_id("email", check_id)
        async with self._resend_lock:
            record = await self._open_email_check(rid, browser)
            previous = CodeState.from_json(record.state["code"])
            code, fresh = self.email.prepare(rid, address, previous)
            await self._spend("code_sends", record.member, fresh.identity_hash)
            state = {**record.state, "code": fresh.to_json()}
            await self.core.store.update_pending(rid, state=state)
        community = self._origin(record)
        await self._deliver(rid, state, address, code, community)
        return CodeSent(check_id, self._sent_message(address))

    async def _spend(self, kind: str, member: MemberRef, identity_hash: str) -> None:
        """One code sent, or tried, out of the daily allowance of the account and of the
        address (by its keyed hash), shared by every check and process: a fresh check brings no
        fresh allowance, so the bot cannot be used to mail one address over and over."""
        assert self.email is not None
        settings = self.email.settings
        sends = kind == "code_sends"
        holders = [Holder(member.network, member.id), Holder("", identity_hash)]
        if await self.core.store.spend(
            kind,
            holders,
            limit=settings.daily_sends if sends else settings.daily_tries,
            window=timedelta(days=1),
            now=self.now(),
        ):
            return
        log.info("a daily allowance of %s ran out", kind)
        if sends:
            raise VerificationFailed(
                "No more codes can be sent to this address, or for your account, today. Try"
                " again tomorrow, or choose another way to verify.",
                reason="daily_sends",
            )
        raise VerificationFailed(
            "Too many codes were tried for this address, or for your account, today, so this"
            " check has ended and nothing was stored. Try again tomorrow.",
            reason="daily_tries",
        )

    async def _open_email_check(self, rid: str, browser: str) -> PendingRecord:
        record = await self.core.store.get_pending(rid)
        if (
            record is None
            or record.method != "email_code"
            or record.used_at is not None
            or record.expires_at <= self.now()
            or not same(str(record.state.get("browser", "")), browser_tag(browser))
        ):
            raise StaleCheck(f"no open e-mail check {rid[:12]} for this browser")
        return record

    async def code_page_open(self, check_id: str, browser: str) -> bool:
        try:
            await self._open_email_check(row_id("email", check_id), browser)
        except StaleCheck:
            return False
        return True

    def _origin(self, record: PendingRecord) -> CommunityRef:
        community = record.community
        if community is None:  # every check is started from a community's link
            raise StaleCheck(f"check {record.id[:12]} has no community")
        return community

    async def _failed(self, record: PendingRecord, failure: VerificationFailed) -> Result:
        """Nothing is stored; the person is told on the page and privately. The page's title
        names the problem (titles.py keeps every such title in one place)."""
        log.info(
            "a %s check in %s failed: %s (%s)",
            record.method,
            record.community_id,
            failure.reason,
            failure.detail,
        )
        await self.core.execute(
            SendDirect(record.member, f"Your verification did not succeed. {failure}")
        )
        return Result(False, failure_title(failure.reason), str(failure))

    # --- moderator review -------------------------------------------------------------------

    async def _take_review(self, member: MemberRef, community: CommunityRef) -> PendingRecord:
        """The member's open request in this community, used up; two moderators answering at
        once cannot both decide."""
        request = await self._open_review(member, community)
        if request is None or not await self.core.store.consume_pending(request.id, self.now()):
            raise VerificationFailed(
                "There is no open review request from them in this community.",
                reason="no_request",
            )
        return request

    async def approve(
        self, member: MemberRef, community: CommunityRef, *, moderator: MemberRef
    ) -> Result:
        if self.moderator is None:
            raise VerificationUnavailable("moderator review is not configured")
        await self._take_review(member, community)
        await self._audit(community, moderator, "review_approved", member, "")
        return await self.complete(member, community, self.moderator.approve(member))

    async def deny(
        self, member: MemberRef, community: CommunityRef, *, moderator: MemberRef, reason: str
    ) -> Result:
        if self.moderator is None:
            raise VerificationUnavailable("moderator review is not configured")
        request = await self._take_review(member, community)
        await self._audit(community, moderator, "review_denied", member, reason)
        return await self._failed(request, self.moderator.deny(reason))

    # --- success ----------------------------------------------------------------------------

    async def complete(self, member: MemberRef, origin: CommunityRef, proof: Proof) -> Result:
        """Store the verification, bind the identity, show the badge, tell the member.

        Only communities that accept the proved level count: the identity is bound there (and
        only there may it exceed its limit), the badge shows there. If none of the member's
        communities accepts the level, nothing is stored and the member is told what would.

        An identity may hold at most N accounts per community; if this account would exceed it
        in any community it shares with the bot, nothing is stored, the member is told why, and
        each such community's moderator log records the attempt (without naming the other
        account, which would reveal that the two belong to one person).
        """
        adapter = self.core.adapter(member.network)
        joined = list(await adapter.member_communities(member))
        shared = joined if origin in joined else [*joined, origin]
        counts = [c for c in shared if proof.level in self._accepted(c)]
        previous = await self.core.cache.verification(member)
        keeps_previous = previous is not None and policy.is_verified(
            previous, self._accepted(origin), self.now()
        )
        if origin not in counts and (not counts or keeps_previous):
            return await self._not_enough(member, origin, proof, kept=keeps_previous)
        now = self.now()
        days = self.config.identity.expiry_days
        record = VerificationRecord(
            network=member.network,
            account_id=member.id,
            method=proof.method,
            level=proof.level,
            identity_hash=proof.identity_hash or "",
            verified_at=now,
            expires_at=now + timedelta(days=days) if days else None,
        )
        stored = await self.core.cache.store_verification(
            record,
            counts,
            limit=self.config.identity.max_accounts_per_identity,
            bind=proof.identity_hash is not None and proof.method != "moderator",
        )
        if stored.revoked is not None:
            return await self._refuse_revoked(member, origin, proof, stored.revoked)
        if stored.full:
            return await self._refuse_second_account(member, proof, stored.full)
        log.info("a member verified in %s (%s)", origin.id, proof.method)
        await self._audit(origin, member, "verified", member, f"{proof.method} {proof.level}")
        shown = list(await self._refresh(member))
        message = self._success_text(proof, origin, shown, shared, joined, record.expires_at)
        await self.core.execute(SendDirect(member, message))
        if origin in counts:
            return Result(True, "You are verified", message)
        return Result(True, f"Not enough for {self.community_name(origin)}", message)

    def _accepted(self, community: CommunityRef) -> frozenset[str]:
        return self.config.accepted_levels(community.network, community.id)

    async def _not_enough(
        self, member: MemberRef, origin: CommunityRef, proof: Proof, *, kept: bool
    ) -> Result:
        """The check worked but proved less than the community asks: say what it needs."""
        name = self.community_name(origin)
        prefix = self.core.adapter(member.network).capabilities.command_prefix
        done = method_words(self.config, proof.method, proof.level)
        needs = accepted_words(self.config, self._accepted(origin))
        message = (
            f"Your check worked ({done}), but {name} gives the Verified badge only to members"
            f" who {needs}. Nothing was stored"
            + (", and your earlier verification stays as it was" if kept else "")
            + f". To get the badge there, run {prefix}verify again and choose that way."
        )
        log.info("a check in %s proved less than it needs (%s)", origin.id, proof.method)
        await self.core.execute(SendDirect(member, message))
        return Result(False, f"Not enough for {name}", message)

    async def _refuse_revoked(
        self,
        member: MemberRef,
        origin: CommunityRef,
        proof: Proof,
        revocation: RevocationRecord,
    ) -> Result:
        """A revoked account, or another account with a revoked identity, stays unverified
        until a moderator lifts the revocation. The other account is never named."""
        adapter = self.core.adapter(member.network)
        own = revocation.account_id == member.id
        await self._audit(origin, member, "revoked_identity_refused", member, proof.method)
        if not own:
            done = method_words(self.config, proof.method, proof.level)
            await self.core.execute(
                NotifyModerators(
                    origin,
                    f"{adapter.display(member)} tried to verify ({done}) with an identity whose"
                    " verification a moderator revoked. Nothing was stored.",
                ),
                actor=member,
            )
        message = (
            "A moderator revoked your verification, so you cannot verify again until a"
            " moderator lifts the revocation. Nothing was stored."
            if own
            else "A moderator revoked the verification of this identity, so it cannot verify"
            " another account until a moderator lifts that. Nothing was stored."
        )
        await self.core.execute(SendDirect(member, message))
        return Result(False, "Verification revoked", message)

    async def _refuse_second_account(
        self, member: MemberRef, proof: Proof, conflicts: Sequence[CommunityRef]
    ) -> Result:
        adapter = self.core.adapter(member.network)
        limit = self.config.identity.max_accounts_per_identity
        prefix = adapter.capabilities.command_prefix
        names = either([self.community_name(c) for c in conflicts])
        others = "another account" if limit == 1 else f"{limit} other accounts"
        done = method_words(self.config, proof.method, proof.level)
        for community in conflicts:
            await self._audit(community, member, "second_account_refused", member, proof.method)
            await self.core.execute(
                NotifyAdmins(
                    community,
                    f"{adapter.display(member)} tried to verify ({done}) with an identity that"
                    f" already verifies {others} here. Nothing was stored.",
                ),
                actor=member,
            )
        accounts = "one account" if limit == 1 else f"{limit} accounts"
        message = (
            f"This identity already verifies {others} in {names}, and one person may verify"
            f" at most {accounts} per community, so nothing was stored. To move the badge to"
            f" this account, run {prefix}unverify from the other account first, or ask a"
            " moderator."
        )
        await self.core.execute(SendDirect(member, message))
        return Result(False, "Already used for another account", message)

    def _success_text(
        self,
        proof: Proof,
        origin: CommunityRef,
        shown: Sequence[CommunityRef],
        shared: Sequence[CommunityRef],
        joined: Sequence[CommunityRef],
        expires_at: datetime | None,
    ) -> str:
        """What the member is told: first about the community they verified for."""
        done = method_words(self.config, proof.method, proof.level)
        if proof.level in self._accepted(origin):
            parts = [f"You are verified ({done})."]
        else:
            needs = accepted_words(self.config, self._accepted(origin))
            parts = [
                f"Your check worked ({done}), but {self.community_name(origin)} gives the"
                f" Verified badge only to members who {needs}."
            ]
            shared = [c for c in shared if c != origin]
        if shown:
            names = each([self.community_name(c) for c in shown])
            parts.append(f"Your Verified badge now shows in {names}.")
        stuck = [c for c in joined if c not in shown and proof.level in self._accepted(c)]
        if stuck:
            names = each([self.community_name(c) for c in stuck])
            parts.append(
                f"I could not show your badge in {names} yet; its admins were told what to fix."
            )
        for community in shared:
            if proof.level not in self._accepted(community):
                needs = accepted_words(self.config, self._accepted(community))
                parts.append(
                    f"{self.community_name(community)} gives the badge only to members who"
                    f" {needs}, so it does not show there."
                )
        if expires_at is not None:
            parts.append(
                f"Your verification lasts until {date_words(expires_at)}; you will get a"
                " reminder before then."
            )
        return " ".join(parts)

    async def refresh_badges(self, member: MemberRef) -> list[CommunityRef]:
        """Show or take down the member's badge in every community shared with the bot."""
        adapter = self.core.adapter(member.network)
        record = await self.core.cache.verification(member)
        shown: list[CommunityRef] = []
        for community in await adapter.member_communities(member):
            accepted = self.config.accepted_levels(community.network, community.id)
            on = policy.is_verified(record, accepted, self.now())
            if await self.core.execute(SetBadge(member, community, on)) and on:
                shown.append(community)
        return shown

    # --- ending a verification --------------------------------------------------------------

    async def unverify(self, member: MemberRef) -> bool:
        """The member's own choice: the record and its identity bindings go, badges come off."""
        removed = await self.core.cache.delete_verification(member)
        await self._refresh(member)
        if removed:
            await self._audit(None, member, "unverified", member, "")
        return removed

    async def revoke(
        self, member: MemberRef, *, by: MemberRef, reason: str, community: CommunityRef
    ) -> bool:
        """A moderator's decision. The record stays, marked revoked, and a revocation bars the
        account and its identity from verifying again until a moderator lifts it."""
        record = await self.core.cache.revoke_verification(
            member, by=by.id, reason=reason, at=self.now(), community=community
        )
        if record is None:
            return False
        await self._audit(community, by, "revoked", member, reason)
        await self._refresh(member)
        await self.core.execute(
            SendDirect(
                member,
                f"A moderator of {self.community_name(community)} revoked your verification:"
                f" {reason}. Your Verified badge was removed, and you cannot verify again"
                " unless a moderator lifts the revocation.",
            )
        )
        return True

    async def lift(self, member: MemberRef, *, by: MemberRef, community: CommunityRef) -> bool:
        """End a revocation: the member (and their identity) may verify again."""
        if not await self.core.store.lift_revocation(member, by=by.id, at=self.now()):
            return False
        await self._audit(community, by, "revocation_lifted", member, "")
        prefix = self.core.adapter(member.network).capabilities.command_prefix
        await self.core.execute(
            SendDirect(
                member,
                f"A moderator of {self.community_name(community)} lifted the revocation of"
                f" your verification. You may verify again with {prefix}verify.",
            )
        )
        return True

    async def sweep(self) -> tuple[int, int]:
        """Remind members whose verification ends soon; take down expired badges.

        Returns (reminded, expired). Safe to run often: reminders are marked, and expiry picks
        up where the last sweep (stored) stopped.
        """
        now = self.now()
        identity = self.config.identity
        reminded = 0
        if identity.expiry_days:
            due = await self.core.store.verifications_due_reminder(
                remind_before=now + timedelta(days=identity.reminder_days), now=now
            )
            for record in due:
                prefix = self.core.adapter(record.network).capabilities.command_prefix
                assert record.expires_at is not None
                await self.core.store.mark_reminded(record.member, now)
                await self.core.execute(
                    SendDirect(
                        record.member,
                        f"Your verification ends {in_words(record.expires_at, now)}. Run"
                        f" {prefix}verify in a community before then to keep your badge.",
                    )
                )
                reminded += 1
        last = await self.core.store.get_state(SWEEP_NETWORK, SWEEP_STATE_KEY)
        # On the very first sweep, older expiries are left to the badge reconciliation at start.
        since = datetime.fromisoformat(last) if last else now - timedelta(days=1)
        expired = await self.core.store.verifications_expired(now=now, since=since)
        for record in expired:
            if record.network not in self.core.adapters:
                continue
            await self._refresh(record.member)
            prefix = self.core.adapter(record.network).capabilities.command_prefix
            await self.core.execute(
                SendDirect(
                    record.member,
                    f"Your verification has ended, so your Verified badge was removed. Run"
                    f" {prefix}verify to verify again.",
                )
            )
        await self.core.store.set_state(SWEEP_NETWORK, SWEEP_STATE_KEY, now.isoformat(), now)
        await self.core.store.purge_pending(now)
        return reminded, len(expired)

    async def _audit(
        self,
        community: CommunityRef | None,
        actor: MemberRef,
        action: str,
        target: MemberRef,
        detail: str,
    ) -> None:
        await self.core.store.audit(
            network=target.network,
            community_id=community.id if community else None,
            actor=actor.id,
            action=action,
            target=target.id,
            detail=detail,
            at=self.now(),
            dry_run=self.core.dry_run,
        )


__all__ = [
    "CodeSent",
    "LinkError",
    "LinkPage",
    "LinkProblem",
    "MethodChoice",
    "Redirect",
    "Result",
    "StaleCheck",
    "VerificationFailed",
    "VerificationService",
    "VerificationUnavailable",
]
