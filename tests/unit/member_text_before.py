"""The text readers as they were before they were made linear, kept as a reference.

They are correct but quadratic on some inputs, so they are only run on small ones: the
differential tests in test_member_text_same.py check that the linear readers give the same
answers wherever real clients' input can reach.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import unquote

from bot.adapters.matrix.translate import USER_ID_RE, strip_reply_fallback

PILL_RE = re.compile(
    r"""<a\s[^>]*href\s*=\s*["']https://matrix\.to/#/([^"'?]+)[^"']*["'][^>]*>(.*?)</a>""",
    re.IGNORECASE | re.DOTALL,
)
MATRIX_TO_RE = re.compile(r"^https://matrix\.to/#/([^?\s]+)")
TAG_RE = re.compile(r"<[^>]+>")
BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
REPLY_HTML_RE = re.compile(r"<mx-reply>.*?</mx-reply>", re.IGNORECASE | re.DOTALL)
MATRIX_LINK_RE = re.compile(
    r"(?:\b[a-z][a-z0-9+.\-]*://\S)|(?:\bwww\.[a-z0-9\-]+\.[a-z]{2,})|(?:\bmailto:\S)",
    re.IGNORECASE,
)
HREF_RE = re.compile(r"""href\s*=\s*["'](?!https://matrix\.to/#/[@!#])""", re.IGNORECASE)
DISCORD_LINK_RE = re.compile(
    r"(?:\b[a-z][a-z0-9+.\-]*://\S)|(?:\bwww\.[a-z0-9\-]+\.[a-z]{2,})|(?:\bdiscord\.gg/\S)",
    re.IGNORECASE,
)


def plain_text(content: dict[str, Any]) -> str:
    formatted = content.get("formatted_body")
    if (
        content.get("format") == "org.matrix.custom.html"
        and isinstance(formatted, str)
        and PILL_RE.search(formatted)
    ):
        text = REPLY_HTML_RE.sub("", formatted)
        text = PILL_RE.sub(lambda m: unquote(m.group(1)), text)
        text = BR_RE.sub("\n", text)
        return html.unescape(TAG_RE.sub("", text)).strip()
    body = content.get("body")
    return strip_reply_fallback(body).strip() if isinstance(body, str) else ""


def pill_targets(formatted: str) -> list[str]:
    formatted = REPLY_HTML_RE.sub("", formatted)
    targets = (unquote(match.group(1)) for match in PILL_RE.finditer(formatted))
    return [target for target in targets if USER_ID_RE.match(target)]


def has_link(content: dict[str, Any]) -> bool:
    body = content.get("body")
    if isinstance(body, str) and MATRIX_LINK_RE.search(strip_reply_fallback(body)):
        return True
    formatted = content.get("formatted_body")
    return isinstance(formatted, str) and bool(HREF_RE.search(REPLY_HTML_RE.sub("", formatted)))


def parse_user_id(text: str) -> str | None:
    pill = PILL_RE.search(text)
    text = pill.group(1) if pill else text.strip().strip("<>")
    link = MATRIX_TO_RE.match(text)
    if link:
        text = link.group(1)
    text = unquote(text).rstrip(":,")
    return text if USER_ID_RE.match(text) else None
