"""E-mail domain codes through a real SMTP conversation (aiosmtpd in-process)."""

from __future__ import annotations

import json

import pytest

from bot.config import EmailCodeSettings
from bot.verification.identity import EMAIL_ISSUER, ServerKey
from bot.verification.providers import VerificationFailed
from bot.verification.providers.email_code import CodeState, EmailCodeMethod, normalise_address
from tests.fixtures.smtp import SmtpCapture

KEY = ServerKey("m" * 40)
CHECK = "check-1"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def method_for(smtp: SmtpCapture, clock: Clock, **overrides: object) -> EmailCodeMethod:
    settings = EmailCodeSettings.model_validate(
        {
            "allowed_domains": ["example.org"],
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_starttls": False,
            "sender": "verifybot@example.org",
            **overrides,
        }
    )
    return EmailCodeMethod(settings, smtp_password=None, key=KEY, clock=clock)


async def send(
    method: EmailCodeMethod, address: str, previous: CodeState | None = None
) -> CodeState:
    code, state = method.prepare(CHECK, address, previous)
    await method.deliver(address, code, "The Garden")
    return state


def counted(state: CodeState) -> CodeState:
    """What the service does before each check: count the attempt durably."""
    return CodeState.from_json({**state.to_json(), "attempts": state.attempts + 1})


async def test_code_arrives_and_proves_the_address(smtp_server: SmtpCapture) -> None:
    method = method_for(smtp_server, Clock())
    state = await send(method, "Ann@Example.org")
    message = smtp_server.messages[-1]
    assert message["To"] == "Ann@example.org"  # the domain in one case, the mailbox as typed
    assert "The Garden" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    code = smtp_server.last_code()
    # what is stored holds no address and no code
    stored = json.dumps(state.to_json())
    assert "ann" not in stored.lower() and code not in stored
    proof = method.check(CHECK, CodeState.from_json({**state.to_json(), "attempts": 1}), code)
    assert proof.level == "email"
    assert proof.identity_hash == KEY.identity_hash(EMAIL_ISSUER, "ann@example.org")


@pytest.mark.parametrize(
    "address",
    ["ann@evil.org", "ann@example.org.evil.com", "ann@notexample.org", "ann@sub.example.org"],
)
async def test_wrong_domain_is_refused_and_nothing_is_sent(
    smtp_server: SmtpCapture, address: str
) -> None:
    method = method_for(smtp_server, Clock())
    with pytest.raises(VerificationFailed) as caught:
        method.prepare(CHECK, address)
    assert caught.value.reason == "domain"
    assert "example.org" in str(caught.value)
    assert smtp_server.messages == []


@pytest.mark.parametrize(
    "address",
    [
        "",
        "ann",
        "@example.org",
        "ann@@example.org",
        "a b@example.org",
        "ann@example.org\r\nBcc: eve@evil.org",
        "ann..x@example.org",
        "ann.@example.org",
        "ann@example..org",
        "\u212aate@example.org",  # the Kelvin sign, which lower-cases to a plain k
        "ann@exämple.org",
    ],
)
def test_malformed_addresses_are_refused(address: str) -> None:
    with pytest.raises(VerificationFailed) as caught:
        normalise_address(address)
    assert caught.value.reason in {"address", "domain"}


def test_one_mailbox_is_one_identity() -> None:
    assert normalise_address(" Ann+garden@EXAMPLE.org ") == ("ann@example.org", "example.org")


async def test_the_address_mailed_is_the_address_checked(smtp_server: SmtpCapture) -> None:
    """A trailing dot is accepted for the check, so it must not be mailed either (a mail
    server refuses `ann@example.org.`, which used to burn the member's link)."""
    method = method_for(smtp_server, Clock())
    state = await send(method, " ann@example.org. ")
    assert smtp_server.messages[-1]["To"] == "ann@example.org"
    assert state.identity_hash == method.identity_of("ann@example.org")


async def test_brute_force_stops_at_the_limit(smtp_server: SmtpCapture) -> None:
    method = method_for(smtp_server, Clock(), max_attempts=3)
    state = await send(method, "ann@example.org")
    right = smtp_server.last_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    reasons = []
    for _ in range(3):
        state = counted(state)
        with pytest.raises(VerificationFailed) as caught:
            method.check(CHECK, state, wrong)
        reasons.append(caught.value.reason)
    assert reasons == ["wrong_code", "wrong_code", "locked"]
    # even the right code is refused once the attempts are spent
    with pytest.raises(VerificationFailed) as caught:
        method.check(CHECK, counted(state), right)
    assert caught.value.reason == "locked"


async def test_resend_keeps_counting_attempts_and_obeys_cooldown(smtp_server: SmtpCapture) -> None:
    clock = Clock()
    method = method_for(smtp_server, clock, resend_cooldown_seconds=60, max_sends=2)
    state = await send(method, "ann@example.org")
    first = smtp_server.last_code()
    state = counted(state)
    with pytest.raises(VerificationFailed):
        method.check(CHECK, state, "000000" if first != "000000" else "1")
    with pytest.raises(VerificationFailed) as caught:
        method.prepare(CHECK, "ann@example.org", state)
    assert caught.value.reason == "cooldown"
    clock.now += 61
    state = await send(method, "ann@example.org", state)
    assert state.attempts == 1 and state.sends == 2
    assert len(smtp_server.messages) == 2
    if smtp_server.last_code() != first:  # the new code replaces the old one
        with pytest.raises(VerificationFailed):
            method.check(CHECK, counted(state), first)
    clock.now += 61
    with pytest.raises(VerificationFailed) as caught:
        method.prepare(CHECK, "ann@example.org", state)
    assert caught.value.reason == "send_limit"
    method.check(CHECK, counted(state), smtp_server.last_code())


async def test_code_expires(smtp_server: SmtpCapture) -> None:
    clock = Clock()
    method = method_for(smtp_server, clock, code_ttl_minutes=10)
    state = await send(method, "ann@example.org")
    clock.now += 600
    with pytest.raises(VerificationFailed) as caught:
        method.check(CHECK, counted(state), smtp_server.last_code())
    assert caught.value.reason == "code_expired"


async def test_code_is_bound_to_its_check(smtp_server: SmtpCapture) -> None:
    method = method_for(smtp_server, Clock())
    state = await send(method, "ann@example.org")
    counted = CodeState.from_json({**state.to_json(), "attempts": 1})
    with pytest.raises(VerificationFailed) as caught:
        method.check("another-check", counted, smtp_server.last_code())
    assert caught.value.reason == "wrong_code"


async def test_refused_mail_is_reported_clearly(smtp_server: SmtpCapture) -> None:
    smtp_server.refuse = True
    method = method_for(smtp_server, Clock())
    code, state = method.prepare(CHECK, "ann@example.org")
    with pytest.raises(VerificationFailed) as caught:
        await method.deliver("ann@example.org", code, "The Garden")
    assert caught.value.reason == "smtp"
    assert method.unsent(state).sent_at is None  # no cooldown after a failed send
