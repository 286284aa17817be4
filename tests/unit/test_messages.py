"""Times and verifications in the words people use (bot/messages.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import parse_config
from bot.messages import accepted_words, ago_words, in_words, method_words

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ahead", "said"),
    [
        (timedelta(seconds=20), "in 1 minute"),
        (timedelta(minutes=15), "in 15 minutes"),
        (timedelta(hours=1, minutes=10), "in 1 hour"),
        (timedelta(hours=5), "in 5 hours"),
        (timedelta(days=1), "in 1 day, on 27 Nov 2026"),
        (timedelta(days=13), "in 13 days, on 9 Dec 2026"),
        (timedelta(days=365), "on 26 Nov 2027"),
    ],
)
def test_moments_ahead(ahead: timedelta, said: str) -> None:
    assert in_words(NOW + ahead, NOW) == said


@pytest.mark.parametrize(
    ("back", "said"),
    [
        (timedelta(seconds=5), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=42), "42 minutes ago"),
        (timedelta(hours=3), "3 hours ago"),
        (timedelta(days=3), "on 23 Nov 2026"),
    ],
)
def test_moments_past(back: timedelta, said: str) -> None:
    assert ago_words(NOW - back, NOW) == said


def test_verifications_are_described_by_what_was_done_not_by_their_level_name() -> None:
    config = parse_config(
        {
            "identity": {"hash_key": {"value": "k" * 32}},
            "methods": {
                "oidc": {
                    "issuer": "http://127.0.0.1:1",
                    "client_id": "c",
                    "display_name": "Example ID",
                    "claim_rules": [{"claim": "acr", "values": ["high"], "level": "identity"}],
                },
                "email_code": {"allowed_domains": ["example.org", "example.net"]},
                "moderator": {},
            },
        }
    ).config
    assert method_words(config, "moderator", "reviewed") == "checked by a moderator"
    assert method_words(config, "oidc", "account") == "signed in with Example ID"
    assert (
        method_words(config, "oidc", "identity") == "signed in with Example ID, identity confirmed"
    )
    assert (
        method_words(config, "email_code", "email")
        == "confirmed an e-mail address at example.org or example.net"
    )
    assert accepted_words(config, frozenset({"reviewed", "email"})) == (
        "ask a moderator to check their account or confirm an e-mail address at example.org or"
        " example.net"
    )
