"""Reading Matrix message content: replies, mentions, threads, links, attachments and commands.

Pure functions over the raw event JSON, so every rule is unit-testable without a homeserver and
the adapter's sync path stays cheap. Clients differ in what they send (m.mentions vs. HTML pills,
reply fallbacks, edits), so each rule accepts the forms real clients produce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote

from bot.adapters.links import SCHEME_LINK, WWW_LINK
from bot.adapters.matrix.scanners import (  # _REPLY_HTML_RE: read by tests as tr._REPLY_HTML_RE
    _REPLY_HTML_RE,  # noqa: F401
    _pills,
    _strip_tags,
    _unescape,
    _without_reply_quote,
)

JsonDict = dict[str, Any]

ATTACHMENT_MSGTYPES = frozenset({"m.image", "m.file", "m.video", "m.audio"})
ABOUT_TEXT_LIMIT = 1_000  # of a message a command points at, what moderators are shown

# Member text is read in time linear in its length (one message must never stall the sync loop):
# every pattern below is anchored, or has no two quantifiers that can pass the same characters
# back and forth, or runs only up to the last character that can end it (the scanners in
# scanners.py). A homeserver delivers no event over 64 KiB, so no string in one is
# longer than MAX_TEXT characters; a longer one (which no homeserver sends) is read only up to
# MAX_TEXT, and counts as holding a link.
MAX_TEXT = 64 * 1024

# localparts: the spec's set plus historical ids; server: name or [IPv6], optional port
# (`\Z`, not `$`, which would let an id end in a line feed, e.g. typed as `%0A`)
_USER_ID = r"@[^\s:<>\"'@]+:(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
USER_ID_RE = re.compile(rf"^{_USER_ID}\Z")
_MATRIX_TO_RE = re.compile(r"^https://matrix\.to/#/([^?\s]+)")
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
# linear in the text: see bot/adapters/links.py
_LINK_RE = re.compile(rf"{SCHEME_LINK}|{WWW_LINK}|\bmailto:\S", re.IGNORECASE)
_HREF_RE = re.compile(r"""href\s*=\s*["'](?!https://matrix\.to/#/[@!#])""", re.IGNORECASE)
_ROOM_MENTION_RE = re.compile(r"(?:^|\s)@room\b")
_COMMAND_NAME_RE = re.compile(r"[a-z][a-z0-9_\-]{0,31}")
_ROOM_ID_RE = re.compile(r"![A-Za-z0-9._~\-+/=]+(?::\S+)?")
_ROOM_ALIAS_RE = re.compile(r"#[^:\s]+:\S+")


def _dict(value: Any) -> JsonDict:
    return value if isinstance(value, dict) else {}


def effective_content(content: JsonDict) -> tuple[JsonDict, str | None]:
    """For an edit, the new content and the id of the edited event; otherwise (content, None).

    An edit is judged by what it makes people see, so a link added by editing counts.
    """
    relates = _dict(content.get("m.relates_to"))
    if relates.get("rel_type") == "m.replace":
        new = content.get("m.new_content")
        if isinstance(new, dict):
            target = relates.get("event_id")
            return new, target if isinstance(target, str) else None
    return content, None


def strip_reply_fallback(body: str) -> str:
    """Drop the '> <@user> quoted' lines older clients put in front of a reply's body."""
    if not body.startswith("> "):
        return body
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and lines[index] == "":
        index += 1
    return "\n".join(lines[index:])


def plain_text(content: JsonDict) -> str:
    """What the message says, with pills written as the user ids they point at.

    Element puts a display name in `body` for a pill, so commands such as `!badge @alice` are read
    from `formatted_body` when it carries pills: account ids, never display names.
    """
    html_parts = _Html.of(content)
    return _plain_text(content, html_parts)


def pill_targets(content: JsonDict) -> list[str]:
    html_parts = _Html.of(content)
    return _pill_targets(html_parts) if html_parts is not None else []


def mentioned_users(content: JsonDict) -> tuple[str, ...]:
    """Users the message mentions: intentional mentions (m.mentions) and HTML pills."""
    return _mentioned_users(content, _Html.of(content))


