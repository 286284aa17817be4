"""Identity checks in chat: verify, unverify, badge, whois, revoke, approve, deny.

The commands hand out links and report outcomes; the checks themselves run in
`bot.verification.service` and its web pages. Network-neutral: the same words on every network.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from bot import policy
from bot.actions import NotifyAdmins, NotifyModerators, SendDirect, SetBadge
from bot.cog import Cog, command, listener
from bot.core import BotCore
from bot.messages import ago_words, duration_words, in_words, method_words, newcomer_notice
from bot.model import (
    Access,
    CommandContext,
    CommandError,
    CommunityRef,
    MemberJoined,
    MemberRef,
    ParamKind,
    ParamSpec,
    UnverifiedPolicy,
)
from bot.policy import is_verified
from bot.storage.records import VerificationRecord
from bot.verification.providers import VerificationFailed
from bot.verification.service import VerificationService, VerificationUnavailable
from cogs.badges import Badges

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 300.0
STORED_TABLES = ("verifications", "identity_bindings", "pending_checks", "revocations")

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

    async def _community_named(self, ctx: CommandContext, name: str | None) -> CommunityRef:
        """The community a command is about: where it was typed, or (in a direct message) the
        member's only community, or the one they name."""
        if ctx.community is not None:
            return ctx.community
        service = self._require_service()
        mine = list(await self.core.adapter(ctx.network).member_communities(ctx.member))
        if name:
            wanted = name.strip().casefold()
            named = [c for c in mine if service.community_name(c).casefold() == wanted]
            if len(named) == 1:
                return named[0]
        elif len(mine) == 1:
            return mine[0]
        if not mine:
            raise CommandError(
                "You are not in any community I look after, so there is nothing to verify for."
            )
        names = ", ".join(service.community_name(c) for c in mine)
        raise CommandError(
            f"Say which community you mean: {self._prefix(ctx)}verify <name>, with one of: {names}."
        )

    def _how(self, record: VerificationRecord) -> str:
        """How the member verified, in plain words (for them and moderators only)."""
        return method_words(self.core.config, record.method, record.level)

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

    @command(
        "verify",
        help="Get a private link to verify your account (optional)",
        params=(
            ParamSpec(
                "community",
                ParamKind.TEXT,
                "which community, when you ask in a direct message and are in several",
                required=False,
            ),
        ),
        direct_ok=True,
    )
    async def verify(self, ctx: CommandContext, community: str | None = None) -> None:
        service = self._require_service()
        place = await self._community_named(ctx, community)
        if await self.core.store.active_revocation(ctx.member) is not None:
            raise CommandError(
                "A moderator revoked your verification, so you cannot verify again until a"
                " moderator lifts the revocation."
            )
        try:
            url = await service.issue_link(ctx.member, place)
        except VerificationUnavailable:
            raise CommandError(
                "This community offers no way to verify yet; ask an admin."
            ) from None
        lifetime = duration_words(timedelta(minutes=self.core.config.identity.link_ttl_minutes))
        record = await self.core.cache.verification(ctx.member)
        lines = []
        if self._live(record, place) and record is not None:
            lines.append(
                f"You are already verified here ({self._how(record)}); verifying again renews it."
            )
        lines += [
            f"Here is your private link to verify for {service.community_name(place)}."
            f" It works once and expires in {lifetime}:",
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
        verified = await self.core.verified_in(target, community)
        if target != ctx.member:  # others see the badge, never how it was earned
            state = "verified" if verified else "not verified"
            await self.core.respond(ctx, f"{self._display(target)} is {state} here.")
            return
        record = await self.core.cache.verification(target)
        if verified and record is not None:
            await self.core.respond(
                ctx,
                f"You are verified here ({self._how(record)},"
                f" {ago_words(record.verified_at, self.core.clock())}).",
            )
            return
        await self.core.respond(
            ctx, f"You are not verified here. Run {self._prefix(ctx)}verify to verify."
        )

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
            barred = await self.core.store.active_revocation(member)
            await self.core.respond(
                ctx,
                f"{name} has not verified."
                + (
                    f" A revocation is in force ({barred.reason}); {self._prefix(ctx)}lift ends it."
                    if barred is not None
                    else ""
                ),
            )
            return
        now = self.core.clock()
        lines = [
            f"{name}: {self._how(record)}, {ago_words(record.verified_at, now)}"
            + (
                f"; it ends {in_words(record.expires_at, now)}"
                if record.expires_at and record.expires_at > now
                else "; it has ended"
                if record.expires_at
                else ""
            )
            + ".",
            "The badge shows here: "
            + ("yes." if await self.core.verified_in(member, community) else "no."),
        ]
        revocation = await self.core.store.active_revocation(member)
        if revocation is not None:
            by = MemberRef(member.network, revocation.revoked_by) if revocation.revoked_by else None
            lines.append(
                f"Revoked {ago_words(revocation.revoked_at, now)}"
                + (f" by {self._display(by)}" if by else "")
                + f": {revocation.reason or 'no reason given'}. It stays in force until a"
                f" moderator runs {self._prefix(ctx)}lift."
            )
        if record.method != "moderator":
            holders = await self.core.store.accounts_for_identity(
                member.network, community.id, record.identity_hash
            )
            others = len([h for h in holders if h != member.id])
            lines.append(
                "No other account here is verified with the same identity."
                if others == 0
                else f"Other accounts here verified with the same identity: {others}."
            )
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
            await self._tell_moderators(
                ctx,
                community,
                f"{self._display(ctx.member)} revoked {self._display(member)}'s verification:"
                f" {reason}. They were told why, privately.",
            )
        else:
            await self.core.respond(ctx, f"{self._display(member)} has no verification.")

    @command(
        "lift",
        help="Lift a member's revocation so they may verify again (moderators)",
        params=(MEMBER,),
        access=Access.MODERATOR,
    )
    async def lift(self, ctx: CommandContext, member: MemberRef) -> None:
        service = self._require_service()
        community = self._community(ctx)
        if await service.lift(member, by=ctx.member, community=community):
            await self._tell_moderators(
                ctx,
                community,
                f"{self._display(ctx.member)} lifted the revocation of"
                f" {self._display(member)}: they may verify again.",
            )
        else:
            await self.core.respond(ctx, f"{self._display(member)} has no revocation to lift.")

    @command(
        "approve",
        help="Approve a member's request for moderator review (moderators)",
        params=(MEMBER,),
        access=Access.MODERATOR,
    )
    async def approve(self, ctx: CommandContext, member: MemberRef) -> None:
        service = self._require_service()
        community = self._community(ctx)
        try:
            result = await service.approve(member, community, moderator=ctx.member)
        except (VerificationFailed, VerificationUnavailable) as exc:
            raise CommandError(str(exc)) from None
        who, by = self._display(member), self._display(ctx.member)
        if result.ok:
            await self._tell_moderators(
                ctx, community, f"{by} approved {who}'s request: they are verified now."
            )
        else:
            await self._tell_moderators(
                ctx,
                community,
                f"{by} approved {who}'s request, but nothing was stored. They were told:"
                f" {result.message}",
            )

    @command(
        "deny",
        help="Decline a member's request for moderator review, with a reason (moderators)",
        params=(MEMBER, REASON),
        access=Access.MODERATOR,
    )
    async def deny(self, ctx: CommandContext, member: MemberRef, reason: str) -> None:
        service = self._require_service()
        community = self._community(ctx)
        try:
            await service.deny(member, community, moderator=ctx.member, reason=reason)
        except (VerificationFailed, VerificationUnavailable) as exc:
            raise CommandError(str(exc)) from None
        await self._tell_moderators(
            ctx,
            community,
            f"{self._display(ctx.member)} declined {self._display(member)}'s request: {reason}."
            " They were told the reason, privately.",
        )

    async def _tell_moderators(
        self, ctx: CommandContext, community: CommunityRef, text: str
    ) -> None:
        """Answer the moderator and let the other moderators see the decision: in the
        moderators' room the answer itself is visible to all, elsewhere it is posted there too.
        Reasons travel only to the moderators and, privately, to the member."""
        await self.core.respond(ctx, text)
        room = self.core.moderator_channel(community)
        adapter = self.core.adapter(community.network)
        seen_there = (
            room is not None and ctx.channel == room and not adapter.capabilities.ephemeral_replies
        )
        if not seen_there:
            await self.core.execute(NotifyModerators(community, text), actor=ctx.member)

    # --- joins ------------------------------------------------------------------------------

    @listener(MemberJoined)
    async def welcome_newcomer(self, event: MemberJoined) -> None:
        """Someone joining a room where unverified members cannot write cannot type the verify
        command there, so they are told privately how to verify."""
        if self.service is None:
            return
        community, member = event.community, event.member
        sources = await self.core.policy_sources(community)
        here = sources.channel_policy([event.channel.id] if event.channel else [])
        now = self.core.clock()
        if not policy.should_welcome(
            here,
            verified=await self.core.verified_in(member, community),
            role=event.role,
            last_notice=await self.core.cache.last_notice(community, member),
            now=now,
            cooldown=self.core.policy_settings(community).notice_cooldown,
        ):
            return
        await self.core.cache.note_notice(community, member, now)
        adapter = self.core.adapter(member.network)
        text = newcomer_notice(
            adapter.name_of(event.channel or community),
            read_only=here is UnverifiedPolicy.READ_ONLY,
            prefix=adapter.capabilities.command_prefix,
            in_direct_chat=adapter.capabilities.direct_commands,
        )
        await self.core.execute(SendDirect(member, text))

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
        if not self._live(record, community):
            return  # a level this community does not accept takes no place in its limit
        limit = self.core.config.identity.max_accounts_per_identity
        if await self.core.cache.take_identity_place(
            community, member, record.identity_hash, limit=limit, at=self.core.clock()
        ):
            return
        await self.core.execute(SetBadge(member, community, False))
        await self.core.execute(
            NotifyAdmins(
                community,
                f"{self._display(member)} joined verified, but their identity already verifies"
                f" {'another account' if limit == 1 else f'{limit} other accounts'} here, so no"
                " badge is shown.",
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
