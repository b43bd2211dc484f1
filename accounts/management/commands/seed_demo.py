"""Idempotent demo data for `make run`: org `demo`, owner `demo` / `demo12345`, whose admin shows every
section an owner has (the membership service gives the role's group and staff status)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Org, Role
from accounts.services import membership_add

DEMO_PASSWORD = "demo12345"


class Command(BaseCommand):
    help = "Create (or refresh) the demo org and its owner, and print where to click."

    @transaction.atomic
    def handle(self, *args, **options):
        org, _ = Org.objects.get_or_create(slug="demo", defaults={"name": "Demo Store"})
        user, created = get_user_model().objects.get_or_create(
            username="demo", defaults={"email": "demo@example.com", "first_name": "Demo", "last_name": "Owner"}
        )
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save()
        membership_add(user=user, org=org, role=Role.OWNER)
        base = settings.PUBLIC_BASE_URL
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Order operations hub demo is ready.",
                    f"  user: demo   password: {DEMO_PASSWORD}   org (orgid header): {org.slug}",
                    f"  admin:    {base}/admin/",
                    f"  API docs: {base}/api/docs/",
                    f"  health:   {base}/health",
                    f"  token:    curl -s -X POST {base}/auth/token -H 'Content-Type: application/json' "
                    f"-d '{{\"username\":\"demo\",\"password\":\"{DEMO_PASSWORD}\"}}'",
                    "",
                ]
            )
        )
