"""Every failure a member can meet has a page title naming it (bot/verification/titles.py).

The reasons are read from the source of every module of bot/verification (the methods and the
parts of the service), so a new reason without a title fails here rather than showing the
member a generic "Verification did not succeed".
"""

from __future__ import annotations

import ast
from pathlib import Path

from bot.verification.links import LinkProblem
from bot.verification.titles import FAILURE_TITLES, FALLBACK, failure_title, link_title
from bot.web.pages import FormRejected

ROOT = Path(__file__).resolve().parents[3] / "bot" / "verification"


def raised_reasons(path: Path) -> set[str]:
    """String reasons passed as `reason="..."` or `untrusted("...")`, and the ones computed
    into a variable `reason` (`"a" if ... else "b"`, `{...: "a"}.get(key, "b")`)."""
    found: set[str] = set()

    def constants(*nodes: ast.expr) -> set[str]:
        return {str(n.value) for n in nodes if isinstance(n, ast.Constant)}

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            found |= constants(*(k.value for k in node.keywords if k.arg == "reason"))
            if isinstance(node.func, ast.Name) and node.func.id == "untrusted":
                found |= constants(node.args[0])
        elif isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
            "reason"
        ]:
            value = node.value
            if isinstance(value, ast.IfExp):
                found |= constants(value.body, value.orelse)
            elif (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and isinstance(value.func.value, ast.Dict)
            ):
                found |= constants(*value.func.value.values, *value.args[1:])
    return found


def test_every_reason_the_checks_raise_has_its_own_title() -> None:
    sources = sorted(ROOT.rglob("*.py"))
    reasons = set().union(*(raised_reasons(p) for p in sources))
    assert {
        "wrong_code",
        "denied",
        "nonce",
        "issued_at",
        "stale_check",
    } <= reasons  # the scan works
    untitled = sorted(r for r in reasons if failure_title(r) == FALLBACK)
    assert not untitled, f"add titles for {untitled} to bot/verification/titles.py"


def test_the_web_services_own_refusals_and_links_have_titles() -> None:
    for reason in (*FormRejected.MESSAGES, "not_found", "internal"):
        assert reason in FAILURE_TITLES
    assert {link_title(p) for p in LinkProblem} == {
        "Link expired",
        "Link already used",
        "Link not valid",
    }
