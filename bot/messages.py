"""Words the bot says to people, kept together so they stay consistent and kind.

Members read these, not engineers: no stored codes ("level: account"), no raw ids where a name
exists, times relative to now ("in 15 minutes", "on 26 Nov 2027"), and a verification described by
what was done ("checked by a moderator"), never by the name a config file gives it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.config import Config
from bot.storage.records import AuditRecord


def in_words(when: datetime, now: datetime) -> str:
    """A moment as a person says it: "in 15 minutes", "in 3 hours", "in 13 days, on 9 Dec
    2026", "on 26 Nov 2027"."""
    ahead = when - now
    if timedelta(0) <= ahead < timedelta(hours=24):
        minutes = max(1, round(ahead.total_seconds() / 60))
        if minutes < 60:
            return "in 1 minute" if minutes == 1 else f"in {minutes} minutes"
        hours = round(minutes / 60)
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    if timedelta(0) <= ahead < timedelta(days=60):
        days = round(ahead / timedelta(days=1))
        return f"in {days} day{'' if days == 1 else 's'}, on {date_words(when)}"
    return f"on {date_words(when)}"


def ago_words(when: datetime, now: datetime) -> str:
    """A past moment as a person says it: "just now", "5 minutes ago", "on 26 Nov 2026"."""
    past = now - when
    if past < timedelta(minutes=1):
        return "just now"
    if past < timedelta(hours=24):
        minutes = round(past.total_seconds() / 60)
        if minutes < 60:
            return "1 minute ago" if minutes == 1 else f"{minutes} minutes ago"
        hours = round(minutes / 60)
        return "1 hour ago" if hours == 1 else f"{hours} hours ago"
    return f"on {date_words(when)}"


def excerpt_of(text: str, length: int = 80) -> str:
    """The start of a message on one line, cut at `length` characters."""
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1] + "…"


def duration_words(length: timedelta) -> str:
    """A span as a person says it: "15 minutes", "1 hour", "7 days"."""
    minutes = max(1, round(length.total_seconds() / 60))
    if minutes < 60:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    if minutes < 48 * 60:
        hours = round(minutes / 60)
        return "1 hour" if hours == 1 else f"{hours} hours"
    days = round(minutes / (24 * 60))
    return f"{days} days"


def date_words(when: datetime) -> str:
    """A calendar day, unambiguous in every locale: "26 Nov 2027"."""
    return f"{when.day} {when:%b %Y}"


def either(items: list[str]) -> str:
    """ "a", "a or b", "a, b or c"."""
    return _listed(items, "or")


