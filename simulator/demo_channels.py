"""`python -m simulator.demo_channels --base-url URL`: the demo channels, as JSON, for `seed_demo_channels`.

The app's seed command reads this output rather than importing the simulator (nothing in the app imports
it): one object per simulator with the config pointing at `URL/<name>` and the secret it signs with.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from simulator import default_port
from simulator.registry import available_simulators, simulator_class


def demo_channels(base_url: str, names: list[str] | None = None) -> list[dict]:
    base = base_url.rstrip("/")
    channels = []
    for name in names or available_simulators():
        demo = simulator_class(name)(order_count=0, base_url=f"{base}/{name}").demo_channel()
        if demo is not None:
            channels.append(asdict(demo))
    return channels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.demo_channels", description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=f"http://127.0.0.1:{default_port()}")
    parser.add_argument("--channels", default="", help="comma-separated subset (default: every simulator)")
    options = parser.parse_args(argv)
    names = [n.strip() for n in options.channels.split(",") if n.strip()] or None
    json.dump(demo_channels(options.base_url, names), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
