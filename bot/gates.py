"""Questions a homeserver asks before it lets something happen, answered from the core's facts.

So far one: may this account join this room? (synapse-http-antispam's `user_may_join_room`,
bot/web/antispam.py.) The facts are gathered here — verification, the room's policy — and the
decision is `policy.join_refusal`'s.
"""

from __future__ import annotations

from bot.core import BotCore
from bot.model import Actor, ChannelRef
from bot.policy import is_exempt, join_refusal


async def join_refused(
    core: BotCore, channel: ChannelRef, actor: Actor, invited: bool
) -> str | None:
    """Why the account may not join the room, or None (warm facts cost no query)."""
    community = channel.community
    settings = core.policy_settings(community)
    verified = await core.verified_in(actor.member, community)
    sources = await core.policy_sources(community)
    policy = sources.channel_policy((channel.id,))
    return join_refusal(policy, exempt=is_exempt(actor, verified, settings), invited=invited)
