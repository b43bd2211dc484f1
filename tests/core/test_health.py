"""GET /health: each component ok or not, 200 only when all are."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import Heartbeat
from tests.workers import running_worker

pytestmark = pytest.mark.django_db


def get_health():
    response = APIClient().get("/health")
    return response.status_code, response.json()


def fresh_beat():
    Heartbeat.objects.update_or_create(name="beat", defaults={"at": timezone.now()})


@pytest.mark.worker
def test_all_components_ok_is_200():
    fresh_beat()
    with running_worker():
        for _ in range(5):   # a loaded 2-core runner can miss one ping window; a live worker answers a later one
            status, body = get_health()
            if status == 200:
                break
    assert status == 200, body
    assert body["status"] == "ok"
    assert {name for name, c in body["components"].items() if c["ok"]} == {"database", "broker", "worker", "beat"}


@pytest.mark.worker
def test_no_worker_is_503_naming_the_worker():
    fresh_beat()
    status, body = get_health()
    assert status == 503
    assert body["components"]["worker"]["ok"] is False
    assert body["components"]["database"]["ok"] and body["components"]["broker"]["ok"]


def test_stale_or_missing_beat_tick_is_503():
    status, body = get_health()
    assert status == 503
    assert body["components"]["beat"] == {"ok": False, "lastTick": None}
    Heartbeat.objects.create(name="beat", at=timezone.now() - timedelta(minutes=3))
    status, body = get_health()
    assert status == 503
    assert body["components"]["beat"]["ok"] is False
    assert body["components"]["beat"]["lastTick"] is not None


def test_unreachable_broker_is_503(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    fresh_beat()
    status, body = get_health()
    assert status == 503
    assert body["components"]["broker"]["ok"] is False
    assert body["components"]["worker"] == {"ok": False, "error": "broker unavailable"}


def test_database_down_is_503(monkeypatch):
    """The database cannot really be stopped under a test's own connection; its cursor failing is the same signal."""
    from core import health

    class DownConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", DownConnection())
    monkeypatch.setattr(health, "check_broker", lambda: {"ok": True})
    status, body = get_health()
    assert status == 503
    assert body["components"]["database"] == {"ok": False, "error": "OperationalError"}
    assert body["components"]["beat"]["ok"] is False
