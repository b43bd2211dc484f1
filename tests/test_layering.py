"""The app dependency graph is one-way (docs/architecture.md): a test that reads every import.

Each app's .py files are parsed with `ast`; every `import` and `from ... import`, at module level or
inside a function, is an edge from that app to the top-level package it names. An edge to a project
package the app may not depend on fails, with the file, the line and the edge. Migrations are
skipped: Django writes them, and they name other apps' models by string, not by import.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Who may import whom (beyond itself). `config` wires everything together and may import any app.
ALLOWED = {
    "core": set(),
    "accounts": {"core"},
    "orders": {"accounts", "core"},
    "tracking": {"orders", "accounts", "core"},
    "customer_pages": {"tracking", "orders", "accounts", "core"},
    "subscriptions": {"orders", "accounts", "core"},
    "workflows": {"orders", "accounts", "core"},
    "channels_sync": {"orders", "accounts", "core"},
    "backoffice": {"channels_sync", "orders", "accounts", "core"},
}
# Development tools: no app (nor config) imports them.
TOOLS = {"bench", "simulator"}
PROJECT = set(ALLOWED) | TOOLS | {"config"}
CHECKED = [*ALLOWED, "config"]

# Edges allowed against the graph, as (file, imported module), each with its reason. None today: keep
# it that way (a stale entry fails too).
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def _imports(path: Path):
    """(line, module) for every import in the file, relative imports resolved against its package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    if path.name == "__init__.py":
        package = path.relative_to(ROOT).parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            if not node.module:  # `from . import x`: each name may be a submodule
                for alias in node.names:
                    yield node.lineno, f"{module}.{alias.name}"


def _source_files(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.relative_to(ROOT).parts:
            continue
        yield path


def violations(app: str) -> list[str]:
    allowed = ALLOWED.get(app)
    found = []
    for path in _source_files(app):
        rel = path.relative_to(ROOT).as_posix()
        for line, module in _imports(path):
            target = module.split(".")[0]
            if target not in PROJECT or target == app:
                continue
            if target in TOOLS:
                reason = f"nothing imports the development tool `{target}`"
            elif allowed is None:  # config: anything but the tools
                continue
            elif target in allowed:
                continue
            else:
                may = ", ".join(sorted(allowed)) or "no app"
                reason = f"`{app}` may import only {may}"
            if (rel, module) in KNOWN_EXCEPTIONS:
                continue
            found.append(f"{rel}:{line}: {app} -> {target} (`import {module}`): {reason}")
    return found


@pytest.mark.parametrize("app", CHECKED)
def test_app_imports_follow_the_layering(app):
    found = violations(app)
    assert not found, "imports that break the app layering (docs/architecture.md):\n" + "\n".join(found)


def test_every_app_is_checked():
    """A new top-level app must be placed in the graph, or it would escape the test."""
    from django.conf import settings

    local = {name.split(".")[0] for name in settings.INSTALLED_APPS if (ROOT / name.split(".")[0]).is_dir()}
    assert local <= set(ALLOWED), f"apps missing from tests/test_layering.py ALLOWED: {sorted(local - set(ALLOWED))}"


def test_known_exceptions_still_exist():
    """An exception whose import is gone must be deleted, so the list never hides a new edge."""
    present = set()
    for rel, module in KNOWN_EXCEPTIONS:
        path = ROOT / rel
        if path.exists() and any(m == module for _, m in _imports(path)):
            present.add((rel, module))
    assert present == KNOWN_EXCEPTIONS, f"stale exceptions, delete them: {sorted(KNOWN_EXCEPTIONS - present)}"


def test_the_checker_sees_function_level_imports(tmp_path, monkeypatch):
    """The checker itself: a lazy import inside a function counts as much as one at the top."""
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "lazy.py").write_text("def f():\n    from tracking.models import ScanEvent\n")
    (tmp_path / "orders" / "migrations").mkdir()
    (tmp_path / "orders" / "migrations" / "0001.py").write_text("import tracking\n")
    assert violations("orders") == [
        "orders/lazy.py:2: orders -> tracking (`import tracking.models`): `orders` may import only accounts, core"
    ]
