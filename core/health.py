"""GET /health: each moving part checked on its own, 200 only when all are ok."""

from datetime import timedelta

from celery import current_app as celery_app  # the project's app (config/celery.py sets it current)
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.conf import core_settings
from core.models import Heartbeat


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any failure means the database is not usable
        return {"ok": False, "error": type(exc).__name__}


def check_broker() -> dict:
    try:
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            _ = conn.default_channel  # Redis connects lazily: opening a channel proves the server answers
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def check_worker(timeout: float = 1.0) -> dict:
    try:
        replies = celery_app.control.ping(timeout=timeout) or []
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": bool(replies), "workers": len(replies)}


def check_beat() -> dict:
    try:
        tick = Heartbeat.objects.filter(name="beat").values_list("at", flat=True).first()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    if tick is None:
        return {"ok": False, "lastTick": None}
    fresh = timezone.now() - tick < timedelta(seconds=core_settings.BEAT_MAX_SILENCE_SECONDS)
    return {"ok": fresh, "lastTick": tick.strftime("%Y-%m-%dT%H:%M:%SZ")}


@require_GET
def health(request):
    database = check_database()
    broker = check_broker()
    components = {
        "database": database,
        "broker": broker,
        # A worker cannot answer a ping through a broker that is down.
        "worker": check_worker() if broker["ok"] else {"ok": False, "error": "broker unavailable"},
        "beat": check_beat() if database["ok"] else {"ok": False, "error": "database unavailable"},
    }
    ok = all(component["ok"] for component in components.values())
    return JsonResponse({"status": "ok" if ok else "degraded", "components": components}, status=200 if ok else 503)
