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
    modules = sorted((ROOT / "bot" / "policy").glob("*.py"))
    assert len(modules) >= 2
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        awaits = [n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef | ast.Await)]
        assert not awaits, path
        assert not imported_modules(path) & {
            "asyncio",
            "aiohttp",
            "sqlalchemy",
            "time",
            "os",
        }, path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Which modules of bot/ and cogs/ import which (every import: at the top, inside a
    function, or only for type checking — a circle is a circle to a reader)."""
    files = {module_name(p): p for p in python_files("bot", "cogs")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                if target in files and target != name:
                    graph[name].add(target)
                    break
    return graph


def test_no_import_circle_among_bot_and_cogs() -> None:
    graph = import_graph()
    circles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert circles == []


def test_no_file_in_bot_or_cogs_does_two_jobs_by_size() -> None:
    """A file past 400 lines is usually doing two jobs (the house rules)."""
    long = {
        str(p.relative_to(ROOT)): n
        for p in python_files("bot", "cogs")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}


def test_no_test_module_imports_another_test_module() -> None:
    """Shared servers, clients and data live in fixtures/, fakes/ or a helper module: a test
    module that imports another would run that module's tests' set-up for nothing, and hides
    where the shared piece lives."""
    offenders = []
    for path in python_files("tests"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            offenders += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in names
                if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")
            ]
    assert offenders == []


def test_every_part_of_storage_that_knows_members_has_an_owner() -> None:
    """Erasure complete by construction: what the running bot's cogs and core declare they
    store is every aggregate there is, so "forget me" reaches every table."""
    from bot.app import build_cogs
    from bot.config import Config
    from bot.core import BotCore
    from bot.storage import AGGREGATES
    from bot.storage.repo import Store

    core = BotCore(Config(), Store.open("sqlite+aiosqlite:///:memory:"))
    cogs, _service = build_cogs(core)
    for cog in cogs:
        core.add_cog(cog)
    assert set(core.stored()) == set(AGGREGATES)
