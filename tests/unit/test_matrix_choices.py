"""Matrix writes a notice's choices as the commands to send; words a choice leaves to the
moderator (a reason) are shown as placeholders, so the command copied is one that works."""

from __future__ import annotations

from bot.adapters.matrix.notices import with_choices
from bot.model import Choice, CommandSpec, ParamKind, ParamSpec

DENY = CommandSpec(
    "deny",
    "Decline a request",
    (
        ParamSpec("member", ParamKind.MEMBER, "whose request"),
        ParamSpec("reason", ParamKind.TEXT, "why"),
    ),
)
APPROVE = CommandSpec("approve", "Approve", (ParamSpec("member", ParamKind.MEMBER, "whose"),))


def test_a_reason_left_to_the_moderator_is_a_placeholder() -> None:
    specs = {s.name: s for s in (DENY, APPROVE)}
    text = with_choices(
        "@bob:hs asks to be verified.",
        [Choice("Approve", "approve", ("@bob:hs",)), Choice("Deny", "deny", ("@bob:hs",))],
        "!",
        specs.get,
    )
    assert text.splitlines()[1:] == [
        "To answer, send one of:",
        "!approve @bob:hs — Approve",
        "!deny @bob:hs <reason> — Deny",
    ]
