"""Ways to verify. Each method proves a *level* and, where it can, a keyed identity hash.

The service drives a method and stores what it proved; methods never touch storage or chat
networks, so each can be tested against its real counterpart (an OpenID provider, an SMTP server)
in isolation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Proof:
    """What a method proved about the person behind an account.

    `identity_hash` is the keyed hash of who they are (None for moderator review, which proves
    nothing about identity); nothing else about the person leaves the method.
    """

    method: str
    level: str
    identity_hash: str | None


class VerificationFailed(Exception):
    """A check did not succeed. `str()` is for the person: what went wrong and what to try.

    `reason` is a short stable code for logs and tests; `detail` is for the log only and may
    name the exact check that failed, which the person does not need to see.
    """

    def __init__(self, message: str, *, reason: str, detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail or reason


__all__ = ["Proof", "VerificationFailed"]
