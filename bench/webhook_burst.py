"""A burst of duplicated and reordered signed Shopify webhooks against a running hub, then a check.

Works against `make run` as it is (the demo org and its `demo-shopify` channel, signed with the
simulator's secret) or any hub given `--base`, `--secret`, `--shop`, `--channel`. It sends every
order in several versions (`updated_at` one minute apart), each delivery with its own webhook id,
a share of them twice and a share of the versions out of order, from many threads at once; then it
waits until the hub lists every order and checks, through the API as a client would, that there is
exactly one aggregated order per channel order and each holds its newest version. Also sends a
forged, a malformed and an oversized delivery and expects 401, 4xx and 413.

    .venv/bin/python bench/webhook_burst.py [--base http://127.0.0.1:8000] [--orders 300] [--versions 3]
        [--duplicates 0.3] [--reorder 0.1] [--clients 32]
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import json
import os
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "shopify" / "webhook_orders_create.json"


def versions_of(template: dict, order_number: int, versions: int, base_id: int) -> list[dict]:
    """The same channel order in `versions` successive states, the last one the newest."""
    start = datetime(2026, 11, 27, 8, 0, tzinfo=UTC) + timedelta(seconds=order_number)
    out = []
    for version in range(versions):
        order = copy.deepcopy(template)
        order["id"] = base_id + order_number
        order["admin_graphql_api_id"] = f"gid://shopify/Order/{order['id']}"
        order["name"] = f"#B{order_number}"
        order["order_number"] = order_number
        order["updated_at"] = (start + timedelta(minutes=version)).isoformat().replace("+00:00", "Z")
        out.append(order)
    return out


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--secret", default="sim-shopify-webhook-secret")
    parser.add_argument("--shop", default="demo-shop.myshopify.com")
    parser.add_argument("--channel", default="demo-shopify")
    parser.add_argument("--org", default="demo")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="demo12345")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--duplicates", type=float, default=0.3)
    parser.add_argument("--reorder", type=float, default=0.1)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--wait", type=float, default=180, help="seconds to wait for the workers to drain")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = args.base.rstrip("/")
    url = f"{base}/upstream/webhooks/shopify/orders"
    template = json.loads(FIXTURE.read_text())
    base_id = 7_100_000_000_000 + rng.randrange(10**9) * 1000  # fresh ids each run

    newest: dict[str, str] = {}
    deliveries: list[tuple[str, bytes]] = []
    chains: list[list[tuple[str, bytes]]] = []
    for number in range(1, args.orders + 1):
        chain = versions_of(template, number, args.versions, base_id)
        newest[str(chain[-1]["id"])] = chain[-1]["updated_at"]
        sends = [(f"burst-{uuid.uuid4()}", json.dumps(order).encode()) for order in chain]
        for i in range(1, len(sends)):
            if rng.random() < args.reorder:   # a newer version arrives before the one it supersedes
                sends[i - 1], sends[i] = sends[i], sends[i - 1]
        sends.extend(send for send in list(sends) if rng.random() < args.duplicates)  # the same delivery again
        chains.append(sends)
    # Round by round (every order's first send, then every second one...), so the clients work on many
    # orders at once and each order's versions arrive in the order above, give or take the concurrency.
    for round_ in range(max(len(chain) for chain in chains)):
        deliveries.extend(chain[round_] for chain in chains if round_ < len(chain))
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=args.clients, pool_maxsize=args.clients)
    session.mount("http://", adapter)
    session.mount("https://", adapter)

    def send(item: tuple[str, bytes]) -> int:
        webhook_id, body = item
        headers = {"Content-Type": "application/json", "X-Shopify-Topic": "orders/updated",
                   "X-Shopify-Shop-Domain": args.shop, "X-Shopify-Webhook-Id": webhook_id,
                   "X-Shopify-Hmac-Sha256": sign(args.secret, body), "X-Shopify-API-Version": "2024-10"}
        for _ in range(5):
            try:
                return session.post(url, data=body, headers=headers, timeout=30).status_code
            except requests.ConnectionError:
                time.sleep(0.5)
        return 0

    print(f"sending {len(deliveries)} deliveries for {args.orders} orders from {args.clients} clients to {url}")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.clients) as pool:
        codes = list(pool.map(send, deliveries))
    elapsed = time.monotonic() - started
    by_code: dict[int, int] = {}
    for code in codes:
        by_code[code] = by_code.get(code, 0) + 1
    print(f"  answered in {elapsed:.1f} s ({len(codes) / elapsed:.0f}/s): {by_code}")

    forged = json.dumps(versions_of(template, 1, 1, base_id)[0]).encode()
    bad = {
        "forged signature": session.post(url, data=forged, headers={
            "Content-Type": "application/json", "X-Shopify-Shop-Domain": args.shop, "X-Shopify-Topic": "orders/updated",
            "X-Shopify-Webhook-Id": "forged", "X-Shopify-Hmac-Sha256": sign("not-the-secret", forged)}).status_code,
        "malformed JSON": session.post(url, data=b'{"id": 1, "line_items": [', headers={
            "Content-Type": "application/json", "X-Shopify-Shop-Domain": args.shop, "X-Shopify-Topic": "orders/updated",
            "X-Shopify-Webhook-Id": "malformed",
            "X-Shopify-Hmac-Sha256": sign(args.secret, b'{"id": 1, "line_items": [')}).status_code,
        "oversized body": session.post(url, data=b"{" + b" " * (3 * 1024 * 1024) + b"}", headers={
            "Content-Type": "application/json", "X-Shopify-Shop-Domain": args.shop}).status_code,
    }
    print(f"  refused: {bad}")

    token = session.post(f"{base}/auth/token", json={"username": args.user, "password": args.password}).json()["access"]
    api = {"Authorization": f"Bearer {token}", "orgid": args.org}

    def listed() -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        page = 1
        while True:
            answer = session.get(f"{base}/sales-channel/orders", headers=api,
                                 params={"channel": args.channel, "page": page, "pageSize": 200}).json()
            for order in answer["results"]:
                if order["channelOrderId"] in newest:
                    found.setdefault(order["channelOrderId"], []).append(order)
            if page * 200 >= answer["total"]:
                return found
            page += 1

    def at_newest(key: str, order: dict) -> bool:
        stored = order["channelMetadata"].get("channelUpdatedAt") or ""
        return datetime.fromisoformat(stored.replace("Z", "+00:00")) == datetime.fromisoformat(
            newest[key].replace("Z", "+00:00"))

    deadline = time.monotonic() + args.wait
    while True:
        found = listed()
        done = len(found) == len(newest) and all(at_newest(key, orders[0]) for key, orders in found.items())
        if done or time.monotonic() > deadline:
            break
        time.sleep(2)
    drained = time.monotonic() - started
    duplicates = sum(1 for orders in found.values() if len(orders) > 1)
    stale = sorted(key for key, orders in found.items() if not at_newest(key, orders[0]))
    missing = len(newest) - len(found)
    ok = (not missing and not duplicates and not stale and set(by_code) == {200}
          and bad["forged signature"] == 401 and 400 <= bad["malformed JSON"] < 500 and bad["oversized body"] == 413)
    print(f"  after {drained:.1f} s: {len(found)} of {len(newest)} orders listed, {duplicates} duplicated, "
          f"{len(stale)} not at their newest version, {missing} missing")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
