"""Each member's own filter, and the hot path that applies it with the admins' policy.

Every message and reaction passes through `guard_message`/`guard_reaction`: facts come from the
read cache (no database query once warm), the pure policy engine decides, the core executes.
"""

from __future__ import annotations

import logging
from typing import Any

from bot import policy
from bot.adapters.base import PreSendProtection
from bot.cog import Cog, command, listener
from bot.messages import ago_words, excerpt_of
from bot.model import (
    CommandContext,
    CommandError,
    CommunityRef,
    FilterLevel,
    MemberRef,
    MessagePosted,
    ParamKind,
    ParamSpec,
    ReactionAdded,
    Relation,
)
from bot.policy import Target
from bot.storage.records import HeldRecord

log = logging.getLogger(__name__)

RELATION_WORDS = {
    Relation.REPLY: "A reply",
    Relation.MENTION: "A mention",
    Relation.REACTION: "A reaction",
    Relation.THREAD_POST: "A post in your thread",
    Relation.DIRECT: "A direct message",
}


class Filters(Cog):
    """What unverified accounts may do to each member, chosen by that member."""

    @command(
        "filter",
        help="Limit replies, mentions and reactions from unverified accounts to you",
        params=(
            ParamSpec(
                "level",
                ParamKind.CHOICE,
                "off: allow everyone; replies: hold replies, mentions and reactions from"
                " unverified accounts; all: also posts in your threads",
                required=False,
                choices=tuple(level.value for level in FilterLevel),
            ),
        ),
    )
    async def set_filter(self, ctx: CommandContext, level: str | None = None) -> None:
        community = _community(ctx)
        if level is None:
            current = await self._level(community, ctx.member)
            await self.core.respond(ctx, f"Your filter is {current.describe()}.")
            return
        chosen = FilterLevel(level)
        await self.core.cache.set_filter(community, ctx.member, chosen, self.core.clock())
        await self._refresh_protection(community)  # in force by the time the member reads on
        await self.core.respond(ctx, f"Your filter is now {chosen.describe()}.")

    @command(
        "held",
        help="Review what your filter held for you: list it, show one in full, or dismiss",
        params=(
            ParamSpec(
                "action",
                ParamKind.CHOICE,
                "list: what is held; show: read one in full (only you see it, nothing is"
                " re-posted); dismiss: delete it",
                required=False,
                choices=("list", "show", "dismiss"),
            ),
            ParamSpec(
                "item", ParamKind.WORD, "the number shown by the list, or 'all'", required=False
            ),
        ),
        direct_ok=True,
    )
    async def review_held(
        self, ctx: CommandContext, action: str | None = None, item: str | None = None
    ) -> None:
        adapter = self.core.adapter(ctx.network)
        prefix = adapter.capabilities.command_prefix
        if action in (None, "list"):
            items = await self.core.store.list_held(ctx.member)
            if not items:
                await self.core.respond(ctx, "Nothing is held for you.")
                return
            lines = [f"Held for you ({len(items)}):"]
            for held in items:
                preview = excerpt_of(held.content)
                lines.append(f"{held.id}. {self._describe(held)}: “{preview}”")
            lines.append(
                f"{prefix}held show <number> shows one in full, only to you (nothing is"
                f" re-posted). {prefix}held dismiss <number|all> deletes them."
            )
            await self.core.respond(ctx, "\n".join(lines))
            return
        if item is None:
            raise CommandError(f"Say which item to {action}: a number from the list, or 'all'.")
        targets = await self._pick(ctx.member, item)
        if action == "show":
            shown = [h for h in await self.core.store.list_held(ctx.member) if h.id in targets]
            if not shown:
                raise CommandError(f"Nothing held for you has the number {item}.")
            for held in shown:
                await self.core.respond(
                    ctx, f"{held.id}. {self._describe(held)} (only you see this):\n{held.content}"
                )
            return
        now = self.core.clock()
        done = [
            r
            for i in targets
            if (r := await self.core.store.resolve_held(ctx.member, i, "dismissed", now))
        ]
        if not done:
            raise CommandError(f"Nothing held for you has the number {item}.")
        count = "1 held item" if len(done) == 1 else f"{len(done)} held items"
        await self.core.respond(ctx, f"Deleted {count}.")

    def _describe(self, held: HeldRecord) -> str:
        """ "A reply from @bob in General, 5 minutes ago", as the member reads it."""
        adapter = self.core.adapter(held.network)
        what = RELATION_WORDS.get(held.relation, "A message")
        place = adapter.name_of(held.message.channel)
        when = ago_words(held.held_at, self.core.clock())
        return f"{what} from {adapter.display(held.sender)} in {place}, {when}"

    async def _pick(self, member: MemberRef, item: str) -> list[int]:
        if item.lower() == "all":
            return [held.id for held in await self.core.store.list_held(member, limit=1000)]
        number = item.lstrip("#")
        if not number.isdecimal() or len(number) > 12:
            raise CommandError(f"{item!r} is not a number from the list.")
        return [int(number)]

    # --- the hot path -------------------------------------------------------------------------

    @listener(MessagePosted)
    async def guard_message(self, event: MessagePosted) -> None:
        await self._guard(
            event,
            recent=self.core.cache.rates.hit(
                event.community, event.sender.member, self.core.monotonic()
            )
            if not event.sender.is_self
            else 0,
        )

    @listener(ReactionAdded)
    async def guard_reaction(self, event: ReactionAdded) -> None:
        await self._guard(event, recent=0)

    async def _guard(self, event: MessagePosted | ReactionAdded, *, recent: int) -> None:
        if event.sender.is_self:
            return
        started = self.core.monotonic()
        community = event.community
        cache = self.core.cache
        settings = self.core.policy_settings(community)
        now = self.core.clock()
        verified = await self.core.verified_in(event.sender.member, community)
        targets = []
        if not policy.is_exempt(event.sender, verified, settings):
            for member, relation in policy.touched_members(event):
                targets.append(Target(member, relation, await self._level(community, member)))
        sources = await self.core.policy_sources(community)
        channel_ids = [event.message.channel.id]
        if isinstance(event, MessagePosted) and event.parent_channel_id is not None:
            channel_ids.append(event.parent_channel_id)  # a thread follows its parent
        actions = policy.decide(
            event,
            sender_verified=verified,
            targets=targets,
            community_policy=sources.community_policy(),
            channel_policy=sources.own_channel_policy(channel_ids),
            settings=settings,
            recent_messages=recent,
            last_notice=await cache.last_notice(community, event.sender.member),
            now=now,
        )
        self.core.metrics.time_decision(self.core.monotonic() - started)
        await self.core.execute_all(actions)

    async def _level(self, community: CommunityRef, member: MemberRef) -> FilterLevel:
        chosen = await self.core.cache.filter_level(community, member)
        return chosen if chosen is not None else self.core.config.defaults.default_filter

    # --- native protection before delivery (where the platform has it) ------------------------

    async def on_ready(self) -> None:
        for adapter in self.core.adapters.values():
            if isinstance(adapter, PreSendProtection):
                for community in adapter.communities():
                    await self._refresh_protection(community)

    async def _refresh_protection(self, community: CommunityRef) -> None:
        """Hand the adapter the community's complete set of filtered members."""
        adapter = self.core.adapter(community.network)
        if not isinstance(adapter, PreSendProtection):
            return
        filtered = [record.member for record in await self.core.store.filters_in(community)]
        try:
            await adapter.protect_members(community, filtered)
        except Exception:
            log.exception("could not update pre-send protection in %s", community.id)

    # --- data rights --------------------------------------------------------------------------

    async def export_member_data(self, member: MemberRef) -> dict[str, Any]:
        data = await self.core.store.export_member(member)
        return {"filters": data["member_filters"], "held": data["held_items"]}

    async def erase_member_data(self, member: MemberRef) -> int:
        return await self.core.store.erase_member(
            member, tables=("member_filters", "held_items", "sender_notices")
        )


def _community(ctx: CommandContext) -> CommunityRef:
    if ctx.community is None:
        raise CommandError("Run this inside the community it is about.")
    return ctx.community
