"""Network settings that need others: [matrix.antispam] and Discord's linked_roles are refused
with the fix when they cannot work, and their secrets checked as every secret is; and who may
join a verified_only room, as the policy decides it."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, check_secrets, parse_config
from bot.model import UnverifiedPolicy
from bot.policy import join_refusal

MATRIX = {
    "homeserver": "https://matrix.example.org",
    "user_id": "@verifybot:example.org",
    "access_token": {"env": "VERIFYBOT_MATRIX_TOKEN"},
}


def config_with(antispam: dict[str, object], web: dict[str, object] | None = None) -> object:
    return parse_config({"matrix": {**MATRIX, "antispam": antispam}, "web": web or {}}).config


def test_the_secret_is_required_and_checked_like_every_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        config_with({})
    assert any("matrix.antispam.secret" in p for p in caught.value.problems)
    config = config_with({"secret": {"env": "VERIFYBOT_ANTISPAM_SECRET"}})
    missing = check_secrets(config, {"VERIFYBOT_MATRIX_TOKEN": "m"})  # type: ignore[arg-type]
    assert any("VERIFYBOT_ANTISPAM_SECRET" in p for p in missing)


def test_antispam_without_the_web_service_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        config_with({"secret": {"env": "S"}}, {"enabled": False})
    assert any(
        "set web.enabled = true or remove [matrix.antispam]" in p for p in caught.value.problems
    )


@pytest.mark.parametrize("budget", [0, 4, 10_001])
def test_a_budget_out_of_range_is_refused(budget: int) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with({"secret": {"env": "S"}, "budget_ms": budget})
    assert any("matrix.antispam.budget_ms" in p for p in caught.value.problems)


@pytest.mark.parametrize(
    ("policy", "exempt", "invited", "refused"),
    [
        (UnverifiedPolicy.VERIFIED_ONLY, False, False, True),
        (UnverifiedPolicy.VERIFIED_ONLY, True, False, False),  # verified, or staff
        (UnverifiedPolicy.VERIFIED_ONLY, False, True, False),  # a moderator's invitation
        (UnverifiedPolicy.READ_ONLY, False, False, False),  # may join and read
        (UnverifiedPolicy.LIMITED, False, False, False),
        (UnverifiedPolicy.OPEN, False, False, False),
    ],
)
def test_only_verified_only_keeps_an_uninvited_unverified_account_out(
    policy: UnverifiedPolicy, exempt: bool, invited: bool, refused: bool
) -> None:
    reason = join_refusal(policy, exempt=exempt, invited=invited)
    assert (reason == "only verified members can join there") is refused
    assert refused or reason is None


def test_linked_roles_needs_the_client_secret_and_the_web_pages() -> None:
    discord = {"token": {"env": "T"}, "linked_roles": True}
    with pytest.raises(ConfigError) as caught:
        parse_config({"discord": discord, "web": {"enabled": False}})
    problems = caught.value.problems
    assert any(p.startswith("discord.client_secret: required with linked_roles") for p in problems)
    assert any("set web.enabled = true or turn linked_roles off" in p for p in problems)
    fine = parse_config({"discord": {**discord, "client_secret": {"env": "S"}}}).config
    assert ("discord.client_secret", fine.discord.client_secret) in fine.secrets()  # type: ignore[union-attr]
