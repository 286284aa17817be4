"""Members' own data rights: a copy of everything the bot keeps about them, and erasure.

The copy and the erasure both follow from what every part of the bot declares it stores
(`Cog.stores`), so neither can miss a table. Erasure asks first; what moderation needs (reports
about the member, the audit trail) is kept under a pseudonym, never under the account id.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from bot.actions import SetBadge, TakeOffProfileBadge
from bot.cog import Cog, command
from bot.messages import each
from bot.model import CommandContext, CommandError, MemberRef
from bot.params import Param
from bot.storage.records import AuditDraft

CONFIRM_WITHIN = timedelta(minutes=10)


class DataRights(Cog):
    """`mydata` and `forget`, in a community or in a direct chat with the bot."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # who asked to be forgotten, until when: only a prompt to confirm, so losing it in a
        # restart merely asks the member again
        self._asked: dict[MemberRef, datetime] = {}

    @command(
        "mydata",
        help="Get a copy of everything this bot keeps about you, as a file only you receive",
        direct_ok=True,
    )
    async def my_data(self, ctx: CommandContext) -> None:
        member = ctx.member
        now = self.core.clock()
        await self.core.audit.flush()  # the copy includes what was done a moment ago
        tables = await self.core.export_member(member)
        count = sum(len(rows) for rows in tables.values())
        copy = {
            "account": {"network": member.network, "id": member.id},
            "made_at": now.isoformat(),
            "about": (
                "Everything verifybot keeps about this account, table by table. It keeps no"
                " names, documents or e-mail addresses; the keyed hash that limits one identity"
                " to one account, the moderators' private notes and who handled your reports"
                " are left out of this copy."
            ),
            "tables": tables,
        }
        data = json.dumps(copy, indent=2, ensure_ascii=False, sort_keys=True, default=str)
        await ctx.respond_file(
            f"Here is everything I keep about your account: {count} record"
            f"{'' if count == 1 else 's'}, in a file only you receive.",
            "verifybot-my-data.json",
            data.encode("utf-8"),
        )

    @command(
        "forget",
        help="Erase everything this bot keeps about you (it asks you to confirm first)",
        direct_ok=True,
    )
    async def forget(
        self,
        ctx: CommandContext,
        confirm: Annotated[
            Literal["confirm"] | None, Param("confirm that you want it erased")
        ] = None,
    ) -> None:
        member = ctx.member
        now = self.core.clock()
        prefix = self.core.adapter(ctx.network).capabilities.command_prefix
        asked = self._asked.get(member)
        if confirm is None or asked is None or now - asked > CONFIRM_WITHIN:
            if confirm is not None:
                raise CommandError(
                    f"There is no recent request to erase your data. Send {prefix}forget first;"
                    " I will say what it erases, then you confirm."
                )
            self._asked[member] = now
            await ctx.respond(_what_forget_does(prefix))
            return
        del self._asked[member]
        adapter = self.core.adapter(ctx.network)
        communities = sorted(await adapter.member_communities(member), key=adapter.name_of)
        # badges first, and their audit rows written, so the erasure below reaches those too
        for community in communities:
            await self.core.execute(SetBadge(member, community, on=False))
        await self.core.execute(TakeOffProfileBadge(member))  # its token is erased below
        await self.core.audit.flush()
        erased = await self.core.erase_member(member)  # one transaction: all or nothing
        await self.core.audit.write(
            AuditDraft(
                network=member.network,
                community_id=None,
                actor=None,  # names no one: the member is gone
                action="data_erased",
                target=None,
                detail=f"{erased} records",
                at=now,
                dry_run=self.core.dry_run,
            )
        )
        places = each([adapter.name_of(c) for c in communities])
        badge = f" and took down your Verified badge in {places}" if communities else ""
        await ctx.respond(
            f"Done: I erased everything I kept about your account{badge}. Reports about your"
            " account, reports you filed and the moderators' history stay, with your account"
            " replaced by a pseudonym, so moderators can finish their work. If you verify again"
            " later, you start afresh — unless moderators revoked your verification, which"
            " keeps your identity from verifying again until they lift it."
        )


def _what_forget_does(prefix: str) -> str:
    return (
        "This erases everything I keep about your account: your verification and Verified"
        " badge (on your Discord profile too, if you chose to show it there), your filter"
        " settings, what your filter held for you, any check under way and your daily"
        " allowances. Reports about you or by you and the moderators' history stay,"
        " with your account replaced by a pseudonym, so moderators can finish their work. This"
        f" cannot be undone.\nTo go ahead, send {prefix}forget confirm within 10 minutes."
    )
