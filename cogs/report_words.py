"""What reporters and moderators are told about reports, kept together so it stays kind, plain
and the same on every network."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.adapters.base import ChatAdapter
from bot.messages import ago_words, duration_words, excerpt_of, in_words
from bot.model import Choice
from bot.policy import ReportOutcome, ReportRefusal
from bot.storage.records import ReportRecord

OUTCOME_LABELS = {
    ReportOutcome.DISMISSED: "Dismiss",
    ReportOutcome.WARNED: "Warned",
    ReportOutcome.REMOVED: "Remove message",
    ReportOutcome.BANNED: "Banned",
}

OUTCOME_FOR_REPORTER = {
    ReportOutcome.DISMISSED: "found that it does not break the community's rules, so they took no"
    " action",
    ReportOutcome.WARNED: "warned the account you reported",
    ReportOutcome.REMOVED: "removed the message",
    ReportOutcome.BANNED: "banned the account you reported",
}


def resolve_choices(report: ReportRecord) -> tuple[Choice, ...]:
    """One-step answers to a report: buttons on Discord, commands to send on Matrix."""
    return tuple(
        Choice(label, "resolve", (str(report.id), outcome.value))
        for outcome, label in OUTCOME_LABELS.items()
        if outcome is not ReportOutcome.REMOVED or report.message is not None
    )


def refusal_words(refusal: ReportRefusal, prefix: str, *, menu: str | None) -> str:
    match refusal:
        case ReportRefusal.NOTHING_NAMED:
            how = (
                f'use "{menu}" in the message\'s menu (Apps), or name the account:'
                f" {prefix}report <category> @someone"
                if prefix == "/"
                else f"reply to the message with {prefix}report <category>, or name the"
                f" account: {prefix}report <category> @someone"
            )
            return f"Say what you are reporting: {how}."
        case ReportRefusal.ONESELF:
            return (
                "You cannot report yourself. If something is wrong with your own account, talk"
                " to a moderator."
            )
        case ReportRefusal.THE_BOT:
            return (
                "That is me, the bot, so a report would only reach my own inbox. If I did"
                " something wrong, please tell a moderator or an admin directly."
            )
        case ReportRefusal.TOO_MANY:
            return (
                "You have sent as many reports as one account can in an hour, so this one was"
                " not sent. Your earlier reports are with the moderators. If someone is in"
                " danger, contact your local emergency number now."
            )


def acknowledgement(
    report: ReportRecord,
    *,
    place: str,
    to_moderators: bool,
    hours: int,
    now: datetime,
    support: Sequence[str],
) -> str:
    """The reporter's private receipt: what was received, the rule, where it went, when to
    expect an answer, and where to find help now when the category calls for it."""
    went = "the moderators" if to_moderators else "the admins"
    lines = [
        f"Thank you. Your report #{report.id} ({report.category}) is with {went} of {place}.",
        f"It concerns the rule: {report.rule}",
    ]
    if report.message_id is not None and report.message_text is None:
        lines.append(
            "I could no longer see that message (it may have been deleted), so the report"
            " holds what you told me and where it was."
        )
    due = report.answer_due_at or now
    lines.append(
        f"Expect an answer within {duration_words(due - now)} ({in_words(due, now)}); I will"
        " let you know privately what they decide."
    )
    if support:
        lines.append("")
        lines.append(
            "If this is about someone's safety, you do not have to wait for the moderators:"
        )
        lines += [f"• {line}" for line in support]
    return "\n".join(lines)


def moderators_notice(
    report: ReportRecord, adapter: ChatAdapter, *, verified: bool | None, now: datetime
) -> str:
    """What moderators see: the case in a few lines, the reported account's standing (verified
    or not, never how), and the reporter's own words."""
    urgent = "URGENT — " if report.urgent else ""
    lines = [f"{urgent}Report #{report.id}: {report.category}. Rule: {report.rule}"]
    if report.target is not None:
        standing = "verified" if verified else "not verified"
        lines.append(f"About: {adapter.display(report.target)} ({standing})")
    if report.message is not None:
        seen = (
            f"“{excerpt_of(report.message_text, 300)}”"
            if report.message_text
            else "(no longer visible to me: deleted or out of my sight)"
        )
        lines.append(f"Message: {adapter.message_link(report.message)} {seen}")
    if report.details:
        lines.append(f"Reporter's words: “{excerpt_of(report.details, 500)}”")
    due = report.answer_due_at or now
    lines.append(
        f"Filed by {adapter.display(report.reporter)}; the reporter was told to expect an"
        f" answer {in_words(due, now)}."
    )
    return "\n".join(lines)


def overdue_notice(report: ReportRecord, adapter: ChatAdapter, *, now: datetime) -> str:
    due = report.answer_due_at or now
    expected = duration_words(due - report.created_at)
    about = f" about {adapter.display(report.target)}" if report.target else ""
    urgent = "URGENT — " if report.urgent else ""
    return (
        f"{urgent}Report #{report.id} ({report.category}){about} is still open: it was filed"
        f" {ago_words(report.created_at, now)} and the reporter was told to expect an answer"
        f" within {expected}."
    )


def outcome_for_reporter(report: ReportRecord, outcome: ReportOutcome, place: str) -> str:
    """The reporter hears what was done, never the moderators' private note."""
    return (
        f"The moderators of {place} have looked at your report #{report.id}"
        f" ({report.category}) and {OUTCOME_FOR_REPORTER[outcome]}. Thank you for telling us."
    )
