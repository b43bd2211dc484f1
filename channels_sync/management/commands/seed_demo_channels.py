"""`manage.py seed_demo_channels`: the demo org's channels, pointed at the local simulator.

One channel per registered simulator (Shopify, WooCommerce, and whatever others add), with the
config and webhook secret the simulator signs with, so its webhooks verify and its API answers.
Idempotent: a second run updates the same rows.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Org
from channels_sync.models import Channel
from channels_sync.simulator.registry import available_simulators, simulator_class


class Command(BaseCommand):
    help = "Create (or update) the demo org's channels pointed at the channel simulator."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo")
        parser.add_argument("--simulator-url", default=os.environ.get("SIMULATOR_URL", "http://127.0.0.1:8765"))
        parser.add_argument("--channels", default="", help="comma-separated subset (default: every simulator)")

    def handle(self, *args, **options):
        base = options["simulator_url"].rstrip("/")
        names = [n.strip() for n in options["channels"].split(",") if n.strip()] or available_simulators()
        org, _ = Org.objects.get_or_create(slug=options["org"], defaults={"name": "Demo Store"})
        for name in names:
            demo = simulator_class(name)(order_count=0, base_url=f"{base}/{name}").demo_channel()
            if demo is None:
                continue
            with transaction.atomic():
                channel = Channel.objects.select_for_update().filter(org=org, channel_id=demo.channel_id).first()
                created = channel is None
                channel = channel or Channel(org=org, channel_id=demo.channel_id)
                channel.provider = demo.provider
                channel.config = demo.config
                channel.webhook_secret = demo.webhook_secret
                channel.enabled = True
                if demo.poll_interval_minutes:
                    channel.poll_interval_minutes = demo.poll_interval_minutes
                channel.save()
            self.stdout.write(f"{'created' if created else 'updated'} {org.slug}/{channel.channel_id} "
                              f"({channel.provider}) -> {demo.config.get('baseUrl')}")
