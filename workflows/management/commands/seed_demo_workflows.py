"""Idempotent: the demo org's review request, emailed seven days after an order is delivered."""

from django.core.management.base import BaseCommand

from accounts.models import Org
from workflows.models import Workflow

REVIEW_REQUEST = {
    "description": "Ask for a review seven days after delivery.",
    "trigger_event": "order.delivered",
    "delay_seconds": 7 * 24 * 3600,
    "actions": [{"type": "email", "template": "review_request"}, {"type": "tag", "tag": "review-requested"}],
}


class Command(BaseCommand):
    help = "Create the demo org's review-request workflow unless it exists (run after seed_demo)."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo", help="Org slug (default: demo)")

    def handle(self, *args, **options):
        org = Org.objects.filter(slug=options["org"]).first()
        if org is None:
            self.stderr.write(f"No org {options['org']!r}: run seed_demo first.")
            return
        _, created = Workflow.objects.get_or_create(org=org, name="review-request", defaults=REVIEW_REQUEST)
        self.stdout.write(f"review-request workflow {'created' if created else 'already there'} for {org.slug}.")