class Reading(NamedTuple):
    """What the sync path needs of a message's content, each as its own function answers."""

    text: str
    mentioned: tuple[str, ...]
    mentions_everyone: bool
    has_link: bool


def read_message(content: JsonDict) -> Reading:
    """`plain_text`, `mentioned_users`, `mentions_everyone` and `has_link` at once: the HTML
    (without its reply quote, and its pills) is read once for all four, not once for each."""
    html_parts = _Html.of(content)
    return Reading(
        _plain_text(content, html_parts),
        _mentioned_users(content, html_parts),
        mentions_everyone(content),
        _has_link(content, html_parts),
    )


class _Html:
    """A message's `formatted_body` (up to MAX_TEXT), without its reply quote, and its pills."""

    __slots__ = ("capped", "length", "pills", "unquoted")

    def __init__(self, formatted: str) -> None:
        self.length = len(formatted)
        self.capped = formatted[:MAX_TEXT]
        self.unquoted = _without_reply_quote(self.capped)
        self.pills = list(_pills(self.unquoted)) if "<" in self.unquoted else []

    @staticmethod
    def of(content: JsonDict) -> _Html | None:
        formatted = content.get("formatted_body")
        return _Html(formatted) if isinstance(formatted, str) else None


def _plain_text(content: JsonDict, html_parts: _Html | None) -> str:
    if (
        html_parts is not None
        and content.get("format") == "org.matrix.custom.html"
        and (
            # pills with no quote taken out are pills of the whole HTML; else look again
            (html_parts.pills and html_parts.unquoted is html_parts.capped)
            or next(_pills(html_parts.capped), None) is not None
        )
    ):
        text = html_parts.unquoted
        pieces: list[str] = []
        done = 0
        for pill in html_parts.pills:
            pieces += (text[done : pill.start], unquote(pill.target))
            done = pill.end
        text = _BR_RE.sub("\n", "".join(pieces) + text[done:])
        return _unescape(_strip_tags(text)).strip()
    body = content.get("body")
    return strip_reply_fallback(body).strip() if isinstance(body, str) else ""


def _pill_targets(html_parts: _Html) -> list[str]:
    found = []
    for pill in html_parts.pills:
        target = unquote(pill.target)
        if USER_ID_RE.match(target):
            found.append(target)
    return found


def _mentioned_users(content: JsonDict, html_parts: _Html | None) -> tuple[str, ...]:
    ids: list[str] = []
    user_ids = _dict(content.get("m.mentions")).get("user_ids")
    if isinstance(user_ids, list):
        ids.extend(u for u in user_ids if isinstance(u, str) and USER_ID_RE.match(u))
    if html_parts is not None:
        ids.extend(_pill_targets(html_parts))
    return tuple(dict.fromkeys(ids))  # keep order, drop repeats


def mentions_everyone(content: JsonDict) -> bool:
    """@room, as m.mentions.room or (older clients) the literal word in the body."""
    if _dict(content.get("m.mentions")).get("room") is True:
        return True
    if "m.mentions" in content:
        return False  # a client that sends m.mentions says exactly whom it means
    body = content.get("body")
    return isinstance(body, str) and _ROOM_MENTION_RE.search(body[:MAX_TEXT]) is not None


def reply_target(content: JsonDict) -> str | None:
    """The event this message really replies to (a thread's fallback reply is not one)."""
    relates = _dict(content.get("m.relates_to"))
    if relates.get("rel_type") == "m.thread" and relates.get("is_falling_back", False):
        return None
    target = _dict(relates.get("m.in_reply_to")).get("event_id")
    return target if isinstance(target, str) else None


class Relations(NamedTuple):
    """`effective_content`, `reply_target` and `thread_root` of one message at once."""

    content: JsonDict
    edited: str | None
    reply_to: str | None
    thread_root: str | None


