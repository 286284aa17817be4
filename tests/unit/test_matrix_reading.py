"""The sync path reads a message's content once (`read_message`) and remembers what it asks of
rooms (levels, communities); each answer must be what the one-question readers give, and follow
every change of state at once.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from bot.adapters.matrix import translate as tr
from bot.adapters.matrix.directory import RoomDirectory
from bot.adapters.matrix.rooms import CREATOR, RoomFacts
from tests.unit.fuzz_strategies import json_values, member_text, text_or_any
from tests.unit.matrix_syncs import CONFIG, ROOM_ID, SPACE_ID, room_state

HTML = "org.matrix.custom.html"
LAZY_QUOTE_RE = re.compile(r"<mx-reply>.*?</mx-reply>", re.IGNORECASE | re.DOTALL)
# HTML as clients write it: pills (some percent-encoded), reply quotes, links, breaks, entities
HTML_PIECES = [
    '<a href="https://matrix.to/#/@alice:example.org">Alice</a>',
    "<a href='https://matrix.to/#/%40bob%3Aexample.org?via=x'>Bob</a>",
    '<a href="https://matrix.to/#/!room:example.org/$event">In reply to</a>',
    '<a href="https://example.org/x">a link</a>',
    "<mx-reply><blockquote>",
    "</blockquote></mx-reply>",
    "<br>",
    "<b>",
    "</b>",
    "&amp;",
    "&#65;",
    "https://example.org",
    " www.example.org ",
    "@room",
    "hello ",
    "<",
    ">",
]
html_bodies = st.lists(st.sampled_from(HTML_PIECES) | member_text, max_size=10).map("".join)
event_contents = st.fixed_dictionaries(
    {},
    optional={
        "body": text_or_any(member_text | html_bodies),
        "format": text_or_any(st.just(HTML)),
        "formatted_body": text_or_any(html_bodies),
        "m.mentions": text_or_any(
            st.fixed_dictionaries(
                {},
                optional={
                    "user_ids": text_or_any(st.lists(text_or_any(member_text), max_size=3)),
                    "room": json_values,
                },
            )
        ),
    },
)


def one_by_one(content: dict[str, Any]) -> tuple[str, tuple[str, ...], bool, bool]:
    return (
        tr.plain_text(content),
        tr.mentioned_users(content),
        tr.mentions_everyone(content),
        tr.has_link(content),
    )


@given(event_contents)
def test_any_content_reads_at_once_as_one_by_one(content: dict[str, Any]) -> None:
    assert tuple(tr.read_message(content)) == one_by_one(content)


@given(html_bodies, st.text(max_size=20), st.sampled_from([HTML, "text/html"]))
def test_html_as_clients_write_it_reads_at_once_as_one_by_one(
    formatted: str, body: str, form: str
) -> None:
    content = {"body": body, "format": form, "formatted_body": formatted}
    assert tuple(tr.read_message(content)) == one_by_one(content)


@given(member_text)
@example("MAILTO:a@b.example")
@example("ma\u0130lto:a@b.example")  # İ folds to i in the pattern: still a link
@example("ma\u0131lto:a@b.example")  # and so does the dotless i
@example("WwW.example.org")
@example("HTTPS://example.org")
def test_a_text_without_the_marks_of_a_link_is_not_searched(text: str) -> None:
    if len(text) <= tr.MAX_TEXT:
        found = tr._LINK_RE.search(tr.strip_reply_fallback(text)) is not None
        assert tr.has_link({"body": text}) is found


@given(st.lists(st.sampled_from(["<mx-reply>", "</MX-reply>", "<", "a", ">", "\n", "<a>"])))
def test_reply_quotes_are_taken_out_as_the_lazy_pattern_takes_them(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert tr._REPLY_HTML_RE.sub("", text) == LAZY_QUOTE_RE.sub("", text)


def test_a_creators_level_follows_a_create_event_that_comes_after_the_question() -> None:
    facts = RoomFacts("!r:hs", room_version="11")
    facts.apply({"type": "m.room.power_levels", "state_key": "", "content": {"users": {}}})
    assert facts.level("@alice:hs") == 0
    create = {"room_version": "12", "additional_creators": ["@alice:hs"]}
    facts.apply({"type": "m.room.create", "state_key": "", "sender": "@c:hs", "content": create})
    assert facts.level("@alice:hs") == CREATOR
    facts.room_version = "11"
    assert facts.level("@alice:hs") == 0


def test_a_rooms_community_follows_the_space_at_once() -> None:
    assert CONFIG.matrix is not None
    directory = RoomDirectory(CONFIG.matrix, CONFIG)
    for room_id, state in room_state(12).items():
        facts = directory.rooms.setdefault(room_id, RoomFacts(room_id))
        for event in state:
            facts.apply(event)
    directory.reindex()
    community = directory.community_of(ROOM_ID)
    assert community is not None and community.id == SPACE_ID
    assert directory.community_of(ROOM_ID) is community  # one per room
    directory.rooms[SPACE_ID].apply(
        {"type": "m.space.child", "state_key": ROOM_ID, "sender": "@a:hs", "content": {}}
    )
    directory.reindex()
    alone = directory.community_of(ROOM_ID)
    assert alone is not None and alone.id == ROOM_ID  # a room of its own now
