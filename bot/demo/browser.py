"""The verification pages as a person's browser uses them: open the link, pick a way to verify,
fill in the form, read what the page says.

A cookie jar and the same Origin a browser sends are all the pages need (their CSRF token is
bound to the cookie, and forms from another origin are refused); nothing here knows the bot's
insides, it reads the HTML a person sees.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')
_METHOD_TITLE = re.compile(r'<h2 id="m-[^"]+">([^<]+)</h2>')
_SAID = re.compile(r'<p class="(?:done|problem|note)"[^>]*>(.*?)</p>', re.S)
_TITLE = re.compile(r"<h1>(.*?)</h1>", re.S)


@dataclass
class Page:
    url: str
    status: int
    html: str

    @property
    def title(self) -> str:
        found = _TITLE.search(self.html)
        return _text(found.group(1)) if found else ""

    @property
    def says(self) -> str:
        """The page's own message (done, problem or note), as a person reads it."""
        return " ".join(_text(m) for m in _SAID.findall(self.html)) or self.title

    @property
    def methods(self) -> list[str]:
        """The ways to verify the page offers, by their titles."""
        return [_text(t) for t in _METHOD_TITLE.findall(self.html)]

    def form(self, index: int = 0) -> tuple[str, str]:
        """The address and CSRF token of the page's `index`th form."""
        actions, tokens = _ACTION.findall(self.html), _CSRF.findall(self.html)
        return urljoin(self.url, html.unescape(actions[index])), tokens[index]


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


class Browser:
    def __init__(self) -> None:
        # unsafe: the pages live on 127.0.0.1, an address a strict jar keeps no cookie for
        self._session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=30)
        )

    async def close(self) -> None:
        await self._session.close()

    async def open(self, url: str) -> Page:
        async with self._session.get(url) as answer:
            return Page(str(answer.url), answer.status, await answer.text())

    async def submit(self, page: Page, fields: dict[str, str], *, form: int = 0) -> Page:
        """Send one of the page's forms, as its button does."""
        action, csrf = page.form(form)
        parts = urlsplit(action)
        headers = {"Origin": f"{parts.scheme}://{parts.netloc}"}
        data = {"csrf": csrf, **fields}
        async with self._session.post(action, data=data, headers=headers) as answer:
            return Page(str(answer.url), answer.status, await answer.text())

    async def choose(self, page: Page, method: str, **fields: str) -> Page:
        """Pick a way to verify on the link's page (the form whose hidden `method` it is)."""
        names = re.findall(r'name="method" value="([^"]+)"', page.html)
        return await self.submit(page, {"method": method, **fields}, form=names.index(method))
