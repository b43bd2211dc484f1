"""`manage.py seed_demo_channels`: the demo org's channels, pointed at the local simulator.

One channel per registered simulator (Shopify, WooCommerce, and whatever others add), with the
config and webhook secret the simulator signs with, so its webhooks verify and its API answers.
The app never imports the simulator (a development tool at the repository root): the channels come
from `python -m simulator.demo_channels` as JSON. Idempotent: a second run updates the same rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Org
from channels_sync.models import Channel


def simulator_demo_channels(base_url: str, channels: str) -> list[dict]:
    command = [sys.executable, "-m", "simulator.demo_channels", "--base-url", base_url, "--channels", channels]
    done = subprocess.run(command, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise CommandError(f"python -m simulator.demo_channels failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


class Command(BaseCommand):
    help = "Create (or update) the demo org's channels pointed at the channel simulator."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo")
        parser.add_argument("--simulator-url",
                            default=os.environ.get("SIMULATOR_URL") or f"http://127.0.0.1:{settings.SIMULATOR_PORT}")
        parser.add_argument("--channels", default="", help="comma-separated subset (default: every simulator)")

    def handle(self, *args, **options):
        demos = simulator_demo_channels(options["simulator_url"].rstrip("/"), options["channels"])
        org, _ = Org.objects.get_or_create(slug=options["org"], defaults={"name": "Demo Store"})
        for demo in demos:
            with transaction.atomic():
                channel = Channel.objects.select_for_update().filter(org=org, channel_id=demo["channel_id"]).first()
                created = channel is None
                channel = channel or Channel(org=org, channel_id=demo["channel_id"])
                channel.provider = demo["provider"]
                channel.config = demo["config"]
                channel.webhook_secret = demo["webhook_secret"]
                channel.enabled = True
                if demo["poll_interval_minutes"]:
                    channel.poll_interval_minutes = demo["poll_interval_minutes"]
                channel.save()
            self.stdout.write(f"{'created' if created else 'updated'} {org.slug}/{channel.channel_id} "
                              f"({channel.provider}) -> {demo['config'].get('baseUrl')}")
