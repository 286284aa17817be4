"""One message must not freeze the bot: reading member text takes time in proportion to its length.

The sync loop, the web pages and the other network share one event loop, and a quadratic
pattern once let a single 60 KB Matrix message block all of them for seconds (a scheme-like run
took minutes). Every function that reads member text is run here on the slowest texts we can
build (tests/unit/slow_texts.py) at the largest size the network delivers and at an eighth of it:
the time may grow eight-fold, as reading in one pass does, but not with the square of the length
(64-fold), which is what froze the bot. A Matrix event is at most 64 KiB, so no string in it is
longer than MAX_TEXT characters; Discord content is at most 4,000 characters (command options at
most 6,000). Times are this thread's processor time, the best of three runs, and anything under a
tenth of a millisecond counts as nothing, so a busy machine does not fail it by chance. How long
each reader takes is a figure for benchmarks/member_text.py, not a target here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from bot.adapters.discord import events as ev
from bot.adapters.matrix import translate as tr
from tests.unit.discord_payloads import BOT_ID, Gateway, message_payload
from tests.unit.slow_texts import texts

# reading in one pass grows 8-fold from an eighth of the size to the whole; quadratic, 64-fold
MOST_GROWTH = 24.0
NEGLIGIBLE_SECONDS = 0.0001


def best_of_three(call: Callable[[], object]) -> float:
    """The processor time this thread spends in `call`: other processes on a busy machine take
    wall-clock time from it, not this."""
    best = float("inf")
    for _ in range(3):
        start = time.thread_time()
        call()
        best = min(best, time.thread_time() - start)
    return best


def superlinear(read: Callable[[str], object], size: int) -> dict[str, str]:
    """The slow texts on which `read` takes more than proportionally longer at `size` than at
    an eighth of it, with both times."""
    whole, eighth = texts(size), texts(size // 8)
    found = {}
    for name, text in whole.items():
        small = best_of_three(lambda text=eighth[name]: read(text))
        large = best_of_three(lambda text=text: read(text))
        if large / max(small, NEGLIGIBLE_SECONDS) > MOST_GROWTH:
            found[name] = f"{small * 1000:.2f} ms -> {large * 1000:.2f} ms"
    return found


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
def test_matrix_text_is_read_in_one_pass_up_to_the_largest_event(reader: str) -> None:
    assert superlinear(MATRIX_READERS[reader], tr.MAX_TEXT) == {}


def test_a_discord_message_is_translated_in_one_pass_up_to_the_largest_content() -> None:
    gateway = Gateway()

    def translate(text: str) -> object:
        return ev.message_posted(gateway.message(message_payload(text)), BOT_ID)

    assert superlinear(translate, ev.MAX_CONTENT) == {}


@pytest.mark.parametrize("reader", [ev.has_link, ev.parse_member_id, ev.parse_channel_id])
def test_discord_text_is_read_in_one_pass_even_past_what_discord_sends(
    reader: Callable[[str], object],
) -> None:
    assert superlinear(reader, ev.MAX_CONTENT) == {}
    assert superlinear(reader, tr.MAX_TEXT) == {}  # 64 KiB: ten times an option's limit


def test_the_check_tells_one_pass_from_a_pattern_that_rescans() -> None:
    """The old link pattern rescanned the rest of the text from every letter: caught here."""
    rescanning = re.compile(r"(?:\b[a-z][a-z0-9+.\-]*://\S)", re.IGNORECASE)
    assert "a." in superlinear(rescanning.search, 8192)


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
