"""Moderators' commands: whois, revoke, lift, approve, deny. Decisions are announced to the
other moderators; reasons go only to them and, privately, to the member."""

from __future__ import annotations

from typing import Annotated

from bot.cog import command
from bot.messages import ago_words, in_words
from bot.model import Access, CommandContext, CommandError, MemberRef
from bot.params import Param
from bot.verification.providers import VerificationFailed
from bot.verification.service import VerificationUnavailable
from cogs.verification.base import VerificationBase

Member = Annotated[MemberRef, Param("the member (a mention or their account id)")]
Reason = Annotated[str, Param("why, in a few words (the member is told)", rest=True)]


class ModeratorCommands(VerificationBase):
    @command(
        "whois",
        help="Show a member's verification details (moderators)",
        access=Access.MODERATOR,
    )
    async def whois(self, ctx: CommandContext, member: Member) -> None:
        community = self._community(ctx)
        record = await self.core.store.get_verification(member)
        name = self._display(member)
        if record is None:
            barred = await self.core.store.active_revocation(member)
            await ctx.respond(
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
        await ctx.respond("\n".join(lines))

    @command(
        "revoke",
        help="Revoke a member's verification and badge (moderators)",
        access=Access.MODERATOR,
    )
    async def revoke(self, ctx: CommandContext, member: Member, reason: Reason) -> None:
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
            await ctx.respond(f"{self._display(member)} has no verification.")

    @command(
        "lift",
        help="Lift a member's revocation so they may verify again (moderators)",
        access=Access.MODERATOR,
    )
    async def lift(self, ctx: CommandContext, member: Member) -> None:
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
            await ctx.respond(f"{self._display(member)} has no revocation to lift.")

    @command(
        "approve",
        help="Approve a member's request for moderator review (moderators)",
        access=Access.MODERATOR,
    )
    async def approve(self, ctx: CommandContext, member: Member) -> None:
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
        access=Access.MODERATOR,
    )
    async def deny(self, ctx: CommandContext, member: Member, reason: Reason) -> None:
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
