"""`python -m simulator`: every registered channel's wire format on one local port (no Django needed)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from simulator import default_port
from simulator.ports import busy_message, is_address_in_use
from simulator.registry import available_simulators
from simulator.server import SimulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Serve simulated Shopify/WooCommerce/... APIs locally and send signed webhooks to the app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port(), help="default: $SIMULATOR_PORT, else 8765")
    parser.add_argument("--orders", type=int, default=200, help="orders in each channel's catalogue")
    parser.add_argument("--seed", type=int, default=1234)
    # PUBLIC_BASE_URL, not PORT: under honcho this process's PORT is not the web process's.
    parser.add_argument("--webhook-target", default=os.environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000",
                        help="base URL of the app that receives the webhooks ('' to send none)")
    parser.add_argument("--tick-seconds", type=float, default=20.0,
                        help="every N seconds one channel creates or changes an order (0: never)")
    parser.add_argument("--channels", default="", help="comma-separated subset (default: all registered)")
    options = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    names = [n.strip() for n in options.channels.split(",") if n.strip()] or available_simulators()
    try:
        server = SimulatorServer(host=options.host, port=options.port, order_count=options.orders,
                                 seed=options.seed, webhook_target=options.webhook_target or None,
                                 tick_seconds=options.tick_seconds, names=names)
    except OSError as exc:
        if not is_address_in_use(exc):
            raise
        print(busy_message(options.port, "SIMULATOR_PORT", options.host), file=sys.stderr)
        return 1
    for name, sim in server.simulators.items():
        print(f"{name}: {sim.base_url} ({len(sim.orders)} orders)", flush=True)
    print(f"webhooks -> {server.webhook_target or 'nowhere'} every {options.tick_seconds}s", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
