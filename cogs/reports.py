"""One place to report: a member reports a message or an account; moderators see it at once,
answer it, and the reporter hears what was done.

A report is stored before anyone is told of it, so an acknowledgement is never a promise the
database does not hold. Moderators see whether the reported account is verified, never how.
Each report carries the community rule it concerns and when to expect an answer; an open report
past that time is raised again in the moderators' room.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import timedelta
from typing import Annotated

from bot import policy
from bot.actions import NotifyModerators, RemoveMessage, SendDirect
from bot.cog import Cog, CommandHandler, command
from bot.config.reports import ReportCategory
from bot.model import (
    Access,
    CommandContext,
    CommandError,
    CommandSpec,
    CommunityRef,
    MemberRef,
    ParamKind,
)
from bot.params import Param
from bot.policy import ReportOutcome, ReportRefusal
from bot.storage import REPORTS
from bot.storage.budgets import Holder
from bot.storage.records import AuditDraft, ReportRecord
from cogs.report_words import (
    acknowledgement,
    moderators_notice,
    outcome_for_reporter,
    overdue_notice,
    refusal_words,
    resolve_choices,
)

log = logging.getLogger(__name__)
QUOTE_CHARS = 1000  # how much of the reported message a report keeps as evidence
DETAILS_CHARS = 2000


class Reports(Cog):
    """`report` for members; `reports` and `resolve` for moderators; overdue reminders."""

    stores = (REPORTS,)

    def commands(self) -> list[tuple[CommandSpec, CommandHandler]]:
        """The categories are the configured ones, offered as choices on every network."""
        names = tuple(self.core.config.reports.categories)
        found = []
        for spec, handler in super().commands():
            if spec.name == "report":
                params = tuple(
                    dataclasses.replace(p, kind=ParamKind.CHOICE, choices=names)
                    if p.name == "category"
                    else p
                    for p in spec.params
                )
                spec = dataclasses.replace(spec, params=params)
            found.append((spec, handler))
        return found

    @command(
        "report",
        help="Report a message or an account to this community's moderators",
        message_menu="Report message",
    )
    async def report(
        self,
        ctx: CommandContext,
        category: Annotated[str, Param("what it is about")],
        member: Annotated[
            MemberRef | None, Param("the account you report (or reply to their message)")
        ] = None,
        details: Annotated[str | None, Param("what happened, in your words", rest=True)] = None,
    ) -> None:
        community = _community(ctx)
        invocation = ctx.invocation
        target = member or invocation.about_author
        adapter = self.core.adapter(ctx.network)
        prefix = adapter.capabilities.command_prefix
        refusal = policy.report_refusal(
            ctx.member,
            target,
            names_a_message=invocation.about is not None,
            bot=adapter.own_account(),
        )
        if refusal is not None:
            raise CommandError(refusal_words(refusal, prefix, menu=ctx.spec.message_menu))
        settings = self.core.config.reports
        now = self.core.clock()
        allowed = await self.core.store.spend(
            "reports",
            [Holder(ctx.network, ctx.member.id)],
            limit=settings.per_hour,
            window=timedelta(hours=1),
            now=now,
        )
        if not allowed:
            raise CommandError(refusal_words(ReportRefusal.TOO_MANY, prefix, menu=None))
        kind = settings.categories[category]
        hours = self._response_hours(kind)
        own = self.core.config.community(community.network, community.id)
        rule = (own.rules.get(category) if own else None) or kind.rule
        moderators = self.core.moderator_channel(community)
        about = invocation.about
        record = ReportRecord(
            id=0,
            network=community.network,
            community_id=community.id,
            channel_id=about.channel.id if about else None,
            message_id=about.id if about else None,
            reporter_account=ctx.member.id,
            target_account=target.id if target else None,
            category=category,
            rule=rule,
            details=(details or "")[:DETAILS_CHARS],
            routed_to=moderators.id if moderators else None,
            status="open",
            created_at=now,
            answer_due_at=policy.answer_due(now, hours),
            urgent=kind.urgent,
            message_text=(invocation.about_text or "")[:QUOTE_CHARS] or None,
        )
        report_id = await self.core.store.add_report(record)  # durable before anyone is told
        record = dataclasses.replace(record, id=report_id)
        await self._audit(ctx.member, "report_filed", record, f"report #{report_id} ({category})")
        verified = await self.core.verified_in(target, community) if target else None
        await self.core.execute(
            NotifyModerators(
                community,
                moderators_notice(record, adapter, verified=verified, now=now),
                choices=resolve_choices(record),
            ),
            actor=ctx.member,
        )
        await ctx.respond(
            acknowledgement(
                record,
                place=adapter.name_of(community),
                to_moderators=moderators is not None,
                hours=hours,
                now=now,
                support=settings.support if kind.support else [],
            )
        )

    @command(
        "reports", help="Open reports in this community, oldest first", access=Access.MODERATOR
    )
    async def open_reports(self, ctx: CommandContext) -> None:
        community = _community(ctx)
        found = await self.core.store.list_reports(community)
        if not found:
            await ctx.respond("There are no open reports here.")
            return
        now = self.core.clock()
        adapter = self.core.adapter(ctx.network)
        lines = [f"{len(found)} open report{'s' if len(found) != 1 else ''}, oldest first:"]
        for report in found[:20]:
            late = report.answer_due_at is not None and report.answer_due_at <= now
            about = adapter.display(report.target) if report.target else "a message"
            lines.append(
                f"#{report.id} {report.category}{' (urgent)' if report.urgent else ''} about"
                f" {about}{' — overdue' if late else ''}"
            )
        if len(found) > 20:
            lines.append(f"… and {len(found) - 20} more.")
        await ctx.respond("\n".join(lines))

    @command(
        "resolve",
        help="Close a report and tell the reporter what was done (your note stays with moderators)",
        access=Access.MODERATOR,
    )
    async def resolve(
        self,
        ctx: CommandContext,
        report: Annotated[int, Param("the report's number", minimum=1)],
        outcome: Annotated[ReportOutcome, Param("what was done")],
        note: Annotated[str | None, Param("a note for moderators only", rest=True)] = None,
    ) -> None:
        community = _community(ctx)
        found = await self.core.store.get_report(report)
        if found is None or found.community != community:
            raise CommandError(f"There is no report #{report} in this community.")
        if found.status != "open" or not await self.core.store.resolve_report(
            report,
            community,
            outcome=outcome.value,
            note=note,
            by=ctx.member.id,
            at=self.core.clock(),
        ):
            raise CommandError(f"Report #{report} is already resolved; nothing was changed.")
        await self._audit(
            ctx.member, "report_resolved", found, f"report #{report}: {outcome.value}"
        )
        adapter = self.core.adapter(ctx.network)
        if outcome is ReportOutcome.REMOVED and found.message is not None and found.target:
            await self.core.execute(
                RemoveMessage(found.message, found.target, f"removed after report #{report}"),
                actor=ctx.member,
            )
        told = await self.core.execute(
            SendDirect(
                found.reporter, outcome_for_reporter(found, outcome, adapter.name_of(community))
            )
        )
        said = f"Report #{report} was resolved by {adapter.display(ctx.member)}: {outcome.value}."
        await self.core.execute(
            NotifyModerators(community, said + (f"\nNote: {note}" if note else "")),
            actor=ctx.member,
        )
        await ctx.respond(
            f"Report #{report} is resolved ({outcome.value}). "
            + ("The reporter has been told." if told else "I could not reach the reporter.")
        )

    # --- overdue reports -----------------------------------------------------------------------

    async def on_ready(self) -> None:
        self.core.spawn(self._raise_forever(), "overdue reports")

    async def _raise_forever(self) -> None:
        every = self.core.config.reports.overdue_check_minutes * 60
        while True:
            try:
                await self.raise_overdue()
            except Exception:
                log.exception("could not check for overdue reports; trying again later")
            await asyncio.sleep(every)

    async def raise_overdue(self) -> int:
        """Raise each open report past its expected answer again (see policy); how many."""
        now = self.core.clock()
        raised = 0
        for network, adapter in self.core.adapters.items():
            for report in await self.core.store.reports_past_due(network, now):
                if not policy.should_raise_again(report, now):
                    continue
                await self.core.execute(
                    NotifyModerators(
                        report.community,
                        overdue_notice(report, adapter, now=now),
                        choices=resolve_choices(report),
                    )
                )
                await self.core.store.mark_raised(report.id, now)
                raised += 1
        return raised

    # --- shared --------------------------------------------------------------------------------

    def _response_hours(self, kind: ReportCategory) -> int:
        return kind.response_hours or self.core.config.defaults.report_response_hours

    async def _audit(
        self, actor: MemberRef, action: str, report: ReportRecord, detail: str
    ) -> None:
        await self.core.audit.write(
            AuditDraft(
                network=report.network,
                community_id=report.community_id,
                actor=actor.id,
                action=action,
                target=report.target_account,
                detail=detail,
                at=self.core.clock(),
                dry_run=self.core.dry_run,
            )
        )


def _community(ctx: CommandContext) -> CommunityRef:
    if ctx.community is None:
        raise CommandError("Send this inside the community it is about.")
    return ctx.community
