"""README's privacy statement lists every table and column the bot stores; this compares that
list with the schema, so a column added without telling people fails the build."""

from __future__ import annotations

import re
from pathlib import Path

from bot.storage.tables import Base

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `([a-z_]+)` \| (.+?) \| [^|]+ \|$")


def documented() -> dict[str, set[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("**Everything stored, table by table**", 1)[1].split("\n## ", 1)[0]
    tables: dict[str, set[str]] = {}
    for line in section.splitlines():
        if match := ROW.match(line.strip()):
            without_notes = re.sub(r"\([^)]*\)", "", match.group(2))
            tables[match.group(1)] = set(re.findall(r"`([a-z_]+)`", without_notes))
    return tables


def test_the_privacy_statement_lists_exactly_what_the_database_holds() -> None:
    schema = {t.name: {c.name for c in t.columns} for t in Base.metadata.sorted_tables}
    assert documented() == schema


def test_the_list_is_read_from_the_readme_not_assumed() -> None:
    listed = documented()
    assert "message_text" in listed["reports"] and len(listed) >= 10
