"""Reporting: the categories people choose from, how fast each is answered, where to find help,
and how long what the bot keeps for moderation is kept."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from bot.config.base import Section

CATEGORY_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
MAX_CATEGORIES = 25  # Discord offers at most 25 choices for one option
SupportLine = Annotated[str, Field(min_length=1, max_length=500)]


class ReportCategory(Section):
    """One kind of report: the community rule it concerns and how soon moderators answer.
    `urgent` marks it for moderators; `support` shows the reporter where to find help now."""

    rule: Annotated[str, Field(min_length=1, max_length=300)]
    response_hours: Annotated[int, Field(ge=1, le=720)] | None = None  # None: the default
    urgent: bool = False
    support: bool = False


DEFAULT_CATEGORIES: dict[str, ReportCategory] = {
    "harassment": ReportCategory(
        rule="Treat everyone with respect: no harassment, bullying or pile-ons.", response_hours=24
    ),
    "threats": ReportCategory(
        rule="No threats of violence or harm against anyone.",
        response_hours=2,
        urgent=True,
        support=True,
    ),
    "hate": ReportCategory(
        rule="No hate speech or slurs against any group of people.", response_hours=24
    ),
    "self-harm": ReportCategory(
        rule="We look out for each other: messages about self-harm or suicide are handled with"
        " care.",
        response_hours=2,
        urgent=True,
        support=True,
    ),
    "impersonation": ReportCategory(rule="Do not pretend to be someone else.", response_hours=48),
    "spam": ReportCategory(rule="No spam, scams or unsolicited advertising.", response_hours=48),
    "other": ReportCategory(rule="The community's rules."),
}

DEFAULT_SUPPORT = [
    "If you or someone else is in danger right now, call your local emergency number"
    " (112 in Europe, 911 in North America, 999 in the UK).",
    "You do not have to face this alone: free, confidential crisis lines for your country are"
    " listed at https://findahelpline.com.",
]


class ReportSettings(Section):
    categories: dict[str, ReportCategory] = DEFAULT_CATEGORIES
    per_hour: Annotated[int, Field(ge=1, le=100)] = 5  # reports one account may file an hour
    overdue_check_minutes: Annotated[float, Field(ge=1, le=1440)] = 15
    # shown to whoever files a report in a `support` category, one line each
    support: Annotated[list[SupportLine], Field(max_length=10)] = DEFAULT_SUPPORT

    @field_validator("categories")
    @classmethod
    def _named_plainly(cls, categories: dict[str, ReportCategory]) -> dict[str, ReportCategory]:
        if not categories:
            raise ValueError("list at least one category, e.g. [reports.categories.other]")
        if len(categories) > MAX_CATEGORIES:
            raise ValueError(f"at most {MAX_CATEGORIES} categories (Discord's limit of choices)")
        bad = [name for name in categories if not CATEGORY_PATTERN.match(name)]
        if bad:
            raise ValueError(
                f"category names are one lowercase word (letters, digits, -): not {bad[0]!r}"
            )
        return categories


class RetentionSettings(Section):
    """How long what serves moderation is kept once it no longer serves anyone."""

    closed_reports_days: Annotated[int, Field(ge=1, le=3650)] = 180
    audit_days: Annotated[int, Field(ge=1, le=3650)] = 365
