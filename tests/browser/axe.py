"""axe-core, run inside the page on every page of ours the browser tests visit.

The source comes from tests/browser/node_modules (`npm ci` there; `make install` does it). It is
injected with `page.evaluate`, which Chromium runs through the DevTools protocol and does not
subject to the page's Content-Security-Policy (`default-src 'none'`, no scripts), so the pages
are checked exactly as a member gets them, with no weakened policy.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.async_api import Page

AXE_JS: Final = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
TAGS: Final = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")


@functools.cache
def axe_source() -> str:
    if not AXE_JS.is_file():
        pytest.fail(
            f"axe-core is missing ({AXE_JS}); run `make install`, or `npm ci` in tests/browser"
        )
    return AXE_JS.read_text(encoding="utf-8")


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (an empty list when it passes)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source())
    result: dict[str, Any] = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", list(TAGS)
    )
    return list(result["violations"])


def describe(found: list[dict[str, Any]]) -> str:
    """One line per broken rule and element, for an assertion message."""
    lines = []
    for rule in found:
        for node in rule["nodes"]:
            lines.append(f"{rule['id']} ({rule['impact']}): {rule['help']} at {node['target']}")
    return "\n".join(lines)
