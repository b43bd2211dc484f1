"""Local channel simulator: every channel's wire format on one port (see base.py for how to add one).

A development tool, not part of the app: it imports nothing from the project (no Django, no provider
code), so tests that drive our providers against it check them against an independent implementation.
Run it with `python -m simulator --port 8765` (`make run` starts it from the Procfile).
"""

import os

DEFAULT_PORT = 8765


def default_port() -> int:
    """SIMULATOR_PORT from the environment (the same variable config/settings.py reads), else 8765."""
    return int(os.environ.get("SIMULATOR_PORT") or DEFAULT_PORT)
