"""Linear-time scanners over member text, for `translate.py`: pills, reply quotes, tags and
character references (see the note on MAX_TEXT there)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import NamedTuple

# a pill: <a href="https://matrix.to/#/@user:server">...</a> (the id may be percent-encoded),
# read by `_pills`: a tag, then the last href in it pointing at matrix.to, then its </a>
_A_TAG_RE = re.compile(r"<a\s[^>]*>", re.IGNORECASE)
# run inside one tag only; the id and the query cannot take each other's characters
_LAST_PILL_HREF_RE = re.compile(
    r""".*href\s*=\s*["']https://matrix\.to/#/([^"'?>]+)(?:\?[^"'>]*)?["']""",
    re.IGNORECASE | re.DOTALL,
)
_A_CLOSE_RE = re.compile(r"</a>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]+>")  # applied only up to the last ">" (`_strip_tags`)
# applied only up to the last </mx-reply> (`_without_reply_quote`)
# (the nearest </mx-reply> ends each quote, as `.*?` would find it, without trying the closing
# tag at every character)
_REPLY_HTML_RE = re.compile(r"<mx-reply>[^<]*(?:<(?!/mx-reply>)[^<]*)*</mx-reply>", re.IGNORECASE)
_LAST_REPLY_CLOSE_RE = re.compile(r".*</mx-reply>", re.IGNORECASE | re.DOTALL)
# a decimal character reference long enough to be past U+10FFFF or to carry leading zeros;
# html.unescape turns its digits into an int, which raises ValueError past 4,300 digits
_LONG_CHARREF_RE = re.compile(r"&#([0-9]{8,});?")
_HREFS_KEPT = 4_096  # pill tags whose href target is kept (`_pill_href`)
_HREF_TAG_KEPT = 300  # characters of the longest tag kept
_HREFS: dict[str, str | None] = {}


class _Pill(NamedTuple):  # a tuple: made once per pill on the sync path, cheaper than a dataclass
    start: int  # of "<a"
    end: int  # after "</a>"
    target: str  # as written in the href (may be percent-encoded)


def _pills(text: str) -> Iterator[_Pill]:
    """The pills in `text`: an `<a ...>` tag with a matrix.to href, up to the next `</a>`.

    One pattern used to do this and started again at every `<a `, scanning to the end of the
    text from each. Here each tag is read once (`_A_TAG_RE` runs only up to the last `>`, so
    every start it tries ends in a tag) and its `</a>` is looked for once.
    """
    end = text.rfind(">") + 1
    pos = 0
    while (tag := _A_TAG_RE.search(text, pos, end)) is not None:
        target = _pill_href(text[tag.start() + 3 : tag.end() - 1])
        if target is None:
            pos = tag.end()
            continue
        close = _A_CLOSE_RE.search(text, tag.end())
        if close is None:
            return  # no later tag has a closing </a> either
        yield _Pill(tag.start(), close.end(), target)
        pos = close.end()


def _pill_href(inside: str) -> str | None:
    """The target of the last matrix.to href in one tag (what is between `<a` and `>`), if any.

    The same pill tags come again and again (a member mentioned, a reply's quote), so answers are
    kept, up to _HREFS_KEPT tags, then it starts over. The pattern has no anchors, so matching the
    tag alone answers as matching it inside the text would."""
    try:
        return _HREFS[inside]
    except KeyError:
        pass
    href = _LAST_PILL_HREF_RE.match(inside)
    found = href.group(1) if href is not None else None
    if len(inside) <= _HREF_TAG_KEPT:  # a long tag is read, not kept (memory stays bounded)
        if len(_HREFS) >= _HREFS_KEPT:
            _HREFS.clear()
        _HREFS[inside] = found
    return found


def _without_reply_quote(text: str) -> str:
    """`text` without <mx-reply>...</mx-reply>; an unclosed one stays (nothing after closes it)."""
    last = _LAST_REPLY_CLOSE_RE.match(text)
    if last is None:
        return text
    return _REPLY_HTML_RE.sub("", text[: last.end()]) + text[last.end() :]


def _strip_tags(text: str) -> str:
    """`text` without tags; only up to its last `>`, as a `<` after it never closes."""
    end = text.rfind(">") + 1
    return _TAG_RE.sub("", text[:end]) + text[end:]


def _unescape(text: str) -> str:
    """html.unescape, without its ValueError on a reference of more than 4,300 digits."""
    if "&" not in text:
        return text
    return html.unescape(_LONG_CHARREF_RE.sub(_short_charref, text))


def _short_charref(match: re.Match[str]) -> str:
    digits = match.group(1).lstrip("0") or "0"
    return "\ufffd" if len(digits) > 7 else f"&#{digits};"
