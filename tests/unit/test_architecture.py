"""House rules the build enforces: network code only in adapters, SQL only in storage."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py")]


def test_cogs_never_import_network_libraries() -> None:
    offenders = [
        f"{p.relative_to(ROOT)} imports {sorted(imported_modules(p) & {'discord', 'nio'})}"
        for p in python_files("cogs")
        if imported_modules(p) & {"discord", "nio"}
    ]
    assert offenders == []


def test_only_adapters_import_network_libraries() -> None:
    adapters = ROOT / "bot" / "adapters"
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files("bot", "cogs")
        if imported_modules(p) & {"discord", "nio"} and adapters not in p.parents
    ]
    assert offenders == []


def test_only_storage_imports_sqlalchemy() -> None:
    storage = ROOT / "bot" / "storage"
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files("bot", "cogs")
        if {"sqlalchemy", "alembic", "asyncpg", "aiosqlite"} & imported_modules(p)
        and storage not in p.parents
    ]
    assert offenders == []


def test_the_policy_engine_is_pure() -> None:
    source = (ROOT / "bot" / "policy.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef | ast.Await)]
    assert not imported_modules(ROOT / "bot" / "policy.py") & {
        "asyncio",
        "aiohttp",
        "sqlalchemy",
        "time",
        "os",
    }
