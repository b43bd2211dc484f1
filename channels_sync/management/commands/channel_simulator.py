"""`manage.py channel_simulator`: every registered channel's wire format on one local port."""

from __future__ import annotations

import logging
import os

from django.core.management.base import BaseCommand

from channels_sync.simulator.registry import available_simulators
from channels_sync.simulator.server import SimulatorServer


class Command(BaseCommand):
    help = "Serve simulated Shopify/WooCommerce/... APIs locally and send signed webhooks to the app."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--orders", type=int, default=200, help="orders in each channel's catalogue")
        parser.add_argument("--seed", type=int, default=1234)
        # Not settings.PUBLIC_BASE_URL: under honcho this process's PORT is not the web process's.
        parser.add_argument("--webhook-target", default=os.environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000",
                            help="base URL of the app that receives the webhooks ('' to send none)")
        parser.add_argument("--tick-seconds", type=float, default=20.0,
                            help="every N seconds one channel creates or changes an order (0: never)")
        parser.add_argument("--channels", default="", help="comma-separated subset (default: all registered)")

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        names = [n.strip() for n in options["channels"].split(",") if n.strip()] or available_simulators()
        server = SimulatorServer(host=options["host"], port=options["port"], order_count=options["orders"],
                                 seed=options["seed"], webhook_target=options["webhook_target"] or None,
                                 tick_seconds=options["tick_seconds"], names=names)
        for name, sim in server.simulators.items():
            self.stdout.write(f"{name}: {sim.base_url} ({len(sim.orders)} orders)")
        self.stdout.write(f"webhooks -> {server.webhook_target or 'nowhere'} every {options['tick_seconds']}s")
        server.serve_forever()
