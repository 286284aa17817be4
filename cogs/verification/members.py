"""Members' own commands: verify, unverify, badge."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from bot.cog import command
from bot.messages import ago_words, duration_words
from bot.model import CommandContext, CommandError, CommunityRef, MemberRef
from bot.params import Param
from bot.verification.service import VerificationUnavailable
from cogs.verification.base import VerificationBase


class MemberCommands(VerificationBase):
    @command("verify", help="Get a private link to verify your account (optional)", direct_ok=True)
    async def verify(
        self,
        ctx: CommandContext,
        community: Annotated[
            str | None,
            Param(
                "which community, when you ask in a direct message and are in several", rest=True
            ),
        ] = None,
    ) -> None:
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
        await ctx.respond("\n".join(lines))

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

    @command("unverify", help="Remove your verification and your badge everywhere", direct_ok=True)
    async def unverify(self, ctx: CommandContext) -> None:
        service = self._require_service()
        if await service.unverify(ctx.member):
            await ctx.respond("Your verification is removed and your badge taken down everywhere.")
        else:
            await ctx.respond("You were not verified; nothing changed.")

    @command(
        "badge",
        help="Show whether you (or another member) hold the Verified badge here",
        user_menu="Show badge",
    )
    async def badge(
        self,
        ctx: CommandContext,
        member: Annotated[MemberRef | None, Param("whom to look up")] = None,
    ) -> None:
        community = self._community(ctx)
        target = member or ctx.member
        verified = await self.core.verified_in(target, community)
        if target != ctx.member:  # others see the badge, never how it was earned
            state = "verified" if verified else "not verified"
            await ctx.respond(f"{self._display(target)} is {state} here.")
            return
        record = await self.core.cache.verification(target)
        if verified and record is not None:
            await ctx.respond(
                f"You are verified here ({self._how(record)},"
                f" {ago_words(record.verified_at, self.core.clock())})."
            )
            return
        await ctx.respond(f"You are not verified here. Run {self._prefix(ctx)}verify to verify.")
