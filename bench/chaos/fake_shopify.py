"""A small stand-in for Shopify's Admin REST API, with faults on demand, for the fault scripts.

It serves what the provider calls for polling (`orders.json` with `updated_at_min/max` and Link-header
`page_info` cursors) and for a shipped writeback (fulfillment orders, fulfillments, update_tracking), and it keeps
Shopify's leaky bucket (40 requests, leaking 2 per second): a request that would overflow it is answered 429, as
Shopify does, and counted. Every request is logged with its time and answer, so a script can compare what the
channel saw with what sync history says.

Faults: `schedule` is a list of (seconds, status, retry_after) phases counted from `start_faults()`: for the first
`seconds` of the list every request is answered `status` (with `Retry-After` when given), then the next phase;
after the last phase the server answers normally. `page_delay` slows each page of orders.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "shopify" / "webhook_orders_create.json"
API = "/admin/api/2024-10/"
SHOP_TZ = timezone(timedelta(hours=-5))
FULFILLMENT_ORDER_OFFSET = 1_000_000_000_000


@dataclass
class Logged:
    at: float            # time.time() when the request arrived
    method: str
    path: str
    order_id: str | None
    status: int
    retry_after: float | None = None


def shopify_order(template: dict, order_id: int, *, updated_at: datetime, note: str = "") -> dict:
    order = copy.copy(template)
    order.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}", name=f"#F{order_id % 100000}",
                 note=note, financial_status="paid", fulfillment_status=None, cancelled_at=None,
                 fulfillments=[], updated_at=updated_at.astimezone(SHOP_TZ).isoformat(),
                 created_at=(updated_at - timedelta(hours=1)).astimezone(SHOP_TZ).isoformat())
    return order


class FakeShopify:
    def __init__(self, port: int, *, bucket_size: float = 40, leak_per_second: float = 2.0, page_size: int = 250,
                 page_delay: float = 0.0) -> None:
        self.port = port
        self.template = json.loads(FIXTURE.read_text())
        self.orders: dict[int, dict] = {}
        self.fulfillments: dict[int, list[dict]] = {}     # order id -> fulfillments created
        self.lock = threading.Lock()
        self.log: list[Logged] = []
        self.bucket_size, self.leak = bucket_size, leak_per_second
        self.level, self.level_at = 0.0, time.monotonic()
        self.max_level = 0.0
        self.over_limit = 0
        self.page_size, self.page_delay = page_size, page_delay
        self.schedule: list[tuple[float, int, float | None]] = []
        self.faults_started_at: float | None = None
        self.fault_phases_seen: list[tuple[float, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- control --------------------------------------------------------------------------------
    def start(self) -> FakeShopify:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def start_faults(self, schedule: list[tuple[float, int, float | None]]) -> None:
        self.schedule, self.faults_started_at = list(schedule), time.time()

    def fault_now(self) -> tuple[int, float | None] | None:
        if self.faults_started_at is None:
            return None
        elapsed = time.time() - self.faults_started_at
        for seconds, status, retry_after in self.schedule:
            if elapsed < seconds:
                return status, retry_after
            elapsed -= seconds
        return None

    def faults_end_at(self) -> float | None:
        if self.faults_started_at is None:
            return None
        return self.faults_started_at + sum(seconds for seconds, _, _ in self.schedule)

    def add_order(self, order_id: int, *, updated_at: datetime, note: str = "") -> dict:
        with self.lock:
            order = shopify_order(self.template, order_id, updated_at=updated_at, note=note)
            self.orders[order_id] = order
            return order

    # --- the leaky bucket ------------------------------------------------------------------------
    def _take(self) -> bool:
        """Shopify's bucket: each call adds one, it leaks `leak` per second; a call that would overflow is refused."""
        with self.lock:
            now = time.monotonic()
            self.level = max(0.0, self.level - (now - self.level_at) * self.leak)
            self.level_at = now
            if self.level + 1 > self.bucket_size:
                self.over_limit += 1
                return False
            self.level += 1
            self.max_level = max(self.max_level, self.level)
            return True

    # --- HTTP --------------------------------------------------------------------------------------
    def _handler(self):
        shop = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: dict | None = None, headers: dict | None = None,
                      order_id: str | None = None, retry_after: float | None = None) -> None:
                payload = json.dumps(body if body is not None else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                with shop.lock:
                    level = shop.level
                self.send_header("X-Shopify-Shop-Api-Call-Limit", f"{int(level)}/{int(shop.bucket_size)}")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)
                with shop.lock:
                    shop.log.append(Logged(self._arrived, self.command, urlsplit(self.path).path, order_id, status,
                                           retry_after))

            def _body(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}") if length else {}

            def do_GET(self):
                self._dispatch("GET")

            def do_POST(self):
                self._dispatch("POST")

            def _dispatch(self, method: str) -> None:
                self._arrived = time.time()
                body = self._body() if method == "POST" else {}
                path = urlsplit(self.path).path
                order_id = _order_of(path, body)
                allowed = shop._take()
                fault = shop.fault_now()
                if fault is not None:
                    status, retry_after = fault
                    headers = {"Retry-After": f"{retry_after:.1f}"} if retry_after is not None else {}
                    message = "Exceeded 2 calls per second for api client" if status == 429 else "Internal error"
                    return self._send(status, {"errors": message}, headers, order_id, retry_after)
                if not allowed:
                    return self._send(429, {"errors": "Exceeded 2 calls per second for api client. Reduce request "
                                                      "rates to resume uninterrupted service."},
                                      {"Retry-After": "1.0"}, order_id, 1.0)
                try:
                    return self._route(method, path, body, order_id)
                except KeyError:
                    return self._send(404, {"errors": "Not Found"}, order_id=order_id)

            def _route(self, method, path, body, order_id):
                if method == "GET" and path == API + "orders.json":
                    return self._orders()
                match = re.fullmatch(API + r"orders/(\d+)/fulfillment_orders\.json", path)
                if method == "GET" and match:
                    return self._send(200, {"fulfillment_orders": [shop.fulfillment_order(int(match[1]))]},
                                      order_id=order_id)
                match = re.fullmatch(API + r"orders/(\d+)/fulfillments\.json", path)
                if method == "GET" and match:
                    with shop.lock:
                        found = list(shop.fulfillments.get(int(match[1]), []))
                    return self._send(200, {"fulfillments": found}, order_id=order_id)
                if method == "POST" and path == API + "fulfillments.json":
                    return self._send(201, {"fulfillment": shop.fulfil(int(order_id), body)}, order_id=order_id)
                match = re.fullmatch(API + r"fulfillments/(\d+)/update_tracking\.json", path)
                if method == "POST" and match:
                    return self._send(200, {"fulfillment": shop.update_tracking(int(order_id), body)},
                                      order_id=order_id)
                raise KeyError(path)

            def _orders(self):
                query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
                if "page_info" in query:
                    state = json.loads(base64.urlsafe_b64decode(query["page_info"]))
                else:
                    state = {"min": query.get("updated_at_min"), "max": query.get("updated_at_max"), "offset": 0}
                limit = min(int(query.get("limit") or 50), 250, shop.page_size)
                lower = datetime.fromisoformat(state["min"]) if state.get("min") else None
                upper = datetime.fromisoformat(state["max"]) if state.get("max") else None
                with shop.lock:
                    matching = sorted(
                        (o for o in shop.orders.values()
                         if (lower is None or datetime.fromisoformat(o["updated_at"]) >= lower)
                         and (upper is None or datetime.fromisoformat(o["updated_at"]) <= upper)),
                        key=lambda o: (datetime.fromisoformat(o["updated_at"]), o["id"]))
                page = matching[state["offset"]:state["offset"] + limit]
                if shop.page_delay:
                    time.sleep(shop.page_delay)
                headers = {}
                if state["offset"] + limit < len(matching):
                    cursor = base64.urlsafe_b64encode(json.dumps(
                        dict(state, offset=state["offset"] + limit)).encode()).decode()
                    query = urlencode({"limit": limit, "page_info": cursor})
                    url = f"http://127.0.0.1:{shop.port}{API}orders.json?{query}"
                    headers["Link"] = f'<{url}>; rel="next"'
                return self._send(200, {"orders": page}, headers)

        return Handler

    # --- fulfillment --------------------------------------------------------------------------------
    def fulfillment_order(self, order_id: int) -> dict:
        with self.lock:
            order = self.orders[order_id]
            done = bool(self.fulfillments.get(order_id))
        lines = [{"id": FULFILLMENT_ORDER_OFFSET + order_id * 10 + i, "line_item_id": line["id"],
                  "fulfillment_order_id": FULFILLMENT_ORDER_OFFSET + order_id, "quantity": line["quantity"],
                  "fulfillable_quantity": 0 if done else line["quantity"]}
                 for i, line in enumerate(order["line_items"])]
        return {"id": FULFILLMENT_ORDER_OFFSET + order_id, "order_id": order_id,
                "status": "closed" if done else "open", "line_items": lines}

    def fulfil(self, order_id: int, body: dict) -> dict:
        tracking = (body.get("fulfillment") or {}).get("tracking_info") or {}
        with self.lock:
            fulfillment = {"id": order_id * 7 + len(self.fulfillments.get(order_id, [])), "order_id": order_id,
                           "status": "success", "tracking_number": tracking.get("number"),
                           "tracking_company": tracking.get("company"),
                           "created_at": datetime.now(UTC).isoformat()}
            self.fulfillments.setdefault(order_id, []).append(fulfillment)
        return fulfillment

    def update_tracking(self, order_id: int, body: dict) -> dict:
        tracking = (body.get("fulfillment") or {}).get("tracking_info") or {}
        with self.lock:
            latest = self.fulfillments[order_id][-1]
            latest["tracking_number"] = tracking.get("number")
            return dict(latest)


def _order_of(path: str, body: dict) -> str | None:
    match = re.search(r"/orders/(\d+)/", path)
    if match:
        return match[1]
    if path.endswith("/fulfillments.json"):
        groups = (body.get("fulfillment") or {}).get("line_items_by_fulfillment_order") or []
        if groups:
            return str(int(groups[0]["fulfillment_order_id"]) - FULFILLMENT_ORDER_OFFSET)
    match = re.search(r"/fulfillments/(\d+)/update_tracking", path)
    if match:
        return str(int(match[1]) // 7)
    return None
