"""Carriers call out through core's HTTP client: tracking imports nothing from channels_sync, the client no app."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APPS = ("accounts", "orders", "tracking", "channels_sync", "workflows", "subscriptions", "customer_pages")


def imported_modules(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update((str(path.relative_to(REPO)), alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add((str(path.relative_to(REPO)), node.module))
    return found


def test_tracking_does_not_import_channels_sync():
    assert [(path, module) for path, module in imported_modules("tracking")
            if module.split(".")[0] == "channels_sync"] == []


def test_the_core_client_imports_no_app():
    assert [(path, module) for path, module in imported_modules("core")
            if path in ("core/http.py", "core/outbound.py") and module.split(".")[0] in APPS] == []


def test_easypost_uses_the_core_client():
    from core.http import HttpClient
    from tracking.carriers.easypost import Provider

    assert isinstance(Provider(api_key="k", base_url="https://api.easypost.test").client, HttpClient)
