"""Reports: who may be reported, when an answer is due, when an overdue one is raised again
(see bot/policy)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from bot.model import MemberRef
from bot.storage.records import ReportRecord


class ReportRefusal(enum.Enum):
    """Why a report cannot be taken as asked; the cog says it in words."""

    NOTHING_NAMED = "nothing named"  # neither a message nor an account
    ONESELF = "oneself"
    THE_BOT = "the bot"
    TOO_MANY = "too many"  # past the hourly allowance (the store counts it, atomically)


class ReportOutcome(enum.StrEnum):
    """What moderators did about a report; the reporter is told this, never the private note."""

    DISMISSED = "dismissed"
    WARNED = "warned"
    REMOVED = "removed"
    BANNED = "banned"


def report_refusal(
    reporter: MemberRef,
    target: MemberRef | None,
    *,
    names_a_message: bool,
    bot: MemberRef | None,
) -> ReportRefusal | None:
    """A report needs something to be about, and that cannot be the reporter or the bot. A
    message whose author is no longer known is still reportable: it is stored with what is
    known."""
    if target is None and not names_a_message:
        return ReportRefusal.NOTHING_NAMED
    if target is not None and target == reporter:
        return ReportRefusal.ONESELF
    if target is not None and bot is not None and target == bot:
        return ReportRefusal.THE_BOT
    return None


def answer_due(filed_at: datetime, response_hours: int) -> datetime:
    return filed_at + timedelta(hours=response_hours)


def should_raise_again(report: ReportRecord, now: datetime) -> bool:
    """An open report past its expected answer is raised again in the moderators' room, then
    once more every expected-answer period while it stays open (never in a loop of minutes)."""
    if report.status != "open" or report.answer_due_at is None or now < report.answer_due_at:
        return False
    if report.raised_at is None:
        return True
    period = max(report.answer_due_at - report.created_at, timedelta(hours=1))
    return now - report.raised_at >= period


__all__ = [
    "ReportOutcome",
    "ReportRefusal",
    "answer_due",
    "report_refusal",
    "should_raise_again",
]
