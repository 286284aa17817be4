"""`audit`: what the bot and the moderators did in a community, for its moderators.

Read from the database, newest first, narrowed to one member or a period; answered privately.
An account erased since shows as its pseudonym ("former member …"), never as the old id.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from bot.adapters.base import ChatAdapter
from bot.cog import Cog, command
from bot.messages import audit_entry_words
from bot.model import Access, CommandContext, CommandError, MemberRef
from bot.params import Param
from bot.storage.aggregate import ERASED
from bot.storage.records import AuditRecord

SHOWN = 20
SPAN = re.compile(r"^(\d{1,4})([hdw])$")
DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class AuditTrailCommands(Cog):
    @command(
        "audit",
        help="What the bot and moderators did here, newest first: about one member, since a time",
        access=Access.MODERATOR,
    )
    async def audit(
        self,
        ctx: CommandContext,
        member: Annotated[MemberRef | None, Param("only what concerns this member")] = None,
        since: Annotated[
            str | None, Param("how far back: 24h, 7d, 2w or a date such as 2026-11-01")
        ] = None,
    ) -> None:
        if ctx.community is None:
            raise CommandError("Send this inside the community it is about.")
        now = self.core.clock()
        start = _since(since, now) if since else None
        await self.core.audit.flush()  # routine entries of the last moments are written first
        entries = await self.core.store.list_audit(
            community_id=ctx.community.id,
            network=ctx.network,
            target=member.id if member else None,
            since=start,
            limit=SHOWN + 1,
        )
        adapter = self.core.adapter(ctx.network)
        if not entries:
            await ctx.respond("Nothing in the audit trail matches.")
            return
        lines = [_line(entry, adapter, now) for entry in entries[:SHOWN]]
        more = (
            "\n(older entries not shown; narrow it with a member or a time)"
            if len(entries) > SHOWN
            else ""
        )
        await ctx.respond("Newest first:\n" + "\n".join(lines) + more)


def _since(text: str, now: datetime) -> datetime:
    word = text.strip().lower()
    if span := SPAN.match(word):
        return now - int(span.group(1)) * UNITS[span.group(2)]
    if date := DATE.match(word):
        try:
            return datetime(int(date.group(1)), int(date.group(2)), int(date.group(3)), tzinfo=UTC)
        except ValueError:
            pass
    raise CommandError(
        f"I cannot read {text[:40]!r} as a time: use 24h, 7d, 2w or a date such as 2026-11-01."
    )


def _line(entry: AuditRecord, adapter: ChatAdapter, now: datetime) -> str:
    def who(account: str | None) -> str:
        if account is None:
            return "the bot"
        if account.startswith(("former member", ERASED)):
            return account
        return adapter.display(MemberRef(adapter.network, account))

    return audit_entry_words(entry, now, who)
