"""Reading Matrix message content: replies, mentions, threads, links, attachments and commands.

Pure functions over the raw event JSON, so every rule is unit-testable without a homeserver and
the adapter's sync path stays cheap. Clients differ in what they send (m.mentions vs. HTML pills,
reply fallbacks, edits), so each rule accepts the forms real clients produce.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

JsonDict = dict[str, Any]

ATTACHMENT_MSGTYPES = frozenset({"m.image", "m.file", "m.video", "m.audio"})

# localparts: the spec's set plus historical ids; server: name or [IPv6], optional port
_USER_ID = r"@[^\s:<>\"'@]+:(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
USER_ID_RE = re.compile(rf"^{_USER_ID}$")
# a pill: <a href="https://matrix.to/#/@user:server">...</a> (the id may be percent-encoded)
_PILL_RE = re.compile(
    r"""<a\s[^>]*href\s*=\s*["']https://matrix\.to/#/([^"'?]+)[^"']*["'][^>]*>(.*?)</a>""",
    re.IGNORECASE | re.DOTALL,
)
_MATRIX_TO_RE = re.compile(r"^https://matrix\.to/#/([^?\s]+)")
_TAG_RE = re.compile(r"<[^>]+>")
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_REPLY_HTML_RE = re.compile(r"<mx-reply>.*?</mx-reply>", re.IGNORECASE | re.DOTALL)
_LINK_RE = re.compile(
    r"(?:\b[a-z][a-z0-9+.\-]*://\S)|(?:\bwww\.[a-z0-9\-]+\.[a-z]{2,})|(?:\bmailto:\S)",
    re.IGNORECASE,
)
_HREF_RE = re.compile(r"""href\s*=\s*["'](?!https://matrix\.to/#/[@!#])""", re.IGNORECASE)


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
    formatted = content.get("formatted_body")
    if (
        content.get("format") == "org.matrix.custom.html"
        and isinstance(formatted, str)
        and _PILL_RE.search(formatted)
    ):
        text = _REPLY_HTML_RE.sub("", formatted)
        text = _PILL_RE.sub(lambda m: unquote(m.group(1)), text)
        text = _BR_RE.sub("\n", text)
        return html.unescape(_TAG_RE.sub("", text)).strip()
    body = content.get("body")
    return strip_reply_fallback(body).strip() if isinstance(body, str) else ""


def pill_targets(content: JsonDict) -> list[str]:
    formatted = content.get("formatted_body")
    if not isinstance(formatted, str):
        return []
    formatted = _REPLY_HTML_RE.sub("", formatted)
    found = []
    for match in _PILL_RE.finditer(formatted):
        target = unquote(match.group(1))
        if USER_ID_RE.match(target):
            found.append(target)
    return found


def mentioned_users(content: JsonDict) -> tuple[str, ...]:
    """Users the message mentions: intentional mentions (m.mentions) and HTML pills."""
    ids: list[str] = []
    user_ids = _dict(content.get("m.mentions")).get("user_ids")
    if isinstance(user_ids, list):
        ids.extend(u for u in user_ids if isinstance(u, str) and USER_ID_RE.match(u))
    ids.extend(pill_targets(content))
    return tuple(dict.fromkeys(ids))  # keep order, drop repeats


def mentions_everyone(content: JsonDict) -> bool:
    """@room, as m.mentions.room or (older clients) the literal word in the body."""
    if _dict(content.get("m.mentions")).get("room") is True:
        return True
    if "m.mentions" in content:
        return False  # a client that sends m.mentions says exactly whom it means
    body = content.get("body")
    return isinstance(body, str) and re.search(r"(^|\s)@room\b", body) is not None


def reply_target(content: JsonDict) -> str | None:
    """The event this message really replies to (a thread's fallback reply is not one)."""
    relates = _dict(content.get("m.relates_to"))
    if relates.get("rel_type") == "m.thread" and relates.get("is_falling_back", False):
        return None
    target = _dict(relates.get("m.in_reply_to")).get("event_id")
    return target if isinstance(target, str) else None


def thread_root(content: JsonDict) -> str | None:
    relates = _dict(content.get("m.relates_to"))
    if relates.get("rel_type") != "m.thread":
        return None
    root = relates.get("event_id")
    return root if isinstance(root, str) else None


def has_link(content: JsonDict) -> bool:
    body = content.get("body")
    if isinstance(body, str) and _LINK_RE.search(strip_reply_fallback(body)):
        return True
    formatted = content.get("formatted_body")
    return isinstance(formatted, str) and bool(_HREF_RE.search(_REPLY_HTML_RE.sub("", formatted)))


def has_attachment(event_type: str, content: JsonDict) -> bool:
    return event_type == "m.sticker" or content.get("msgtype") in ATTACHMENT_MSGTYPES


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    name: str
    positional: tuple[str, ...]
    rest: str


def parse_command(text: str, prefix: str) -> ParsedCommand | None:
    """`!name word word...` -> name, words, and the rest of the line after the name."""
    if not prefix or not text.startswith(prefix):
        return None
    line = text[len(prefix) :]
    parts = line.split(maxsplit=1)
    if not parts or line[0].isspace():
        return None
    name = parts[0].lower()
    if not re.fullmatch(r"[a-z][a-z0-9_\-]{0,31}", name):
        return None
    rest = parts[1].strip() if len(parts) > 1 else ""
    return ParsedCommand(name=name, positional=tuple(rest.split()), rest=rest)


def parse_user_id(text: str) -> str | None:
    """A user id as typed: `@user:server`, a matrix.to link, or an HTML pill."""
    pill = _PILL_RE.search(text)
    text = pill.group(1) if pill else text.strip().strip("<>")
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
    if re.fullmatch(r"![A-Za-z0-9._~\-+/=]+(?::\S+)?", text):
        return text
    if re.fullmatch(r"#[^:\s]+:\S+", text):
        return text
    return None
