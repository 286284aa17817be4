"""One message must not freeze the bot: reading any member text takes under 50 ms.

The sync loop, the web pages and the other network share one event loop, and a quadratic
pattern once let a single 60 KB Matrix message block all of them for seconds. Every function
that reads member text is timed here on the slowest texts we can build (tests/unit/slow_texts.py)
at the largest size the network delivers: a Matrix event is at most 64 KiB, so no string in it
is longer than MAX_TEXT characters; Discord content is at most 4,000 characters (command options
at most 6,000). Each input is timed as the best of three runs, so a busy CI machine does not
fail it by chance; the budget is per input.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bot.adapters.discord import events as ev
from bot.adapters.matrix import translate as tr
from tests.unit.discord_payloads import BOT_ID, Gateway, message_payload
from tests.unit.slow_texts import texts

BUDGET_SECONDS = 0.050
MATRIX_TEXTS = texts(tr.MAX_TEXT)
DISCORD_TEXTS = texts(ev.MAX_CONTENT)


def best_of_three(call: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def over_budget(read: Callable[[str], object], inputs: dict[str, str]) -> dict[str, str]:
    """The inputs `read` takes too long on, with their times."""
    slow = {}
    for name, text in inputs.items():
        took = best_of_three(lambda text=text: read(text))
        if took >= BUDGET_SECONDS:
            slow[name] = f"{took * 1000:.0f} ms"
    return slow


def html(text: str) -> dict[str, object]:
    """An event's content carrying `text` as both its body and its HTML."""
    return {
        "msgtype": "m.text",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": text,
    }


def user_ids(text: str) -> dict[str, object]:
    """Content whose m.mentions lists `text` cut into user-id-sized pieces."""
    return {
        "body": "",
        "m.mentions": {"user_ids": [text[i : i + 255] for i in range(0, len(text), 255)]},
    }


MATRIX_READERS: dict[str, Callable[[str], object]] = {
    "plain_text": lambda text: tr.plain_text(html(text)),
    "mentioned_users": lambda text: tr.mentioned_users(html(text)),
    "mentioned_users (m.mentions)": lambda text: tr.mentioned_users(user_ids(text)),
    "mentions_everyone": lambda text: tr.mentions_everyone({"body": text}),
    "has_link": lambda text: tr.has_link(html(text)),
    "reply_target": lambda text: tr.reply_target(
        {"m.relates_to": {"m.in_reply_to": {"event_id": text}}}
    ),
    "parse_command": lambda text: tr.parse_command(text, "!"),
    "parse_command (of plain_text)": lambda text: tr.parse_command(
        tr.plain_text(html(f"!badge {text}")), "!"
    ),
    "parse_user_id": tr.parse_user_id,
    "parse_room_ref": tr.parse_room_ref,
}


@pytest.mark.parametrize("reader", list(MATRIX_READERS))
def test_matrix_text_is_read_in_time_at_the_largest_event_size(reader: str) -> None:
    assert over_budget(MATRIX_READERS[reader], MATRIX_TEXTS) == {}


def test_a_discord_message_is_translated_in_time_at_the_largest_content() -> None:
    gateway = Gateway()
    messages = {
        name: gateway.message(message_payload(text)) for name, text in DISCORD_TEXTS.items()
    }
    slow = {}
    for name, message in messages.items():
        took = best_of_three(lambda message=message: ev.message_posted(message, BOT_ID))
        if took >= BUDGET_SECONDS:
            slow[name] = f"{took * 1000:.0f} ms"
    assert slow == {}


@pytest.mark.parametrize("reader", [ev.has_link, ev.parse_member_id, ev.parse_channel_id])
def test_discord_text_is_read_in_time_even_past_what_discord_sends(
    reader: Callable[[str], object],
) -> None:
    assert over_budget(reader, DISCORD_TEXTS) == {}
    assert over_budget(reader, MATRIX_TEXTS) == {}  # 64 KiB: ten times an option's limit


# --- the limits themselves ----------------------------------------------------------------------


def test_a_link_at_the_very_end_of_the_largest_text_is_found() -> None:
    link = " https://spam.example"
    matrix_body = "a." * (tr.MAX_TEXT // 2 - len(link)) + "ab" + link
    assert len(matrix_body) <= tr.MAX_TEXT and tr.has_link({"body": matrix_body})
    discord_content = ("a." * ev.MAX_CONTENT)[: ev.MAX_CONTENT - len(link)] + link
    assert len(discord_content) == ev.MAX_CONTENT and ev.has_link(discord_content)


def test_a_text_longer_than_a_network_delivers_counts_as_holding_a_link() -> None:
    """Not reading all of it must never let a link through a `limited` channel."""
    assert tr.has_link({"body": "a" * (tr.MAX_TEXT + 1)})
    assert tr.has_link({"body": "", "formatted_body": "a" * (tr.MAX_TEXT + 1)})
    assert ev.has_link("a" * (ev.MAX_CONTENT + 1))
    assert not tr.has_link({"body": "a" * tr.MAX_TEXT}) and not ev.has_link("a" * ev.MAX_CONTENT)
