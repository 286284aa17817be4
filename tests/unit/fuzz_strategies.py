"""Hypothesis strategies for what members and admins can send: text, JSON, TOML-shaped data.

Plain `st.text()` rarely builds a pill or a link, so member text also comes as a mix of the
fragments the translators look for (tags, pills, links, references, prefixes) and random bits
between them: the fuzzer reaches every branch, and still tries everything else.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.unit.slow_texts import MATRIX_TO, PILL

FRAGMENTS = (
    PILL,
    "<a ",
    "<A\thref='",
    'href="',
    "href=",
    MATRIX_TO,
    "@alice:example.org",
    "%40bob%3Aexample.org",
    "?via=example.org",
    "</a>",
    "<mx-reply>",
    "</mx-reply>",
    "<br/>",
    "<b>",
    "&#",
    "&#x",
    "&amp;",
    "&lt;",
    "1" * 5000,
    "https://",
    "http://example.org",
    "www.",
    "example.org",
    "mailto:",
    "discord.gg/",
    "://",
    "@room",
    "@everyone",
    "<@",
    "<@!",
    "<#",
    "123456789012345678",
    "!",
    "!policy",
    "#general:example.org",
    "!room:example.org",
    " ",
    "   ",
    "\n",
    "> ",
    '"',
    "'",
    "<",
    ">",
    "?",
    ":",
    "#",
    ".",
    "-",
    "+",
    "_",
    "%",
    "\u0130",
    "\u212a",
    "\x00",
    "\ud800",
)

member_text: st.SearchStrategy[str] = st.one_of(
    st.text(),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=24).map("".join),
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | member_text
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def text_or_any(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right type, sometimes any JSON value: clients send both."""
    return st.one_of(strategy, strategy, strategy, json_values)
