"""Settings by concern: each app's conf.py table declares a setting once; the Django setting (and any
override of it) is what the app reads."""

import re
from pathlib import Path

import pytest
from django.test import override_settings

from channels_sync.conf import channels_settings, webhook_drainers
from core.conf import AppSettings, Setting, as_int_list, core_settings
from orders.conf import orders_settings
from subscriptions.conf import subscriptions_settings
from tracking.conf import tracking_settings
from workflows.conf import workflows_settings

TABLES = (core_settings, orders_settings, channels_settings, tracking_settings, subscriptions_settings,
          workflows_settings)
ROOT = Path(__file__).resolve().parents[2]


def test_every_table_row_is_a_django_setting_with_its_value():
    from django.conf import settings

    for table in TABLES:
        for row in table.rows:
            assert getattr(settings, row.name) == getattr(table, row.name)


def test_a_name_is_declared_in_one_table_only_and_not_again_in_config_settings():
    names = [row.name for table in TABLES for row in table.rows]
    assert len(names) == len(set(names))
    source = (ROOT / "config" / "settings.py").read_text()
    assigned = set(re.findall(r"^([A-Z][A-Z0-9_]+)\s*=", source, flags=re.M))
    assert assigned.isdisjoint(names)


def test_an_override_is_read_at_once(settings):
    settings.CHANNEL_WEBHOOK_DRAINERS = 7
    assert webhook_drainers() == 7
    with override_settings(WORKFLOW_RETRY_SCHEDULE=[1]):
        assert workflows_settings.WORKFLOW_RETRY_SCHEDULE == [1]
    assert workflows_settings.WORKFLOW_RETRY_SCHEDULE == [30, 120, 600, 3600]


def test_without_the_django_setting_the_table_answers(settings):
    del settings.ORDERS_CHECKOUT_RATE_LIMIT
    assert orders_settings.ORDERS_CHECKOUT_RATE_LIMIT == "60/min"


def test_the_environment_overrides_a_default_with_the_same_variable(monkeypatch):
    table = AppSettings(Setting("EXAMPLE_SCHEDULE", [30, 120], as_int_list), Setting("EXAMPLE_TIMEOUT", 5, int),
                        Setting("EXAMPLE_KEY", ""),
                        Setting("EXAMPLE_MODE", lambda values: "live" if values["EXAMPLE_KEY"] else "manual"))
    assert table.from_environment() == {"EXAMPLE_SCHEDULE": [30, 120], "EXAMPLE_TIMEOUT": 5, "EXAMPLE_KEY": "",
                                        "EXAMPLE_MODE": "manual"}
    monkeypatch.setenv("EXAMPLE_SCHEDULE", "1, 2")
    monkeypatch.setenv("EXAMPLE_TIMEOUT", "")  # blank: the default, as before
    monkeypatch.setenv("EXAMPLE_KEY", "k")
    assert table.from_environment() == {"EXAMPLE_SCHEDULE": [1, 2], "EXAMPLE_TIMEOUT": 5, "EXAMPLE_KEY": "k",
                                        "EXAMPLE_MODE": "live"}


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        getattr(orders_settings, "CHANNEL_WEBHOOK_DRAINERS")  # noqa: B009
