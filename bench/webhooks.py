"""Benchmark (not a test): signed Shopify webhook deliveries against the app under gunicorn -w 2.

Starts gunicorn (2 sync workers, DEBUG off) serving the project's WSGI app (config/wsgi.py, with its
webhook lane) plus one bare Django view, then sends signed `orders/create` deliveries (each with its own
order and webhook id, signed before timing like the bare view's bodies) from a few keep-alive client
threads, and the same load against the bare view, in alternating turns. Reports accepted/s, p50/p99
latency and the ratio to the bare view; then starts a Celery worker (-c 2) and measures how fast it
drains the stored backlog.
Targets: >= 700 accepted/s, p99 < 100 ms, ratio >= 1/2, drain >= 700/s.

    DATABASE_URL=postgres://... CELERY_BROKER_URL=redis://... .venv/bin/python bench/webhooks.py \
        [--seconds 15] [--clients 4] [--port 8793] [--no-drain] [--threads 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

if os.environ.get("BENCH_WEBHOOKS_ROLE") == "server":
    # Imported by gunicorn as `bench.webhooks:application`; also the URLconf (app routes + a bare view).
    from django.conf import settings
    from django.http import HttpResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    from config.wsgi import application  # noqa: F401  (the project's own WSGI app, webhook lane included)

    @csrf_exempt
    def bare(request):
        return HttpResponse(b'{"received": true}', content_type="application/json")

    from config.urls import urlpatterns as app_urlpatterns

    urlpatterns = [path("bench/bare", bare), *app_urlpatterns]
    settings.ROOT_URLCONF = "bench.webhooks"

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "shopify" / "webhook_orders_create.json"
SHOP = "bench-hooks.myshopify.com"
SECRET = "bench-webhook-secret"


def setup_channel():
    import django

    django.setup()
    from accounts.models import Org
    from channels_sync.models import Channel, WebhookDelivery

    org, _ = Org.objects.get_or_create(slug="bench-webhooks", defaults={"name": "Webhook benchmark"})
    Channel.objects.filter(org=org).delete()
    channel = Channel.objects.create(org=org, channel_id="bench-hooks", provider="shopify", enabled=True,
                                     config={"shopDomain": SHOP, "accessToken": "x", "baseUrl": "http://127.0.0.1:9"},
                                     webhook_secret=SECRET)
    return org, channel, WebhookDelivery


def server_env() -> dict:
    env = dict(os.environ, BENCH_WEBHOOKS_ROLE="server", DEBUG="0", SECURE_SSL_REDIRECT="0",
               ALLOWED_HOSTS="127.0.0.1,localhost", SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-secret-key")
    key_file = ROOT / "var" / "dev-field-key"
    if not env.get("FIELD_ENCRYPTION_KEYS") and key_file.exists():
        env["FIELD_ENCRYPTION_KEYS"] = key_file.read_text().strip()
    return env


def body_template(template: dict) -> str:
    """The fixture serialized once with placeholders, so generating a delivery costs microseconds."""
    order = dict(template, id=123456789012345, name="#B-NAME-")
    return json.dumps(order)


def signed_delivery(template: str, n: int) -> tuple[bytes, dict]:
    body = template.replace("123456789012345", str(7_000_000_000 + n), 1).replace("#B-NAME-", f"#B{n}").encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
                  "X-Shopify-Shop-Domain": SHOP, "X-Shopify-Hmac-Sha256": signature,
                  "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-API-Version": "2025-07"}


def load(port: int, url: str, seconds: float, clients: int, make_request,
         start: int = 0) -> tuple[int, int, list[float]]:
    """Keep-alive clients posting as fast as answers come back; returns (ok, failed, latencies ms).
    Requests are numbered from `start` (each delivery is sent once across rounds)."""
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"ok": 0, "failed": 0}
    counter = iter(range(start, 10**9))

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, ok, failed = [], 0, 0
        while time.perf_counter() < deadline:
            with lock:
                n = next(counter)
            body, headers = make_request(n)
            started = time.perf_counter()
            try:
                conn.request("POST", url, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            mine.append((time.perf_counter() - started) * 1000)
            if status == 200:
                ok += 1
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            counts["ok"] += ok
            counts["failed"] += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts["ok"], counts["failed"], latencies


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("POST", "/bench/bare", body=b"{}")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--port", type=int, default=8793)
    parser.add_argument("--no-drain", action="store_true")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per gunicorn worker (gthread when > 1): concurrent commits share a WAL flush")
    parser.add_argument("--rounds", type=int, default=3,
                        help="the receiver and the bare view take turns, --seconds/--rounds each time: a machine whose "
                             "speed drifts (shared cores) weighs on both sides of the ratio alike")
    parser.add_argument("--prebuild-rate", type=int, default=1500,
                        help="deliveries signed before timing, per second of --seconds (more are signed on the fly)")
    args = parser.parse_args()
    org, channel, WebhookDelivery = setup_channel()
    template = body_template(json.loads(FIXTURE.read_text()))
    # Signed before timing, as the bare view's bodies are: the server, not the co-located client, is measured.
    prebuilt = [signed_delivery(template, n) for n in range(int(args.seconds * args.prebuild_rate))]
    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "bench.webhooks:application", "-w", "2", "-b", f"127.0.0.1:{args.port}",
         "--threads", str(args.threads), "--chdir", str(ROOT), "--log-level", "warning"],
        env=server_env(), cwd=ROOT, start_new_session=True)
    try:
        wait_for(args.port)
        url = f"/upstream/webhooks/shopify/orders?channel={channel.channel_id}&org={org.slug}"
        bodies = [signed_delivery(template, n) for n in range(50)]
        ok = failed = ok_bare = sent = 0
        lat, lat_bare = [], []
        turn = args.seconds / args.rounds
        for _ in range(args.rounds):
            hook = load(args.port, url, turn, args.clients,
                        lambda n: prebuilt[n] if n < len(prebuilt) else signed_delivery(template, n), start=sent)
            bare = load(args.port, "/bench/bare", turn, args.clients, lambda n: bodies[n % len(bodies)])
            ok, failed, sent = ok + hook[0], failed + hook[1], sent + hook[0] + hook[1] + args.clients
            ok_bare += bare[0]
            lat += hook[2]
            lat_bare += bare[2]
        rate = ok / args.seconds
        print(f"webhooks: {ok} accepted, {failed} failed in {args.seconds:.0f} s ({args.rounds} turns) with "
              f"{args.clients} clients: {rate:.0f}/s  p50 {pct(lat, 50):.1f} ms  p99 {pct(lat, 99):.1f} ms")
        rate_bare = ok_bare / args.seconds
        print(f"bare Django view: {rate_bare:.0f}/s  p50 {pct(lat_bare, 50):.1f} ms  p99 {pct(lat_bare, 99):.1f} ms")
        stored = WebhookDelivery.objects.filter(channel=channel).count()
        print(f"stored deliveries: {stored} (each accepted once)")
        print(f"\naccepted/s {rate:.0f} (target >= 700): {'OK' if rate >= 700 else 'BELOW TARGET'}")
        print(f"p99 {pct(lat, 99):.1f} ms (target < 100): {'OK' if pct(lat, 99) < 100 else 'ABOVE TARGET'}")
        ratio = rate / rate_bare
        print(f"ratio to bare view {ratio:.2f} (target >= 0.5): {'OK' if ratio >= 0.5 else 'BELOW TARGET'}")
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(10)
    if not args.no_drain:
        drain(channel, WebhookDelivery)
    channel.delete()


def drain(channel, WebhookDelivery) -> None:
    """A worker (-c 2) processes the stored backlog: deliveries processed per second, from its first processed
    delivery to its last (worker start-up excluded, and shown apart)."""
    backlog = WebhookDelivery.objects.filter(channel=channel, status="received").count()
    worker = subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "-c", "2", "--loglevel", "WARNING",
         "-n", f"bench-drain-{os.getpid()}@%h"], env=dict(os.environ), cwd=ROOT, start_new_session=True)
    try:
        started = time.perf_counter()
        first = last_change = None
        left = last = backlog
        while time.perf_counter() - started < 300 and left:
            time.sleep(0.2)
            left = WebhookDelivery.objects.filter(channel=channel, status="received").count()
            now = time.perf_counter()
            if left != last:
                first = first or now - 0.2
                last_change, last = now, left
            elif first and now - last_change > 30:
                break
        done = backlog - left
        seconds = (last_change - first) if first else float("nan")
        print(f"drain: {done} of {backlog} deliveries processed by a -c 2 worker in {seconds:.1f} s: "
              f"{done / seconds:.0f}/s (worker start-up before that: {(first or now) - started:.1f} s)")
        print(f"drain {done / seconds:.0f}/s (target >= 700): {'OK' if done / seconds >= 700 else 'BELOW TARGET'}")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)


if __name__ == "__main__":
    main()
