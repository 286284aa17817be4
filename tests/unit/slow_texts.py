"""The slowest member texts we know how to build, for the timing tests of the text translators.

Each family aims at one way a pattern can take more than linear time: a run a pattern rescans
from every start (`a.a.a.`), starts without an end (`<a ` with no `>`, `<mx-reply>` with no
close, a pill's quote never closed), nested or repeated tags, long runs of one character, and
the decoders behind them (percent and character references). `texts(size)` gives each one at
exactly `size` characters.
"""

from __future__ import annotations

PILL = '<a href="https://matrix.to/#/@alice:example.org">Alice</a>'
MATRIX_TO = "https://matrix.to/#/"

# name -> (head, repeated unit, tail); the unit fills what head and tail leave
FAMILIES: dict[str, tuple[str, str, str]] = {
    # scheme runs: every letter a possible start, no "://" (or one at the very end)
    "a.": ("", "a.", ""),
    "a-": ("", "a-", ""),
    "a+.": ("", "a+.", ""),
    "a": ("", "a", ""),
    "1.": ("", "1.", ""),
    "a. then ://": ("", "a.", "://"),
    "_a://": ("", "_a://", ""),
    "1://": ("", "1://", ""),
    "http": ("", "http", ""),
    "http:/": ("", "http:/", ""),
    "https:": ("", "https:", ""),
    "www.": ("", "www.", ""),
    "www.a": ("", "www.a", ""),
    "www.-": ("", "www.-", ""),
    "www + label": ("www.", "a", "!"),
    "mailto": ("", "mailto", ""),
    "discord.gg": ("", "discord.gg", ""),
    # tags and pills
    "<a ": ("", "<a ", ""),
    "<a\\t": ("", "<a\thref", ""),
    "<a >": ("", "<a >", ""),
    "<a href=": ("", "<a href=", ""),
    "<a href=matrix.to": ("", f'<a href="{MATRIX_TO}', ""),
    "pill, quote never closed": (f'<a href="{MATRIX_TO}@', "x", ""),
    "pill, query never closed": (f'<a href="{MATRIX_TO}@a:b?', "x", ""),
    "pill heads, no </a>": ("", f'<a href="{MATRIX_TO}@a:b">', ""),
    "pills": ("", PILL, ""),
    "one tag, many hrefs": ("<a ", "href ", ">"),
    "one tag, many matrix.to hrefs": ("<a ", f'href="{MATRIX_TO}', ">"),
    "href=": ("", "href=", ""),
    "href='": ("", "href='", ""),
    "href and spaces": ("href", " ", "="),
    "<": ("", "<", ""),
    "< then >": ("", "<", ">"),
    "<>": ("", "<>", ""),
    "nested tags": ("", "<b><i>", ""),
    "nested links": ("", '<a href="https://x.example"><b>', ""),
    "</a>": ("", "</a>", ""),
    "<br ": ("<br", " ", ""),
    "<mx-reply> unclosed": ("", "<mx-reply>", ""),
    "<mx-reply> then </mx-reply>": ("", "<mx-reply>", "</mx-reply>"),
    "</mx-reply>": ("", "</mx-reply>", ""),
    "<mx-reply> and <a ": ("<mx-reply>", "<a ", ""),
    # mentions, ids, rooms
    "@ then :": ("", "@", ":"),
    "@a:": ("", "@a:", ""),
    " @roo": ("", " @roo", ""),
    "@room": ("", "@room", ""),
    "matrix.to": ("", MATRIX_TO, ""),
    "matrix.to/@": (f"{MATRIX_TO}@", "a", ""),
    "!room": ("!", "a", ":"),
    "#alias": ("#", "a", ":"),
    # whitespace, quotes, commands
    "spaces": ("", " ", ""),
    "newlines": ("", "\n", ""),
    "reply fallback lines": ("", "> a\n", ""),
    "! and spaces": ("!", " ", "a"),
    "!a ": ("", "!a ", ""),
    "<@!": ("", "<@!1", ""),
    "digits": ("", "1", ""),
    # decoders
    "&": ("", "&", ""),
    "&a": ("", "&a", ""),
    "&#digits": ("&#", "1", ";"),
    "&#x digits": ("&#x", "f", ";"),
    "&#0s": ("&#", "0", "1;"),
    "%": ("", "%", ""),
    "%40": ("", "%40", ""),
}


def texts(size: int) -> dict[str, str]:
    """Every family at exactly `size` characters, and again after a pill (so HTML is read)."""
    built: dict[str, str] = {}
    for name, (head, unit, tail) in FAMILIES.items():
        built[name] = _build(head, unit, tail, size)
        built[f"pill + {name}"] = _build(PILL + head, unit, tail, size)
    return built


def _build(head: str, unit: str, tail: str, size: int) -> str:
    room = size - len(head) - len(tail)
    return head + (unit * (room // len(unit) + 1))[:room] + tail
