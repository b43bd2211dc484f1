"""The repository stands alone: no file names a path outside it.

A clone placed where nothing sits beside it must run `make test`, the benches and the demo, so no code,
test, bench, doc or config file may point at a sibling directory, a home directory or the machine the
project was first written on. Every tracked (or new, not ignored) text file is read; a hit names the file
and the line. The patterns are assembled from pieces, so this file does not match itself.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".git", ".venv", "venv", "var", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache",
                ".hypothesis", ".mypy_cache"}

_SLASH = "/"
FORBIDDEN = {
    "a sibling directory": re.compile(re.escape(".." + _SLASH + "shared")),
    "the shared fixtures": re.compile(re.escape("shared" + _SLASH + "fixtures")),
    "the workplace directory": re.compile(re.escape(_SLASH + "work" + _SLASH)),
    "the workplace tool library": re.compile(re.escape("." + "library" + _SLASH)),
    "the old design document (docs/architecture.md is the design)": re.compile(re.escape("DESIGN" + ".md")),
    # at the start of a path, not inside one (a URL such as dhl.com/us-en/home/tracking is no home directory)
    "a home directory": re.compile(r"(?<![\w.~-])" + _SLASH + "(?:home|Users|root)" + _SLASH),
}


def repository_files() -> list[Path]:
    """The files git would commit (tracked, plus new ones not ignored); without git, a walk of the tree."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True, timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        out = b""
    if out:
        return sorted({ROOT / name for name in out.decode().split("\0") if name and (ROOT / name).is_file()})
    found = []
    for directory, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]
        found.extend(Path(directory) / name for name in files)
    return sorted(found)


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None  # images and other binaries
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_the_file_list_covers_the_repository():
    names = {path.relative_to(ROOT).as_posix() for path in repository_files()}
    assert {"Makefile", "README.md", "docs/architecture.md", "config/settings.py",
            "tests/test_stands_alone.py"} <= names
    assert not any(name.startswith((".venv/", ".git/", "var/")) for name in names)


def test_no_file_names_a_path_outside_the_repository():
    hits = []
    for path in repository_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for what, pattern in FORBIDDEN.items():
                if pattern.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {what}: {line.strip()[:160]}")
    assert not hits, "paths outside the repository:\n" + "\n".join(hits)


def test_the_patterns_catch_what_they_are_for():
    samples = {
        "a sibling directory": 'Path(__file__).parents[2] / ".." + "/shared/x.json"'.replace('" + "', ""),
        "the workplace directory": "fallback = '" + _SLASH + "work" + _SLASH + "shared'",
        "a home directory": "open('" + _SLASH + "home" + _SLASH + "dev/payload.json')",
        "the old design document (docs/architecture.md is the design)": "see " + "DESIGN" + ".md",
    }
    for what, line in samples.items():
        assert FORBIDDEN[what].search(line), what
    assert not any(pattern.search("docs/architecture.md, tests/fixtures/shopify/orders.json")
                   for pattern in FORBIDDEN.values())
