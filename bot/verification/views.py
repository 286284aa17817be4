"""What the pages of an identity check show: the service's answers, as plain values.

The web layer (bot/web/verify.py) renders these and never looks inside the service, so a page
can change without touching a check, and a check without touching a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.model import MemberRef
from bot.verification.links import LinkClaims
from bot.verification.providers import VerificationFailed

MethodName = Literal["oidc", "email_code", "moderator"]


@dataclass(frozen=True, slots=True)
class MethodChoice:
    """One way to verify, as the link page offers it: what it shares and what the bot keeps."""

    name: MethodName
    title: str
    shares: str
    keeps: str
    needs_address: bool = False


@dataclass(frozen=True, slots=True)
class LinkPage:
    """The page a link opens: whose check it is, for which community, and the ways offered."""

    claims: LinkClaims
    community_name: str
    methods: tuple[MethodChoice, ...]


@dataclass(frozen=True, slots=True)
class Redirect:
    """Send the browser on (to the identity provider's sign-in page)."""

    url: str


@dataclass(frozen=True, slots=True)
class CodeSent:
    """Show the code page for `check_id` with `message` (a problem, when `problem`, whose
    stable code is `reason`: "wrong_code", "code_expired", "smtp", ...)."""

    check_id: str
    message: str
    problem: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Result:
    """The end of a check, as the person sees it (page and private message)."""

    ok: bool
    title: str
    message: str
    member: MemberRef | None = None  # who verified (set on success): what the page may offer


Started = Redirect | CodeSent | Result  # what starting each method shows


class StaleCheck(VerificationFailed):
    """The check was finished, used, or never existed (forged state, replayed callback)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "This verification step is no longer valid: it was already used, has expired, or"
            " was not started in this browser. Nothing was stored. Run the verify command again"
            " for a fresh link.",
            reason="stale_check",
            detail=detail,
        )


__all__ = [
    "CodeSent",
    "LinkPage",
    "MethodChoice",
    "MethodName",
    "Redirect",
    "Result",
    "StaleCheck",
    "Started",
]
