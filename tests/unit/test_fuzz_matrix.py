"""Any Matrix event content is read without an exception, and every answer has the right shape.

The sync loop reads event JSON from anyone in a room, as sent: wrong types, missing keys, odd
HTML. An exception there drops the event unread, so a message would escape its room's policy and
the members' filters; so every input must get an answer (or be ignored), never an error.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from bot.adapters.matrix import translate as tr
from tests.unit.fuzz_strategies import json_values, member_text, text_or_any
from tests.unit.slow_texts import PILL

HTML = "org.matrix.custom.html"

relations = st.fixed_dictionaries(
    {},
    optional={
        "rel_type": text_or_any(st.sampled_from(["m.replace", "m.thread", "m.annotation"])),
        "event_id": text_or_any(st.text(max_size=20)),
        "is_falling_back": json_values,
        "m.in_reply_to": text_or_any(st.fixed_dictionaries({"event_id": json_values})),
    },
)
mentions = st.fixed_dictionaries(
    {},
    optional={
        "user_ids": text_or_any(st.lists(text_or_any(member_text), max_size=5)),
        "room": json_values,
    },
)


def contents(new_content: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    known = st.fixed_dictionaries(
        {},
        optional={
            "msgtype": text_or_any(st.sampled_from(["m.text", "m.image", "m.notice", "m.file"])),
            "body": text_or_any(member_text),
            "format": text_or_any(st.just(HTML)),
            "formatted_body": text_or_any(member_text),
            "m.mentions": text_or_any(mentions),
            "m.relates_to": text_or_any(relations),
            "m.new_content": new_content,
        },
    )
    extra = st.dictionaries(st.text(max_size=12), json_values, max_size=3)
    return st.builds(lambda k, e: {**e, **k}, known, extra)


event_contents = contents(text_or_any(contents(json_values)))


@given(event_contents, text_or_any(st.sampled_from(["m.room.message", "m.sticker"])))
@example({"msgtype": [], "body": "https://spam.example"}, "m.room.message")
@example({"format": HTML, "formatted_body": PILL + "&#" + "1" * 5000 + ";"}, "m.room.message")
def test_any_content_is_read_without_an_exception(raw: dict[str, Any], event_type: Any) -> None:
    content, edited = tr.effective_content(raw)
    assert isinstance(content, dict) and (edited is None or isinstance(edited, str))
    text = tr.plain_text(content)
    assert isinstance(text, str)
    assert all(tr.USER_ID_RE.match(user) for user in tr.mentioned_users(content))
    assert isinstance(tr.mentions_everyone(content), bool)
    assert isinstance(tr.has_link(content), bool)
    assert isinstance(tr.has_attachment(str(event_type), content), bool)
    for relation in (tr.reply_target(raw), tr.thread_root(raw)):
        assert relation is None or isinstance(relation, str)
    command = tr.parse_command(text, "!")
    assert command is None or command.positional == tuple(text[1:].split()[1:])


@given(member_text, st.sampled_from(["!", "!!", "verifybot:", "/"]) | st.text(max_size=3))
def test_any_text_is_a_command_or_not(text: str, prefix: str) -> None:
    command = tr.parse_command(text, prefix)
    if command is not None:
        assert text.startswith(prefix) and tr._COMMAND_NAME_RE.fullmatch(command.name)
        assert command.positional == tuple(text[len(prefix) :].split()[1:])  # words after name
        assert all(word == word.strip() != "" for word in command.positional)


@given(member_text)
def test_any_word_is_a_user_or_room_reference_or_none(word: str) -> None:
    user = tr.parse_user_id(word)
    assert user is None or tr.USER_ID_RE.match(user)
    room = tr.parse_room_ref(word)
    assert room is None or room[:1] in ("!", "#")
