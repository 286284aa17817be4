"""The dashboard's words: each refusal's title (it names the problem) and what to do next.

Kept apart from the verification pages' words (bot/verification/titles.py), which speak to
members about the verify command; these speak to admins about the dashboard command.
"""

from __future__ import annotations

from typing import Final

from bot.verification.links import LinkProblem

# reason -> (title, message)
REFUSALS: Final[dict[str, tuple[str, str]]] = {
    LinkProblem.EXPIRED: (
        "Link expired",
        "This sign-in link has expired: they work for a few minutes only. Run the dashboard"
        " command in your community for a new one.",
    ),
    LinkProblem.USED: (
        "Link already used",
        "This sign-in link was already used, and it cannot sign anyone in again. If that was"
        " not you, tell your fellow admins. Run the dashboard command in your community for a"
        " new link.",
    ),
    LinkProblem.TAMPERED: (
        "Link not valid",
        "This sign-in link is not valid. Copy the whole link from the bot's message, or run"
        " the dashboard command in your community for a new one.",
    ),
    "no_link": (
        "Open the link from the chat",
        "This page needs the sign-in link from the bot's message, opened in this browser with"
        " cookies allowed. Run the dashboard command in your community and open the link it"
        " gives you.",
    ),
    "signed_out": (
        "Not signed in",
        "This browser is not signed in to a dashboard, or the session has ended. Run the"
        " dashboard command in your community for a new sign-in link.",
    ),
    "not_admin": (
        "Not an admin any more",
        "The network no longer shows you as an admin of this community, so the dashboard is"
        " closed to you and nothing was changed. You have been signed out.",
    ),
    "cross_site": (
        "Form refused",
        "This form was not sent from the dashboard, so nothing was changed. Open the dashboard"
        " and try again there.",
    ),
    "form_expired": (
        "Form out of date",
        "This form is out of date or belongs to another sign-in, so nothing was changed."
        " Reload the dashboard and try again.",
    ),
    "other_community": (
        "Form for another community",
        "This form is for another community than the one this browser is now signed in to,"
        " so nothing was changed. Reload the dashboard to see which community it shows.",
    ),
    "unavailable": (
        "Community not available",
        "The bot is not connected to this community's network just now, so its dashboard"
        " cannot be shown. Try again in a few minutes.",
    ),
}

SIGNED_OUT_TITLE: Final = "Signed out"
SIGNED_OUT: Final = (
    "You are signed out of the dashboard. Run the dashboard command in your community for a"
    " new sign-in link when you need one."
)
ROLE_NOTE: Final = (
    "The network does not tell the bot who its admins are from here, so this page trusts your"
    " admin role as it was when you signed in, until the session ends."
)
LEVEL_PROBLEM: Final = "Choose one of the four policies below."


def unknown_place(word: str, typed: str, community: str) -> str:
    return (
        f"There is no {word} “{typed}” in {community} that I know of. Name it as you would for"
        " the policy command, or leave the field empty for the whole community."
    )
