"""Keyed hashes: the only trace of a person the bot keeps.

`identity_hash = HMAC-SHA256(key, issuer || subject)` lets the bot notice the same person behind
two accounts without storing who they are. Each part is length-prefixed, so ("ab", "c") and
("a", "bc") can never collide. Without the server key the hashes cannot be reversed by guessing
likely subjects or addresses, which a plain hash would allow.

One secret (identity.hash_key) serves several purposes; each gets its own subkey, derived with a
fixed label, so a value made for one purpose (a CSRF token, a link signature) is useless for any
other.
"""

from __future__ import annotations

import hashlib
import hmac

# A key shorter than this is guessable offline from the hashes it protects.
MIN_KEY_LENGTH = 32

_DOMAIN = b"verifybot/v1/"


class WeakKeyError(ValueError):
    """The identity key is unusable; the message says how to make a good one."""


def _encode(*parts: str) -> bytes:
    """Unambiguous concatenation: each UTF-8 part is prefixed with its 4-byte length."""
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(4, "big")
        out += raw
    return bytes(out)


class ServerKey:
    """The server's secret, with one derived subkey per purpose."""

    __slots__ = ("_master",)

    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(raw) < MIN_KEY_LENGTH:
            raise WeakKeyError(
                f"identity.hash_key is {len(raw)} bytes; use at least {MIN_KEY_LENGTH} random"
                " bytes, e.g. the output of `python -c 'import secrets;"
                " print(secrets.token_urlsafe(48))'`"
            )
        self._master = raw

    def __repr__(self) -> str:  # never print the secret
        return "ServerKey(<hidden>)"

    def subkey(self, purpose: str) -> bytes:
        """A key for one purpose only (HMAC as a key-derivation function)."""
        return hmac.new(self._master, _DOMAIN + purpose.encode("ascii"), hashlib.sha256).digest()

    def mac(self, purpose: str, *parts: str) -> bytes:
        """HMAC-SHA256 under the purpose's subkey over the unambiguous encoding of `parts`."""
        return hmac.new(self.subkey(purpose), _encode(*parts), hashlib.sha256).digest()

    def identity_hash(self, issuer: str, subject: str) -> str:
        """The stored identity of a person: hex HMAC of (issuer, subject)."""
        if not issuer or not subject:
            raise ValueError("both issuer and subject are needed to identify a person")
        return self.mac("identity", issuer, subject).hex()


def identity_hash(key: ServerKey, issuer: str, subject: str) -> str:
    """Module-level spelling of `ServerKey.identity_hash`, as the house plan names it."""
    return key.identity_hash(issuer, subject)


# The "issuer" under which e-mail identities are hashed: a person proven by owning an address.
EMAIL_ISSUER = "mailto:"


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of two texts, whatever a person typed: `hmac.compare_digest`
    raises on `str` that is not ASCII, which would turn odd input into a crash."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))
