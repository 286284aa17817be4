"""Odd Matrix content the fuzzer found, read the way a member would expect.

Each of these used to raise inside the sync loop's translation, which drops the event unread:
the message then escaped its room's policy (links in a `limited` room) and the members' filters.
"""

from __future__ import annotations

from bot.adapters.matrix import translate as tr
from tests.unit.slow_texts import PILL

HTML = "org.matrix.custom.html"


def test_a_character_reference_of_thousands_of_digits_does_not_hide_a_message() -> None:
    reference = "&#" + "1" * 5000 + ";"  # int() refuses more than 4,300 digits
    content = {
        "body": "Alice https://spam.example",
        "format": HTML,
        "formatted_body": f"{PILL} {reference} https://spam.example",
    }
    assert tr.plain_text(content) == "@alice:example.org \ufffd https://spam.example"
    assert tr.has_link(content) and tr.mentioned_users(content) == ("@alice:example.org",)


def test_character_references_read_as_html_reads_them() -> None:
    formatted = f"{PILL} &#65; &#0000066; &#00000000000067; &#99999999; &#x44; &amp;"
    text = tr.plain_text({"format": HTML, "formatted_body": formatted})
    assert text == "@alice:example.org A B C \ufffd D &"


def test_a_msgtype_that_is_not_text_does_not_hide_a_message() -> None:
    content = {"msgtype": ["m.image"], "body": "https://spam.example"}
    assert not tr.has_attachment("m.room.message", content)
    assert tr.has_link(content)
    assert tr.has_attachment("m.sticker", {"msgtype": {"m.file": 1}})


def test_a_user_id_ending_in_a_line_feed_is_no_user_id() -> None:
    assert tr.parse_user_id("@alice:example.org%0A") is None
    content = {"body": "hi", "m.mentions": {"user_ids": ["@bob:example.org\n", "@bob:example.org"]}}
    assert tr.mentioned_users(content) == ("@bob:example.org",)
