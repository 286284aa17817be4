"""The policy engine: facts in, actions out. Pure — no I/O, no awaits, no clock of its own.

Semantics (the same on every network):

* A sender is **verified** in a community when it has a verification record that is neither
  revoked nor expired, at a level the community accepts (`is_verified`).
* A sender is **exempt** from everything here when it is the bot itself, a moderator or admin of
  the community, or verified. Other bots are exempt unless the community counts bots as
  unverified. The bot's own events produce no action at all.
* **Member filters** (each member's own choice) hold interactions aimed at that member from
  non-exempt senders:
    - ``off``: nothing is held (the default).
    - ``replies``: replies to, mentions of and reactions on the member's messages are held.
    - ``all``: as ``replies``, plus posts in threads the member started.
  A held message is removed once, held for every member whose filter stopped it, and the sender
  is told how to verify at most once per cooldown.
* **Admin policy** for non-exempt senders, per community and overridable per channel (a channel's
  own policy always beats the community's; with neither, ``open``):
    - ``open``: nothing is limited.
    - ``limited``: messages with links, attachments or mass mentions (``@everyone``/``@room`` or
      at least the threshold of mentioned members) are removed, as is every message past the
      per-minute allowance. Reactions are allowed. The allowance counts what a sender sent
      unverified while `limited` applied somewhere in the community (the window is the
      community's), never what was sent before it did.
    - ``read_only``: every message and reaction is removed (the native permission normally
      stops them first; this is the fallback while the platform cannot).
    - ``verified_only``: as ``read_only``; natively, non-verified members cannot join or see,
      and where the homeserver asks first (`join_refusal`) an uninvited one is refused.
  An admin-policy removal takes precedence over member filters: the interaction is removed, not
  held, and the sender is told why (within the cooldown).
* **Cannot know.** When the adapter could not find out whose message a reply or reaction
  touches (the message was deleted or is out of the bot's sight, after a memory lookup and a
  fetch), no member filter can apply to that relation: the interaction is allowed, as the
  explicit outcome `Allow(why=UNKNOWN_AUTHOR)`, which is counted. Admin policy still applies.
* **Reports** name a message or an account, never the reporter or the bot; a message whose
  author is no longer known is still taken, with what is known. The answer is due the category's
  response time after filing; an open report past it is raised again in the moderators' room,
  and again every such period while it stays open (`reports.py`).
"""

from bot.policy.decide import (
    HELD_BY_FILTER,
    HELD_RELATIONS,
    UNKNOWN_AUTHOR,
    Interaction,
    Target,
    decide,
    excerpt,
    nothing_to_do,
    touched_members,
)
from bot.policy.places import (
    PolicySources,
    community_wide,
    effective_policy,
    join_refusal,
    keeps_newcomers_silent,
    may_notify,
    native_plan,
    should_welcome,
)
from bot.policy.reports import (
    ReportOutcome,
    ReportRefusal,
    answer_due,
    report_refusal,
    should_raise_again,
)
from bot.policy.verified import (
    PolicySettings,
    Standing,
    counts_in,
    is_exempt,
    is_live,
    is_verified,
    shows_profile_badge,
    standing,
    verified_here,
)

__all__ = [
    "HELD_BY_FILTER",
    "HELD_RELATIONS",
    "UNKNOWN_AUTHOR",
    "Interaction",
    "PolicySettings",
    "PolicySources",
    "ReportOutcome",
    "ReportRefusal",
    "Standing",
    "Target",
    "answer_due",
    "community_wide",
    "counts_in",
    "decide",
    "effective_policy",
    "excerpt",
    "is_exempt",
    "is_live",
    "is_verified",
    "join_refusal",
    "keeps_newcomers_silent",
    "may_notify",
    "native_plan",
    "nothing_to_do",
    "report_refusal",
    "should_raise_again",
    "should_welcome",
    "shows_profile_badge",
    "standing",
    "touched_members",
    "verified_here",
]
