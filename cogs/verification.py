"""Identity checks in chat: verify, unverify, badge, whois, revoke, approve, deny.

The commands hand out links and report outcomes; the checks themselves run in
`bot.verification.service` and its web pages. Network-neutral: the same words on every network.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.actions import NotifyAdmins, SendDirect, SetBadge
from bot.cog import Cog, command, listener
from bot.core import BotCore
from bot.model import (
    Access,
    CommandContext,
    CommandError,
    CommunityRef,
    MemberJoined,
    MemberRef,
    ParamKind,
    ParamSpec,
)
from bot.policy import is_verified
from bot.storage.records import VerificationRecord
from bot.verification.providers import VerificationFailed
from bot.verification.service import VerificationService, VerificationUnavailable
from cogs.badges import Badges

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 300.0
STORED_TABLES = ("verifications", "identity_bindings", "pending_checks")

MEMBER = ParamSpec("member", ParamKind.MEMBER, "the member (a mention or their account id)")
REASON = ParamSpec("reason", ParamKind.TEXT, "why, in a few words (the member is told)")


class Verification(Cog):
    """Optional identity checks and the badge they earn."""

    def __init__(self, core: BotCore) -> None:
        super().__init__(core)
        self.service = VerificationService.maybe(core, refresh_badges=self._refresh_badges)

    # --- plumbing ---------------------------------------------------------------------------

    def _require_service(self) -> VerificationService:
        if self.service is None:
            raise CommandError(
                "Identity checks are not set up on this bot yet. An admin can enable them in"
                " the configuration ([methods.*] and identity.hash_key)."
            )
        return self.service

    async def _refresh_badges(self, member: MemberRef) -> list[CommunityRef]:
        """The Badges cog keeps badges in line with the database; use it when loaded."""
        try:
            badges = self.core.cog(Badges)
        except LookupError:
            assert self.service is not None
            return await self.service.refresh_badges(member)
        return await badges.refresh(member)

    def _prefix(self, ctx: CommandContext) -> str:
        return self.core.adapter(ctx.network).capabilities.command_prefix

    def _display(self, member: MemberRef) -> str:
        return self.core.adapter(member.network).display(member)

    @staticmethod
    def _community(ctx: CommandContext) -> CommunityRef:
        if ctx.community is None:
            raise CommandError("Run this inside the community it is about.")
        return ctx.community

    def _live(self, record: VerificationRecord | None, community: CommunityRef) -> bool:
        accepted = self.core.config.accepted_levels(community.network, community.id)
        return is_verified(record, accepted, self.core.clock())

    # --- lifecycle --------------------------------------------------------------------------

    async def on_ready(self) -> None:
        # the web pages are served by the application (bot.app), beside /healthz and /metrics
        if self.service is not None:
            self.core.spawn(self._sweep_forever(), "verification expiry sweep")

    async def close(self) -> None:
        """Release the service's HTTP and SMTP clients (at application stop)."""
        if self.service is not None:
            await self.service.close()

    async def _sweep_forever(self) -> None:
        assert self.service is not None
        while True:
            try:
                reminded, expired = await self.service.sweep()
                if reminded or expired:
                    log.info("verification sweep: %d reminded, %d expired", reminded, expired)
            except Exception:
                log.exception("verification sweep failed; will retry")
            await asyncio.sleep(SWEEP_INTERVAL_SECONDS)

    # --- members ----------------------------------------------------------------------------

    @command("verify", help="Get a private link to verify your account (optional)")
    async def verify(self, ctx: CommandContext) -> None:
        service = self._require_service()
        community = self._community(ctx)
        try:
            url = await service.issue_link(ctx.member, community)
        except VerificationUnavailable:
            raise CommandError(
                "This community accepts no verification method yet; ask an admin."
            ) from None
        minutes = self.core.config.identity.link_ttl_minutes
        record = await self.core.cache.verification(ctx.member)
        lines = []
        if self._live(record, community) and record is not None:
            lines.append(
                f"You are already verified here (level {record.level}); verifying again renews it."
            )
        lines += [
            f"Here is your private link to verify for {service.community_name(community)}."
            f" It works once, for {minutes} minutes:",
            url,
            "Verification is optional. The page lists the ways to verify and what each one"
            " shares and keeps. Do not share this link.",
        ]
        await self.core.respond(ctx, "\n".join(lines), private=True)

    @command(
        "unverify",
        help="Remove your verification and your badge everywhere",
        direct_ok=True,
    )
    async def unverify(self, ctx: CommandContext) -> None:
        service = self._require_service()
        if await service.unverify(ctx.member):
            await self.core.respond(
                ctx, "Your verification is removed and your badge taken down everywhere."
            )
        else:
            await self.core.respond(ctx, "You were not verified; nothing changed.")

    @command(
        "badge",
        help="Show whether you (or another member) hold the Verified badge here",
        params=(ParamSpec("member", ParamKind.MEMBER, "whom to look up", required=False),),
    )
    async def badge(self, ctx: CommandContext, member: MemberRef | None = None) -> None:
        community = self._community(ctx)
        target = member or ctx.member
        who = "You" if target == ctx.member else self._display(target)
        record = await self.core.cache.verification(target)
        if record is not None and self._live(record, community):
            since = f"{record.verified_at:%Y-%m-%d}"
            await self.core.respond(
                ctx, f"{who}: verified here (level {record.level}, since {since})."
            )
            return
        hint = f" Run {self._prefix(ctx)}verify to verify." if target == ctx.member else ""
        await self.core.respond(ctx, f"{who}: not verified here.{hint}")

    # --- moderators -------------------------------------------------------------------------

    @command(
        "whois",
        help="Show a member's verification details (moderators)",
        params=(MEMBER,),
        access=Access.MODERATOR,
    )
    async def whois(self, ctx: CommandContext, member: MemberRef) -> None:
        community = self._community(ctx)
        record = await self.core.store.get_verification(member)
        name = self._display(member)
        if record is None:
            await self.core.respond(ctx, f"{name}: no verification on record.")
            return
        lines = [
            f"{name}: method {record.method}, level {record.level},"
            f" verified {record.verified_at:%Y-%m-%d}"
            + (f", expires {record.expires_at:%Y-%m-%d}" if record.expires_at else "")
            + ".",
            "Counts here: " + ("yes" if self._live(record, community) else "no") + ".",
        ]
        if record.revoked_at is not None:
            by = MemberRef(member.network, record.revoked_by) if record.revoked_by else None
            lines.append(
                f"Revoked {record.revoked_at:%Y-%m-%d}"
                + (f" by {self._display(by)}" if by else "")
                + f": {record.revoke_reason or 'no reason given'}."
            )
        if record.method != "moderator":
            holders = await self.core.store.accounts_for_identity(
                member.network, community.id, record.identity_hash
            )
            lines.append(f"Accounts verified here with the same identity: {len(holders)}.")
        await self.core.respond(ctx, "\n".join(lines))

    @command(
        "revoke",
        help="Revoke a member's verification and badge (moderators)",
        params=(MEMBER, REASON),
        access=Access.MODERATOR,
    )
    async def revoke(self, ctx: CommandContext, member: MemberRef, reason: str) -> None:
        service = self._require_service()
        community = self._community(ctx)
        adapter = self.core.adapter(member.network)
        if community not in await adapter.member_communities(member):
            raise CommandError(f"{self._display(member)} is not a member of this community.")
        if await service.revoke(member, by=ctx.member, reason=reason, community=community):
            await self.core.respond(
                ctx, f"Revoked {self._display(member)}'s verification. They were told why."
            )
        else:
            await self.core.respond(ctx, f"{self._display(member)} holds no verification.")

    @command(
        "approve",
        help="Approve a member's request for moderator review (moderators)",
        params=(MEMBER,),
        access=Access.MODERATOR,
    )
    async def approve(self, ctx: CommandContext, member: MemberRef) -> None:
        service = self._require_service()
        try:
            result = await service.approve(member, self._community(ctx), moderator=ctx.member)
        except (VerificationFailed, VerificationUnavailable) as exc:
            raise CommandError(str(exc)) from None
        if result.ok:
            await self.core.respond(ctx, f"Approved: {self._display(member)} is now verified.")
        else:
            await self.core.respond(ctx, f"Not stored: {result.message}")

    @command(
        "deny",
        help="Decline a member's request for moderator review, with a reason (moderators)",
        params=(MEMBER, REASON),
        access=Access.MODERATOR,
    )
    async def deny(self, ctx: CommandContext, member: MemberRef, reason: str) -> None:
        service = self._require_service()
        try:
            await service.deny(member, self._community(ctx), moderator=ctx.member, reason=reason)
        except (VerificationFailed, VerificationUnavailable) as exc:
            raise CommandError(str(exc)) from None
        await self.core.respond(ctx, f"Declined. {self._display(member)} was told your reason.")

    # --- joins: one identity, N accounts per community -------------------------------------

    @listener(MemberJoined)
    async def hold_identity_limit(self, event: MemberJoined) -> None:
        """A verified member joining a community binds their identity there; if the identity
        already holds its limit of other accounts there, the badge stays off and moderators
        are told."""
        record = await self.core.cache.verification(event.member)
        if record is None or record.method == "moderator" or record.revoked_at is not None:
            return
        member, community = event.member, event.community
        limit = self.core.config.identity.max_accounts_per_identity
        holders = await self.core.store.accounts_for_identity(
            member.network, community.id, record.identity_hash
        )
        if member.id in holders:
            return
        if len(holders) < limit:
            await self.core.cache.bind_identity(
                community, member, record.identity_hash, self.core.clock()
            )
            return
        await self.core.cache.bind_identity(
            community, member, record.identity_hash, self.core.clock(), refused=True
        )
        await self.core.execute(SetBadge(member, community, False))
        await self.core.execute(
            NotifyAdmins(
                community,
                f"{self._display(member)} joined verified, but their identity already verifies"
                f" {limit} account(s) here, so no badge is shown.",
            )
        )
        await self.core.execute(
            SendDirect(
                member,
                "Your identity already verifies another account in this community, so your"
                " badge is not shown here.",
            )
        )

    # --- data rights ------------------------------------------------------------------------

    async def export_member_data(self, member: MemberRef) -> dict[str, Any]:
        record = await self.core.store.get_verification(member)
        if record is None:
            return {}
        return {
            "verification": {
                "method": record.method,
                "level": record.level,
                "identity_fingerprint": record.identity_hash,
                "verified_at": record.verified_at.isoformat(),
                "expires_at": record.expires_at.isoformat() if record.expires_at else None,
                "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
                "revoke_reason": record.revoke_reason,
            }
        }

    async def erase_member_data(self, member: MemberRef) -> int:
        removed = await self.core.store.erase_member(member, tables=STORED_TABLES)
        self.core.cache.forget_member(member)
        return removed
