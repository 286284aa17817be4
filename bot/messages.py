"""Words the bot says to people, kept together so they stay consistent and kind."""

from __future__ import annotations


def sender_notice(reason: str, prefix: str) -> str:
    """Told privately to an unverified sender whose message or reaction was stopped."""
    return (
        f"Your message or reaction was not delivered: {reason}.\n"
        f"Verification is optional and keeps no name, document or address. If you would like"
        f" to verify, run {prefix}verify in the community. Otherwise you can carry on taking"
        f" part wherever unverified accounts are welcome."
    )


def badge_granted(community_name: str) -> str:
    return f"You are verified: your Verified badge is now shown in {community_name}."


def badge_removed(community_name: str, why: str) -> str:
    return f"Your Verified badge in {community_name} was removed: {why}."
