"""Whether a finished check is stored, and where it counts (bot/policy/verified.py).

The integration tests (test_commands.py, test_member_words.py) show the same rule through the
service and the member's words; here every combination is checked on the pure function.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.model import CommunityRef
from bot.policy import standing
from bot.storage.records import VerificationRecord

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SPACE = CommunityRef("matrix", "!space")
LOUNGE = CommunityRef("matrix", "!lounge")
STRICT = CommunityRef("matrix", "!strict")
ACCEPTED = {
    SPACE: frozenset({"email", "identity"}),
    LOUNGE: frozenset({"email", "reviewed", "identity"}),
    STRICT: frozenset({"identity"}),
}
EARLIER = VerificationRecord(
    "matrix", "@ann:hs", "oidc", "identity", "h" * 64, NOW - timedelta(days=3)
)


def test_a_level_counts_where_it_is_accepted_in_the_order_given() -> None:
    stands = standing("email", ACCEPTED, SPACE, None, NOW)
    assert stands.counts == (SPACE, LOUNGE)
    assert stands.here and not stands.keeps_previous and stands.worth_storing


def test_a_level_that_counts_nowhere_is_not_stored() -> None:
    stands = standing("account", ACCEPTED, SPACE, None, NOW)
    assert stands.counts == () and not stands.here and not stands.worth_storing


def test_a_level_that_counts_only_elsewhere_is_stored_for_there() -> None:
    stands = standing("reviewed", ACCEPTED, STRICT, None, NOW)
    assert stands.counts == (LOUNGE,) and not stands.here and stands.worth_storing


def test_a_weaker_check_does_not_replace_one_that_still_counts_here() -> None:
    stands = standing("reviewed", ACCEPTED, STRICT, EARLIER, NOW)
    assert stands.keeps_previous and not stands.worth_storing
    # ...but where it does count, it replaces it (the member chose it there)
    assert standing("email", ACCEPTED, SPACE, EARLIER, NOW).worth_storing


@pytest.mark.parametrize(
    "earlier",
    [
        replace(EARLIER, expires_at=NOW),  # ended
        replace(EARLIER, revoked_at=NOW - timedelta(hours=1)),  # revoked
        replace(EARLIER, level="email"),  # not enough there anyway
    ],
)
def test_an_earlier_verification_that_no_longer_counts_here_is_replaced(
    earlier: VerificationRecord,
) -> None:
    stands = standing("reviewed", ACCEPTED, STRICT, earlier, NOW)
    assert not stands.keeps_previous and stands.worth_storing
