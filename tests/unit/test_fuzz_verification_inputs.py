"""What a stranger can put into the verification flow gets a clear refusal, never a crash.

E-mail addresses are typed into a web form, link tokens arrive in addresses anyone can edit;
each must come back as an answer (an address, a LinkClaims) or the module's own error
(VerificationFailed, LinkError), which the web pages turn into words. Any other exception is a
500 page with no way forward.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.config import EmailCodeSettings
from bot.model import CommunityRef, MemberRef
from bot.verification.identity import ServerKey
from bot.verification.links import LinkClaims, LinkError, LinkSigner
from bot.verification.providers import VerificationFailed
from bot.verification.providers.email_code import EmailCodeMethod, normalise_address
from tests.unit.fuzz_strategies import json_values, member_text

KEY = ServerKey("a-test-key-of-more-than-thirty-two-bytes-0123456789")
NOW = datetime(2030, 1, 1, tzinfo=UTC)
SIGNER = LinkSigner(KEY, clock=lambda: NOW)
TOKEN, CLAIMS = SIGNER.issue(
    MemberRef("matrix", "@ann:example.org"), CommunityRef("matrix", "!c:x")
)

address_parts = st.text(
    st.sampled_from("abcAZ09.+-_!#$%&'*/=?^`{|}~ \t\n\r\"\\()<>,;:[]@é\x00") | st.characters(),
    max_size=20,
)
addresses = st.one_of(
    member_text,
    st.builds(lambda local, domain: f"{local}@{domain}", address_parts, address_parts),
)


@given(addresses)
@example("ann\n@example.org")
def test_any_address_is_normalised_or_refused(address: str) -> None:
    try:
        normalised, domain = normalise_address(address)
    except VerificationFailed as exc:
        assert str(exc)
        return
    assert normalised.endswith(f"@{domain}") and normalised == normalised.lower()


@pytest.mark.parametrize("address", ["ann\n@example.org", "ann@exam\nple.org", "a\r\n@example.org"])
def test_a_line_feed_in_an_address_is_refused_never_mailed(address: str) -> None:
    method = EmailCodeMethod(
        EmailCodeSettings(allowed_domains=["example.org"]), smtp_password=None, key=KEY
    )
    with pytest.raises(VerificationFailed):
        method.identity_of(address)


class Ledger:
    """Storage's record of redeemed links, in memory."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    async def redeem_link(self, link_id: str, expires_at: datetime) -> bool:
        if link_id in self.used:
            return False
        self.used.add(link_id)
        return True

    async def link_redeemed(self, link_id: str) -> bool:
        return link_id in self.used


def read_or_refuse(token: str) -> LinkClaims | None:
    """Read, check and redeem `token`: claims, or None for a LinkError; nothing else escapes."""
    ledger = Ledger()
    try:
        claims = SIGNER.read(token)
        assert asyncio.run(SIGNER.check_unused(token, ledger)) == claims
        assert asyncio.run(SIGNER.redeem(token, ledger)) == claims
    except LinkError as exc:
        assert str(exc)
        return None
    with pytest.raises(LinkError):
        asyncio.run(SIGNER.redeem(token, ledger))  # single use
    return claims


def tampered(token: str, data: st.DataObject) -> str:
    """One edit of a real token: a character changed, inserted or removed, or cut short."""
    at = data.draw(st.integers(0, len(token)))
    char = data.draw(st.characters() | st.sampled_from("._-=+/AaZz09é"))
    edit = data.draw(st.sampled_from(["change", "insert", "remove", "cut", "swap"]))
    if edit == "change":
        return token[:at] + char + token[at + 1 :]
    if edit == "insert":
        return token[:at] + char + token[at:]
    if edit == "remove":
        return token[:at] + token[at + 1 :]
    if edit == "cut":
        return token[:at]
    body, signature = token.split(".")
    return f"{signature}.{body}"


@given(member_text | st.text(st.sampled_from("abcXYZ019_-.="), max_size=3000))
@example("a.é")
@example("\ud800.x")
def test_any_string_as_a_link_token_is_refused(token: str) -> None:
    assert read_or_refuse(token) is None


@given(st.data())
def test_a_tampered_link_token_is_refused(data: st.DataObject) -> None:
    changed = tampered(TOKEN, data)
    claims = read_or_refuse(changed)
    assert claims is None or changed == TOKEN


def signed(payload: Any) -> str:
    """A token signed with the real key over any JSON: what only a key leak or a bug makes."""
    raw = json.dumps(payload).encode("ascii")  # non-ASCII is escaped
    body = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    return f"{body}.{SIGNER._sign(body)}"


claims_payloads = st.fixed_dictionaries(
    {},
    optional={
        "v": st.just(1) | json_values,
        "n": st.sampled_from(["matrix", "discord"]) | json_values,
        "a": json_values,
        "c": json_values,
        "j": json_values,
        "e": st.integers(-(2**70), 2**70) | st.floats() | json_values,
    },
)


@given(claims_payloads | json_values)
@example({"v": 1, "n": "matrix", "a": "x", "c": "y", "j": "z", "e": 10**20})
@example({"v": 1, "n": "matrix", "a": "x", "c": "y", "j": "z", "e": float("inf")})
def test_a_correctly_signed_but_malformed_token_is_refused(payload: Any) -> None:
    claims = read_or_refuse(signed(payload))
    assert claims is None or claims.expires_at > NOW


def test_a_correctly_signed_token_nested_past_the_json_parser_is_refused() -> None:
    body = base64.urlsafe_b64encode(b"[" * 1500).rstrip(b"=").decode("ascii")
    assert read_or_refuse(f"{body}.{SIGNER._sign(body)}") is None


def test_a_real_token_is_read_until_it_expires() -> None:
    assert read_or_refuse(TOKEN) == CLAIMS
    late = LinkSigner(KEY, clock=lambda: NOW + timedelta(hours=1))
    with pytest.raises(LinkError):
        late.read(TOKEN)
