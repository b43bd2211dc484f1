"""The simulator is a development tool beside the app: it imports nothing of the app, and the app nothing of it.

That independence is what keeps the tests that drive our providers against it honest: a provider bug cannot be
mirrored by the simulator reusing the provider's code.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR = ROOT / "simulator"
APPS = ("accounts", "channels_sync", "config", "core", "customer_pages", "orders", "subscriptions", "tracking",
        "workflows")

IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
import simulator
for module in pkgutil.walk_packages(simulator.__path__, "simulator."):
    importlib.import_module(module.name)   # __main__ too: imported, not run
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_every_simulator_module_loads_no_app_module_and_no_django():
    done = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert "simulator.shopify" in loaded and "simulator.server" in loaded
    forbidden = [name for name in loaded if name.split(".")[0] in (*APPS, "django", "rest_framework", "bench")]
    assert forbidden == []


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_simulator_module_names_an_app_and_no_app_module_names_the_simulator():
    from_simulator = {f"{path.relative_to(ROOT)}: {name}" for path in SIMULATOR.rglob("*.py")
                      for name in _imported_modules(path) if name.split(".")[0] in (*APPS, "django", "bench")}
    assert from_simulator == set()
    from_apps = {f"{path.relative_to(ROOT)}: {name}" for app in APPS if (ROOT / app).is_dir()
                 for path in (ROOT / app).rglob("*.py") for name in _imported_modules(path)
                 if name.split(".")[0] == "simulator"}
    assert from_apps == set()


def test_the_simulator_is_not_inside_channels_sync():
    assert not (ROOT / "channels_sync" / "simulator").exists()
    assert (SIMULATOR / "__main__.py").is_file()
