"""Scheduling in one place: only an app's scheduling.py sends its tasks, and no task retries itself."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "accounts", "orders", "channels_sync", "tracking", "subscriptions", "workflows", "customer_pages")


def app_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


def imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_only_scheduling_modules_import_tasks():
    offenders = []
    for app, path in app_modules():
        if path.name in {"scheduling.py", "tasks.py"} and path.parent == ROOT / app:
            continue
        tasks = {f"{name}.tasks" for name in APPS}
        if any(module in tasks for module in imported_modules(ast.parse(path.read_text()))):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_no_task_retries_itself():
    for app in APPS:
        path = ROOT / app / "tasks.py"
        if path.exists():
            source = path.read_text()
            assert "autoretry_for" not in source and "self.retry" not in source and "max_retries" not in source, app
