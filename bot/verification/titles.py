"""Page titles that name what went wrong, in one place.

A person who lands on a failure page (often from a screen reader, which reads the title first)
should learn the problem from the title alone: "Link expired", not "Verification did not
succeed". Every failure carries a stable code — `VerificationFailed.reason`, `LinkError.problem`,
or one of the web service's own codes below — and this module turns it into the title.
tests/unit/test_titles.py checks that every reason the methods can raise has its own title here.
"""

from __future__ import annotations

from typing import Final

from bot.verification.links import LinkProblem

FALLBACK: Final = "Verification did not succeed"
UNTRUSTED: Final = "Sign-in could not be trusted"

LINK_TITLES: Final[dict[LinkProblem, str]] = {
    LinkProblem.EXPIRED: "Link expired",
    LinkProblem.USED: "Link already used",
    LinkProblem.TAMPERED: "Link not valid",
}

# Reasons the ID-token and callback checks raise; they all mean the same thing to a person.
_UNTRUSTED_REASONS: Final = (
    "algorithm",
    "audience",
    "authorized_party",
    "callback_issuer",
    "expired",
    "invalid_claim",
    "issued_at",
    "issuer",
    "malformed",
    "missing_claim",
    "no_code",
    "no_id_token",
    "nonce",
    "not_before",
    "signature",
    "subject",
    "unknown_key",
)

FAILURE_TITLES: Final[dict[str, str]] = {
    # the service
    "stale_check": "Step no longer valid",
    "method_not_offered": "Method not available",
    # e-mail code
    "address": "E-mail address not recognised",
    "domain": "E-mail address not accepted here",
    "smtp": "Code not sent",
    "send_limit": "No more codes",
    "cooldown": "Code sent moments ago",
    "wrong_code": "Wrong code",
    "code_expired": "Code expired",
    "locked": "Too many wrong codes",
    "daily_sends": "No more codes today",
    "daily_tries": "Too many tries today",
    # OpenID Connect
    "denied": "Sign-in cancelled",
    "provider_error": "Sign-in failed",
    "code_rejected": "Sign-in not accepted",
    "provider_unreachable": "Sign-in service unreachable",
    "provider_misconfigured": "Sign-in not working",
    **dict.fromkeys(_UNTRUSTED_REASONS, UNTRUSTED),
    # moderator review
    "denied_by_moderator": "Request declined",
    "no_request": "No open request",
    # the web service's own refusals: a form (bot/web/pages.py), a page (bot/web/app.py)
    "cross_site": "Not sent from this page",
    "no_cookie": "Cookies are off",
    "form_expired": "Page out of date",
    "not_found": "Page not found",
    "internal": "Something went wrong",
}


def failure_title(reason: str) -> str:
    """The title for a failure with this stable reason code."""
    return FAILURE_TITLES.get(reason, FALLBACK)


def link_title(problem: LinkProblem) -> str:
    return LINK_TITLES[problem]
