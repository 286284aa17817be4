"""What every part of the verification cog shares: the service, names and the community."""

from __future__ import annotations

from bot import policy
from bot.actions import NotifyModerators
from bot.cog import Cog
from bot.messages import method_words
from bot.model import CommandContext, CommandError, CommunityRef, MemberRef
from bot.storage.records import VerificationRecord
from bot.verification.service import VerificationService


class VerificationBase(Cog):
    service: VerificationService | None

    def _require_service(self) -> VerificationService:
        if self.service is None:
            raise CommandError(
                "Identity checks are not set up on this bot yet. An admin can enable them in"
                " the configuration ([methods.*] and identity.hash_key)."
            )
        return self.service

    def _prefix(self, ctx: CommandContext) -> str:
        return self.core.adapter(ctx.network).capabilities.command_prefix

    def _display(self, member: MemberRef) -> str:
        return self.core.adapter(member.network).display(member)

    @staticmethod
    def _community(ctx: CommandContext) -> CommunityRef:
        if ctx.community is None:
            raise CommandError("Run this inside the community it is about.")
        return ctx.community

    def _how(self, record: VerificationRecord) -> str:
        """How the member verified, in plain words (for them and moderators only)."""
        return method_words(self.core.config, record.method, record.level)

    def _live(self, record: VerificationRecord | None, community: CommunityRef) -> bool:
        """A live record at a level this community accepts (the identity limit aside)."""
        accepted = self.core.config.accepted_levels(community.network, community.id)
        return policy.is_verified(record, accepted, self.core.clock())

    async def _tell_moderators(
        self, ctx: CommandContext, community: CommunityRef, text: str
    ) -> None:
        """Answer the moderator and let the other moderators see the decision: in the
        moderators' room the answer itself is visible to all, elsewhere it is posted there too.
        Reasons travel only to the moderators and, privately, to the member."""
        await ctx.respond(text)
        room = self.core.moderator_channel(community)
        adapter = self.core.adapter(community.network)
        seen_there = (
            room is not None and ctx.channel == room and not adapter.capabilities.ephemeral_replies
        )
        if not seen_there:
            await self.core.execute(NotifyModerators(community, text), actor=ctx.member)
