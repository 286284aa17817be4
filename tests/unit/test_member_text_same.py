"""The linear text readers answer exactly as the old patterns did, wherever clients can reach.

Links are compared on any text at all. Pills and HTML are compared on HTML as clients write it
(tags, pills, links, reply quotes, entities, in any order and nesting); the two differ only on
HTML no client sends, a raw `>` inside a matrix.to href's quoted value, where the old pattern
read across the end of the tag and the new one stops at it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.discord import events as ev
from bot.adapters.matrix import translate as tr
from tests.unit import member_text_before as before
from tests.unit.fuzz_strategies import member_text

HTML = "org.matrix.custom.html"

words = st.text(st.sampled_from("abc XYZ019.:-_@!#?%é\n\t"), max_size=12)
localparts = st.text(st.sampled_from("abcxyz019._=-/"), min_size=1, max_size=8)
user_ids = st.one_of(
    st.sampled_from(["@alice:example.org", "%40bob%3Aexample.org", "@carol:[::1]:8448"]),
    st.builds("@{}:{}".format, localparts, st.sampled_from(["example.org", "x.y:8448"])),
    st.sampled_from(["!room:example.org", "#room:example.org"]),
    words.map(lambda w: f"@{w}"),
)
spaces = st.sampled_from([" ", "\t", "\n", "  "])
quotes = st.sampled_from(['"', "'"])


@st.composite
def pill(draw: st.DrawFn, inner: st.SearchStrategy[str]) -> str:
    quote = draw(quotes)
    query = draw(st.sampled_from(["", "?via=example.org", "?via=a&amp;via=b"]))
    href = f"href={quote}https://matrix.to/#/{draw(user_ids)}{query}{quote}"
    before_attr = draw(st.sampled_from(["", ' title="x"', " class='pill'"]))
    after_attr = draw(st.sampled_from(["", ' rel="noopener"']))
    tag = draw(st.sampled_from(["a", "A"]))
    close = draw(st.sampled_from(["</a>", "</A>"]))
    attributes = f"{before_attr.strip()} {href}" if before_attr else href
    return f"<{tag}{draw(spaces)}{attributes}{after_attr}>{draw(inner)}{close}"


def html_bodies() -> st.SearchStrategy[str]:
    text = words.map(lambda w: w.replace("<", "").replace(">", ""))
    leaf = st.one_of(
        text,
        pill(text),
        st.sampled_from(
            ["<br>", "<br/>", "<br />", "&amp;", "&lt;", "&#65;", "&#x41;", "&#0000065;"]
        ),
        st.builds(lambda q, t: f"<a href={q}https://example.org/x{q}>{t}</a>", quotes, text),
    )
    content = st.recursive(
        leaf,
        lambda inner: (
            st.lists(inner, max_size=4).map("".join)
            | st.builds(
                lambda t, b: f"<{t}>{b}</{t}>",
                st.sampled_from(["b", "em", "p", "blockquote"]),
                inner,
            )
            | st.builds(lambda p, rest: p + rest, pill(inner), inner)
        ),
        max_leaves=10,
    )
    quote = content.map(lambda b: f"<mx-reply><blockquote>{b}</blockquote></mx-reply>")
    return st.builds(lambda q, c: q + c, st.just("") | quote, content)


@given(member_text)
def test_links_in_any_text_are_found_as_before(text: str) -> None:
    if len(text) <= tr.MAX_TEXT:  # longer counts as a link: no homeserver sends such text
        assert tr.has_link({"body": text}) is before.has_link({"body": text})
    if len(text) <= ev.MAX_CONTENT:  # longer counts as a link: Discord sends no such text
        assert ev.has_link(text) is bool(before.DISCORD_LINK_RE.search(text))


@given(html_bodies(), st.text(max_size=20))
def test_html_as_clients_write_it_is_read_as_before(formatted: str, body: str) -> None:
    content: dict[str, Any] = {"body": body, "format": HTML, "formatted_body": formatted}
    assert tr.plain_text(content) == before.plain_text(content)
    assert tr.pill_targets(content) == before.pill_targets(formatted)
    assert tr.has_link(content) is before.has_link(content)
    assert tr.parse_user_id(formatted) == before.parse_user_id(formatted)


def test_the_one_difference_is_html_no_client_sends() -> None:
    """A raw `>` inside the href: the old pattern took `@a:b>x` for the id; now there is none."""
    formatted = '<a href="https://matrix.to/#/@a:b>x">B</a>'
    assert before.PILL_RE.search(formatted).group(1) == "@a:b>x"  # type: ignore[union-attr]
    assert tr.pill_targets({"formatted_body": formatted}) == []
