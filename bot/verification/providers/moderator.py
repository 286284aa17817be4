"""Moderator review: a person asks, a moderator looks and decides.

It proves what the moderators judged (the configured level, `reviewed` by default), not who
someone is, so no identity is kept. The stored "identity" is a keyed hash of the account itself:
it keeps the verification record's shape without linking the account to anything else, and
never counts against another account's limit.
"""

from __future__ import annotations

from typing import Final

from bot.config import ModeratorReviewSettings
from bot.model import MemberRef
from bot.verification.identity import ServerKey
from bot.verification.providers import Proof, VerificationFailed

METHOD: Final = "moderator"
_MAX_REASON = 300


class ModeratorReview:
    name: Final = METHOD

    def __init__(self, settings: ModeratorReviewSettings, *, key: ServerKey) -> None:
        self.settings = settings
        self._key = key

    def request_text(self, member_display: str, prefix: str, *, lapses: str) -> str:
        """What moderators see in their room or channel when someone asks for review."""
        return (
            f"{member_display} asks to be verified by a moderator."
            f" Approve with {prefix}approve {member_display}"
            f" or decline with {prefix}deny {member_display} <reason> (the reason is sent to"
            f" them privately). The request lapses {lapses}."
        )

    def approve(self, member: MemberRef) -> Proof:
        account_only = self._key.mac("reviewed", member.network, member.id).hex()
        return Proof(method=METHOD, level=self.settings.level, identity_hash=account_only)

    def deny(self, reason: str) -> VerificationFailed:
        """The refusal the member is told about, with the moderator's reason."""
        reason = " ".join(reason.split())[:_MAX_REASON] or "no reason given"
        return VerificationFailed(
            f"A moderator declined your verification request: {reason}."
            " Nothing was stored. You may ask again later or choose another method.",
            reason="denied_by_moderator",
        )
