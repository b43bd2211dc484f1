"""Issue 17: log into admin as a new user would after `make run`, as the seeded `demo` user.

The seed commands are the ones the Makefile's `run` target runs, in its order; nothing is granted by hand.
Runs on the default SQLite as on PostgreSQL (the earlier browser tests granted permissions by hand and so
never saw that the seeded owner could open nothing)."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.xdist_group("browser")]

MAKE_RUN_SEEDS = ["seed_demo", "seed_demo_channels", "seed_demo_workflows", "seed_tracking_demo"]


@pytest.fixture
def seeded(live_server, tmp_path):
    with open(tmp_path / "seed.log", "w") as out:
        for command in MAKE_RUN_SEEDS:
            call_command(command, stdout=out)


def test_the_seeded_demo_user_logs_in_and_sees_every_section(page, shoot, seeded):
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.fill("#id_username", "demo")
    page.fill("#id_password", DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    content = page.locator("#content-main")
    expect(content).not_to_contain_text("You don’t have permission")
    for section in ("Accounts", "Authentication and Authorization", "Channel", "Orders", "Subscriptions",
                    "Workflows"):
        expect(content.locator("caption", has_text=re.compile(section, re.I)).first).to_be_visible()
    for model in ("Orders", "Shipments", "Channels", "Aggregated orders", "Memberships", "Workflows"):
        expect(content.get_by_role("link", name=model, exact=True).first).to_be_visible()
    shoot(page, "admin-index-seeded-owner")

    content.locator("th a[href='/admin/orders/order/']").click()
    expect(page).to_have_url(re.compile(r"/admin/orders/order/$"))
    expect(page.locator("#result_list")).to_be_visible()
    expect(page.locator("#result_list tbody tr").first).to_be_visible()  # seed_tracking_demo's shipped order

    page.goto("/admin/channels_sync/channel/")
    expect(page.locator("#result_list tbody tr")).not_to_have_count(0)
    expect(page.get_by_role("link", name="Add channel")).to_be_visible()  # owners connect channels
