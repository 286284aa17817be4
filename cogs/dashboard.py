"""`dashboard`: a private, one-time sign-in link to the community's page for its admins.

Only admins get one: the core checks the role before the handler runs, the same check the
`policy` command has, and the page trusts the sign-in for the session's few hours (re-asking the
network where it can tell). The link is stored before it is handed out (write, then answer).
"""

from __future__ import annotations

from bot.cog import Cog, CoreView, command
from bot.messages import duration_words
from bot.model import Access, CommandContext, CommandError
from bot.storage import PENDING_CHECKS
from bot.web.dashboard.access import (
    SIGN_IN_TTL,
    DashboardAccess,
    DashboardUnavailable,
    community_name,
)


class Dashboard(Cog):
    """Hands admins the way to their community's dashboard (bot/web/dashboard/)."""

    stores = (PENDING_CHECKS,)  # a sign-in link is a pending check of the admin's account

    def __init__(self, core: CoreView) -> None:
        super().__init__(core)
        self.access: DashboardAccess | None = None
        self.unavailable = ""
        try:
            self.access = DashboardAccess.build(core.config, core.store, core.clock)
        except DashboardUnavailable as exc:
            self.unavailable = str(exc)

    @command(
        "dashboard",
        help="Get a private one-time link to this community's dashboard",
        access=Access.ADMIN,
    )
    async def dashboard(self, ctx: CommandContext) -> None:
        community = ctx.community
        if community is None:
            raise CommandError("Run this inside the community it is about.")
        if self.access is None:
            raise CommandError(self.unavailable)
        url = await self.access.issue(ctx.member, community)
        name = community_name(self.core.config, self.core.adapter(community.network), community)
        await ctx.respond(
            "\n".join(
                [
                    f"Here is your private link to the dashboard of {name}. It works once and"
                    f" expires in {duration_words(SIGN_IN_TTL)}:",
                    url,
                    "The page shows this community's figures and warnings, and lets you change"
                    " its policy. Do not share this link.",
                ]
            )
        )