def each(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return _listed(items, "and")


def _listed(items: list[str], word: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def method_words(config: Config, method: str, level: str) -> str:
    """What the member did to verify, in plain words (for the member and moderators only)."""
    methods = config.methods
    if method == "moderator":
        return "checked by a moderator"
    if method == "email_code":
        domains = methods.email_code.allowed_domains if methods.email_code else []
        return f"confirmed an e-mail address at {either(domains) or 'an allowed domain'}"
    if method == "oidc":
        oidc = methods.oidc
        name = oidc.display_name if oidc else "an identity provider"
        if oidc is not None and level != oidc.level:
            return f"signed in with {name}, identity confirmed"
        return f"signed in with {name}"
    return "verified"


def level_words(config: Config, level: str) -> str:
    """What earns a level, in plain words: "sign in with Example ID or be checked by a
    moderator". Used to tell a member what a community needs."""
    methods = config.methods
    ways: list[str] = []
    if methods.oidc is not None:
        name = methods.oidc.display_name
        if level == methods.oidc.level:
            ways.append(f"sign in with {name}")
        elif any(rule.level == level for rule in methods.oidc.claim_rules):
            ways.append(f"sign in with {name} and have it confirm their identity")
    if methods.email_code is not None and level == methods.email_code.level:
        ways.append(f"confirm an e-mail address at {either(methods.email_code.allowed_domains)}")
    if methods.moderator is not None and level == methods.moderator.level:
        ways.append("ask a moderator to check their account")
    return either(ways) or "a check this community accepts"


def accepted_words(config: Config, accepted: frozenset[str]) -> str:
    """Every way that earns the badge in a community, in plain words."""
    return either(sorted({level_words(config, level) for level in accepted}))


def sender_notice(
    *,
    what: str,
    place: str,
    excerpt: str,
    reason: str,
    held: bool,
    prefix: str,
    in_direct_chat: bool = False,
    delivered: bool = True,
) -> str:
    """Told privately to an unverified sender whose message or reaction was stopped: which one,
    where, why, and how to verify if they want to. `delivered` False: the homeserver refused it
    before anyone saw it (deciding before delivery), so nothing was removed."""
    quoted = f" (“{excerpt}”)" if excerpt else ""
    where = f" in {place}" if place else ""
    if held and not delivered:
        first = (
            f"Your {what}{where}{quoted} was not delivered, because {reason}. It is kept for"
            " them to read privately if they choose."
        )
    elif held:
        first = (
            f"Your {what}{where}{quoted} was removed for everyone in that conversation, because"
            f" {reason}. They can still read it privately if they choose."
        )
    elif not delivered:
        first = f"Your {what}{where}{quoted} was not delivered: {reason}."
    else:
        first = f"Your {what}{where}{quoted} was removed: {reason}."
    how = (
        f"send {prefix}verify here, in this chat with me"
        if in_direct_chat
        else f"run {prefix}verify in the community"
    )
    return (
        f"{first}\n"
        "Verification is optional and keeps no name, document or address. If you would like to"
        f" verify, {how}. Otherwise you can carry on taking part wherever unverified accounts"
        " are welcome."
    )


def refused_before_delivery(*, reason: str, held: bool, prefix: str) -> str:
    """What the homeserver tells an unverified sender whose message it did not deliver (the
    sender's client shows it where the message failed to send)."""
    if held:
        first = (
            "Not delivered: someone it is addressed to limits replies, mentions and reactions"
            " from unverified accounts. It is kept for them to read privately if they choose."
        )
    else:
        first = f"Not delivered: {reason}."
    return f"{first} {_HOW_TO_VERIFY.format(prefix=prefix)}"


def join_refused(*, reason: str, prefix: str) -> str:
    """What the homeserver tells an unverified account it did not let into a room."""
    return f"You cannot join this room yet: {reason}. {_HOW_TO_VERIFY.format(prefix=prefix)}"


_HOW_TO_VERIFY = (
    "Verification is optional and keeps no name, document or address; to verify, send"
    " {prefix}verify in any room of the community or in a direct chat with the bot."
)


def verification_panel(community_name: str) -> str:
    """The standing message a panel carries: what verification is, and what each part does."""
    return (
        f"Verification in {community_name} is optional: unverified members keep taking"
        " part. Verified members show a Verified badge, and anyone can choose to limit"
        " replies, mentions and reactions from unverified accounts.\n"
        "What is kept: a keyed fingerprint of the check (never your name, document or address),"
        " its level and its dates. You can see it or have it erased at any time.\n"
        "• Verify: your private link to verify.\n"
        "• My filter: limit replies, mentions and reactions to you from unverified accounts.\n"
        "• Held for me: what your filter kept back, for you alone to read."
    )


def badge_granted(community_name: str) -> str:
    return f"You are verified: your Verified badge is now shown in {community_name}."


def badge_removed(community_name: str, why: str) -> str:
    return f"Your Verified badge in {community_name} was removed: {why}."


def newcomer_notice(place: str, *, read_only: bool, prefix: str, in_direct_chat: bool) -> str:
    """Told privately to a newcomer where unverified members can only read (`read_only`) or
    cannot take part at all: they cannot type the verify command there."""
    limit = (
        "only verified members can write there; you can read along"
        if read_only
        else "only verified members can take part there"
    )
    how = (
        f"send {prefix}verify here, in this chat with me, and I will send you a private link"
        if in_direct_chat
        else f"run {prefix}verify in the community and I will send you a private link"
    )
    return (
        f"Welcome to {place}! {limit[0].upper()}{limit[1:]}. Verification is optional and keeps"
        f" no name, document or address. If you would like to verify, {how}."
    )


AUDIT_ACTIONS = {
    "SetBadge": "badge changed",
    "ApplyPolicy": "policy applied",
    "Withhold": "held and removed",
    "RemoveMessage": "message removed",
    "RemoveReaction": "reaction removed",
    "NotifySender": "sender told",
    "SendDirect": "told privately",
    "PostToChannel": "posted",
    "NotifyAdmins": "admins told",
    "NotifyModerators": "moderators told",
    "verified": "verified",
    "unverified": "verification removed by the member",
    "revoked": "verification revoked",
    "revocation_lifted": "revocation lifted",
    "review_approved": "review approved",
    "review_denied": "review denied",
    "second_account_refused": "second account of one identity refused",
    "revoked_identity_refused": "revoked identity refused",
    "report_filed": "report filed",
    "report_resolved": "report resolved",
    "report_raised": "overdue report raised again",
    "policy_set": "policy set",
    "data_erased": "member's data erased",
    "held_dismissed": "held item released by its member",
}


def audit_action_words(action: str) -> str:
    """An audit entry's action as a moderator reads it."""
    return AUDIT_ACTIONS.get(action, action.replace("_", " "))


def audit_entry_words(entry: AuditRecord, now: datetime, who: Callable[[str | None], str]) -> str:
    """One audit entry in a line: when, what, about whom, by whom, the detail. `who` names an
    account as the reader's medium can (a mention in chat, the id on a page)."""
    parts = [ago_words(entry.at, now), audit_action_words(entry.action)]
    if entry.target is not None:
        parts.append(who(entry.target))
    parts.append(f"by {who(entry.actor)}")
    if entry.detail:
        parts.append(entry.detail)
    return ("(dry run) " if entry.dry_run else "") + " · ".join(parts)
