"""Whether a finished check is worth storing: a pure decision, for bot/policy.py to adopt.

Pure like the policy engine (facts in, decision out, no I/O, no clock of its own), so the rule
is unit-tested on its own (tests/unit/verification/test_rules.py). It belongs beside
`policy.counts_in` and `policy.verified_here`; it waits here until the lead moves it there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot import policy
from bot.model import CommunityRef
from bot.storage.records import VerificationRecord


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a proved level earns the badge, seen from the community the member verified for.

    `counts`: the member's communities (in the order given) where the level earns the badge;
    only there does the identity take a place under its limit. `here`: the level earns it in the
    community the check was for. `keeps_previous`: the member's earlier verification still
    earns the badge there.
    """

    counts: tuple[CommunityRef, ...]
    here: bool
    keeps_previous: bool

    @property
    def worth_storing(self) -> bool:
        """Stored when it earns the badge here, or somewhere at all without replacing an earlier
        verification that still earns it here (a weaker check must not take a badge away)."""
        return self.here or (bool(self.counts) and not self.keeps_previous)


def standing(
    level: str,
    accepted: Mapping[CommunityRef, frozenset[str]],
    origin: CommunityRef,
    previous: VerificationRecord | None,
    now: datetime,
) -> Standing:
    """How a check that proved `level` stands. `accepted` maps each community the member shares
    with the bot (`origin` among them) to the levels it accepts; `previous` is the member's
    stored verification, if any."""
    counts = tuple(policy.counts_in(level, accepted))
    return Standing(
        counts=counts,
        here=origin in counts,
        keeps_previous=policy.is_verified(previous, accepted[origin], now),
    )


__all__ = ["Standing", "standing"]