def relations(content: JsonDict) -> Relations:
    """What those three functions answer, with `m.relates_to` read once (the sync path)."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict):
        return Relations(content, None, None, None)
    rel_type = relates.get("rel_type")
    effective, edited = effective_content(content) if rel_type == "m.replace" else (content, None)
    root = None
    if rel_type == "m.thread":
        event_id = relates.get("event_id")
        root = event_id if isinstance(event_id, str) else None
        if relates.get("is_falling_back", False):
            return Relations(effective, edited, None, root)
    target = _dict(relates.get("m.in_reply_to")).get("event_id")
    return Relations(effective, edited, target if isinstance(target, str) else None, root)


def is_redacted(event: JsonDict) -> bool:
    """Redacted: the server says so, or left the event nothing to say."""
    return "redacted_because" in _dict(event.get("unsigned")) or not _dict(event.get("content"))


def shown_text(event: JsonDict) -> str | None:
    """What people now see of a message a command points at (its latest edit, if the server
    bundled one), as plain text up to ABOUT_TEXT_LIMIT; None once it is redacted or says
    nothing."""
    if is_redacted(event):
        return None
    unsigned = _dict(event.get("unsigned"))
    content = _dict(event.get("content"))
    edit = _dict(_dict(unsigned.get("m.relations")).get("m.replace"))
    newest = _dict(edit.get("content")).get("m.new_content")
    if isinstance(newest, dict) and edit.get("sender") == event.get("sender"):
        content = newest  # only the author's own edit counts (the spec's rule for edits)
    return plain_text(content)[:ABOUT_TEXT_LIMIT] or None


def thread_root(content: JsonDict) -> str | None:
    relates = _dict(content.get("m.relates_to"))
    if relates.get("rel_type") != "m.thread":
        return None
    root = relates.get("event_id")
    return root if isinstance(root, str) else None


def has_link(content: JsonDict) -> bool:
    """A link in the text (or a non-pill href in the HTML); a text past MAX_TEXT counts as one."""
    return _has_link(content, _Html.of(content))


def _has_link(content: JsonDict, html_parts: _Html | None) -> bool:
    body = content.get("body")
    if html_parts is not None and html_parts.length > MAX_TEXT:
        return True  # no homeserver delivers it; not reading it all must not let a link through
    if isinstance(body, str):
        if len(body) > MAX_TEXT:
            return True
        if _may_hold_link(body) and _LINK_RE.search(strip_reply_fallback(body)):
            return True
    return html_parts is not None and bool(_HREF_RE.search(html_parts.unquoted))


def _may_hold_link(text: str) -> bool:
    """Whether `_LINK_RE` could match at all: each of its forms needs `://`, `www.` or `to:`
    (of `mailto:`), whose letters fold to no other character, so a plain `in` finds them."""
    if "://" in text:
        return True
    lowered = text.lower()
    return "www." in lowered or "to:" in lowered


def has_attachment(event_type: str, content: JsonDict) -> bool:
    msgtype = content.get("msgtype")  # any JSON value: a list would not even hash
    return event_type == "m.sticker" or (
        isinstance(msgtype, str) and msgtype in ATTACHMENT_MSGTYPES
    )


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    name: str
    positional: tuple[str, ...]  # the words after the name; the core binds them to parameters


def parse_command(text: str, prefix: str) -> ParsedCommand | None:
    """`!name word word...` -> the name (lower case) and the words after it."""
    if not prefix or not text.startswith(prefix):
        return None
    line = text[len(prefix) :]
    words = line.split()
    if not words or line[0].isspace():
        return None
    name = words[0].lower()
    if not _COMMAND_NAME_RE.fullmatch(name):
        return None
    return ParsedCommand(name=name, positional=tuple(words[1:]))


def parse_user_id(text: str) -> str | None:
    """A user id as typed: `@user:server`, a matrix.to link, or an HTML pill."""
    pill = next(_pills(text[:MAX_TEXT]), None)
    text = pill.target if pill else text.strip().strip("<>")
    link = _MATRIX_TO_RE.match(text)
    if link:
        text = link.group(1)
    text = unquote(text).rstrip(":,")
    return text if USER_ID_RE.match(text) else None


def parse_room_ref(text: str) -> str | None:
    """A room id (`!abc` or `!abc:server`) or alias (`#name:server`), as typed or linked."""
    text = text.strip().strip("<>")
    link = _MATRIX_TO_RE.match(text)
    if link:
        text = unquote(link.group(1))
    if _ROOM_ID_RE.fullmatch(text) or _ROOM_ALIAS_RE.fullmatch(text):
        return text
    return None
