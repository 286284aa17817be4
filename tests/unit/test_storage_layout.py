"""The shape of bot/storage: one home per query, one mapping per record type."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from bot.storage import records
from bot.storage.database import Database
from bot.storage.repo import Store

STORAGE = Path(__file__).resolve().parents[2] / "bot" / "storage"

# records storage builds from a row (AuditDraft goes the other way: a caller builds it)
READ_RECORDS = {
    "VerificationRecord",
    "RevocationRecord",
    "CommunityPolicies",
    "PendingRecord",
    "HeldRecord",
    "ReportRecord",
    "AuditRecord",
    "FilterRecord",
}


def test_each_record_type_is_made_from_a_row_in_one_place() -> None:
    made: dict[str, list[str]] = {name: [] for name in READ_RECORDS}
    for path in sorted(STORAGE.glob("*.py")):
        if path.name == "records.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in made
            ):
                made[node.func.id].append(f"{path.name}:{node.lineno}")
    assert {name: len(places) for name, places in made.items()} == dict.fromkeys(made, 1), made
    assert {name for name, _ in inspect.getmembers(records, inspect.isclass)} >= READ_RECORDS


def test_no_part_of_the_store_hides_anothers_method() -> None:
    """Store is the union of its parts; a name defined in two of them would silently shadow."""
    homes: dict[str, list[str]] = {}
    for part in Store.__mro__[1:]:
        if part is Database or not issubclass(part, Database):
            continue
        for name in vars(part):
            if not name.startswith("__"):
                homes.setdefault(name, []).append(part.__name__)
    assert {name: parts for name, parts in homes.items() if len(parts) > 1} == {}


def test_every_part_of_the_store_shares_one_engine() -> None:
    """Only `Database` sets up the engine, sessions and connection gate; the parts add queries."""
    parts = [p for p in Store.__mro__ if issubclass(p, Database) and p is not Database]
    assert [p.__name__ for p in parts if "__init__" in vars(p)] == []
