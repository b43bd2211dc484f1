"""The channel simulator framework: one `ChannelSimulator` subclass per channel, served under `/<name>/`.

Why: the demo and the e2e tests need every channel's wire format (paging, rate limits, signed
webhooks, writeback endpoints) without any account anywhere. Each channel is one module; the
server (`server.py`) only routes `/<name>/...` to the simulator registered under that name.

How to add a channel (amazon, ebay, tiktok, walmart, ...):

1. Write `simulator/<name>.py` with a class `Simulator(ChannelSimulator)`:

   - `name = "<name>"` (the provider name, also the URL prefix) and `webhook_path` (our receiver,
     e.g. "/upstream/webhooks/tiktok/orders"; None when the channel sends no webhooks);
   - `make_rate_limiter()`: a `LeakyBucket` / `TokenBucket` (or None);
   - `generate_order(index, created_at)`: one raw order in the channel's wire shape (use `self.rng`
     only, so a seed gives the same catalogue), and `order_id(order)` / `order_updated_at(order)`;
   - `change_order(order, now)`: move an order along its lifecycle (returns the event/topic name);
   - `build_webhook(order, topic)`: the signed delivery (`OutboundWebhook`) or None;
   - `demo_channel()`: the Channel the demo seeds for it (`DemoChannel`: provider config pointing
     at `self.base_url`, webhook secret, identity) - the simulator signs with the same values;
   - the channel's endpoints as methods decorated with `@route("GET", r"^/api/orders$")`: the
     pattern is matched against the path below the prefix; named groups become keyword arguments;
     the method takes a `SimRequest` and returns a `SimResponse` (`json_response(...)`). Record
     writebacks with `self.record_writeback(request, kind=...)` so `/<name>/_sim/writebacks` shows them.

2. Add one line to `simulator/registry.py`: `"<name>": "simulator.<name>"`.

Every simulator gets these for free under its prefix: `GET _sim/orders` (the catalogue, newest
first), `GET _sim/writebacks`, `GET _sim/webhooks` (what was sent and the answer), `POST _sim/tick`
(create or change one order now and send its webhook), `POST _sim/shift {"perPage": n}` (after every page
a list call serves, n of its orders change: see `shift_during_paging`), `POST _sim/throttle {"count": n}` (the next
n API calls answer 429), `POST _sim/faults {"phases": [[seconds, status, retry_after], ...]}` (an
outage: for the first phase's seconds every API call answers that status, then the next phase, then
normal again), `POST _sim/reset`. Rate limiting applies to the channel's routes only. Every API call
is logged (`requests`: arrival time, path, order, answer), so a fault script can compare what the
channel saw with what the app's sync history says; `start_faults()` is the same outage from Python.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs

Clock = Callable[[], float]


# --- requests and responses ---------------------------------------------------------------------
@dataclass
class SimRequest:
    method: str
    path: str                       # below the channel prefix, always starting with "/"
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    base_url: str = ""              # this channel's public URL, e.g. http://127.0.0.1:8765/shopify
    received_at: float = field(default_factory=time.time)   # when the request arrived (the request log)

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)


@dataclass
class SimResponse:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> SimResponse:
    body = json.dumps(data, separators=(",", ":"), default=str).encode()
    return SimResponse(status, body, [("Content-Type", "application/json; charset=utf-8"), *(headers or [])])


def error_response(status: int, message: str, **extra: Any) -> SimResponse:
    return json_response({"errors": message, **extra}, status)


def route(method: str, pattern: str):
    """Mark a simulator method as the handler of `method` + path regex (below the channel prefix)."""
    def decorate(func):
        func._sim_routes = [*getattr(func, "_sim_routes", []), (method.upper(), re.compile(pattern))]
        return func
    return decorate


# --- rate limiters ------------------------------------------------------------------------------
class LeakyBucket:
    """Shopify's REST model: a bucket of `capacity` requests that leaks `leak_per_second`.

    `hit()` answers None when the call is allowed, else the seconds to wait (for Retry-After).
    """

    def __init__(self, capacity: int, leak_per_second: float, *, clock: Clock = time.monotonic):
        self.capacity = capacity
        self.leak_per_second = leak_per_second
        self.clock = clock
        self._levels: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self.max_level = 0.0        # the fullest the bucket has been, and the calls it refused:
        self.refused = 0            # what a fault script checks the app's own limiter against

    def _level(self, key: str, now: float) -> float:
        level, at = self._levels.get(key, (0.0, now))
        return max(0.0, level - (now - at) * self.leak_per_second)

    def hit(self, key: str = "default") -> float | None:
        with self._lock:
            now = self.clock()
            level = self._level(key, now)
            if level + 1 > self.capacity:
                self._levels[key] = (level, now)
                self.refused += 1
                return (level + 1 - self.capacity) / self.leak_per_second
            self._levels[key] = (level + 1, now)
            self.max_level = max(self.max_level, level + 1)
            return None

    def used(self, key: str = "default") -> int:
        with self._lock:
            return int(round(self._level(key, self.clock())))


class TokenBucket(LeakyBucket):
    """Same arithmetic, named for channels that document a burst plus a refill rate."""


# --- outbound webhooks and demo wiring ------------------------------------------------------------
@dataclass
class OutboundWebhook:
    path: str                       # on our app (/upstream/webhooks/shopify/orders), or an absolute URL
    headers: dict[str, str]
    body: bytes
    topic: str = ""
    order_id: str = ""


@dataclass
class LoggedRequest:
    """One API call as the channel saw it: when it arrived and what it was answered."""

    at: float                       # time.time() when the request arrived
    method: str
    path: str
    order_id: str | None
    status: int
    retry_after: float | None = None


REQUEST_LOG_SIZE = 100_000
FaultPhase = tuple[float, int, float | None]     # (seconds, status, Retry-After or None)


@dataclass
class DemoChannel:
    """What `seed_demo_channels` creates for a simulator, and what the simulator signs with."""

    channel_id: str
    provider: str
    config: dict
    webhook_secret: str
    label: str = ""
    poll_interval_minutes: int | None = None


# --- the base class -----------------------------------------------------------------------------
class ChannelSimulator:
    """One channel's fake API: a seeded catalogue, routes, a rate limiter, recorded writebacks."""

    name: ClassVar[str]
    webhook_path: ClassVar[str | None] = None
    default_webhook_secret: ClassVar[str] = ""

    def __init__(self, *, seed: int = 1234, order_count: int = 200, base_url: str = "",
                 now: Callable[[], datetime] | None = None, clock: Clock = time.monotonic,
                 webhook_secret: str | None = None):
        self.seed = seed
        self.rng = random.Random(f"{seed}:{self.name}")
        self.base_url = base_url.rstrip("/")
        self.now = now or (lambda: datetime.now(UTC).replace(microsecond=0))
        self.clock = clock
        self.webhook_secret = webhook_secret or self.default_webhook_secret or f"sim-{self.name}-webhook-secret"
        self.lock = threading.RLock()
        self.orders: dict[str, dict] = {}
        self.writebacks: list[dict] = []
        self.webhooks_sent: list[dict] = []
        self.forced_429 = 0
        self.requests: deque[LoggedRequest] = deque(maxlen=REQUEST_LOG_SIZE)
        self.fault_schedule: list[FaultPhase] = []
        self.faults_started_at: float | None = None
        # Orders changed after each page a list call serves (paging tests): what a busy shop does to a poll.
        self.shift_per_page = getattr(self, "shift_per_page", 0)
        # Set by the server: POSTs a webhook to our app and records the answer.
        self.webhook_sender: Callable[[OutboundWebhook], None] | None = None
        self.rate_limiter = self.make_rate_limiter()
        self._routes = self._collect_routes()
        self.order_count = order_count
        self.seed_catalogue(order_count)

    # --- to override ---------------------------------------------------------------------------
    def make_rate_limiter(self) -> LeakyBucket | None:
        return None

    def rate_limit_key(self, request: SimRequest) -> str:
        return "default"

    def rate_limit_headers(self, request: SimRequest) -> list[tuple[str, str]]:
        """Headers the channel adds to every answered call (e.g. Shopify's call-limit header)."""
        return []

    def rate_limited_response(self, retry_after: float) -> SimResponse:
        seconds = max(1, int(retry_after + 0.999))
        return json_response({"errors": "Exceeded rate limit"}, 429, [("Retry-After", str(seconds))])

    def generate_order(self, index: int, created_at: datetime) -> dict:
        raise NotImplementedError

    def order_id(self, order: dict) -> str:
        return str(order["id"])

    def order_updated_at(self, order: dict) -> datetime:
        raise NotImplementedError

    def change_order(self, order: dict, now: datetime) -> str | None:
        """Move `order` one step along its lifecycle in place; returns the event/topic, or None."""
        return None

    def set_order_updated_at(self, order: dict, when: datetime) -> None:
        """Stamp `order` as modified at `when` (for a change that moves no status: a note, an edited address)."""
        raise NotImplementedError

    def new_order_topic(self) -> str:
        return "order.created"

    def build_webhook(self, order: dict, topic: str) -> OutboundWebhook | None:
        return None

    def demo_channel(self) -> DemoChannel | None:
        return None

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        """None when the call carries the demo credentials, else the channel's 401 answer."""
        return None

    def request_order_id(self, request: SimRequest, groups: dict[str, str]) -> str | None:
        """The channel order a call is about, for the request log (default: an `order_id` in the path)."""
        return groups.get("order_id")

    def fault_response(self, status: int, retry_after: float | None) -> SimResponse:
        """What the channel answers during an outage phase: its own 429 when throttling, else an error."""
        if status == 429 and retry_after is not None:
            return self.rate_limited_response(retry_after)
        headers = [("Retry-After", f"{retry_after:.1f}")] if retry_after is not None else []
        return json_response({"errors": "Internal error" if status >= 500 else "Request refused"}, status, headers)

    # --- outages -------------------------------------------------------------------------------
    def start_faults(self, schedule: list[FaultPhase]) -> None:
        """From now, answer each phase's status for its seconds, one phase after the other; then recover."""
        with self.lock:
            self.fault_schedule, self.faults_started_at = list(schedule), time.time()

    def fault_now(self) -> tuple[int, float | None] | None:
        """(status, retry_after) of the outage phase in force, or None when answering normally."""
        with self.lock:
            if self.faults_started_at is None:
                return None
            elapsed = time.time() - self.faults_started_at
            for seconds, status, retry_after in self.fault_schedule:
                if elapsed < seconds:
                    return status, retry_after
                elapsed -= seconds
            return None

    def faults_end_at(self) -> float | None:
        with self.lock:
            if self.faults_started_at is None:
                return None
            return self.faults_started_at + sum(seconds for seconds, _, _ in self.fault_schedule)

    # --- catalogue -----------------------------------------------------------------------------
    def seed_catalogue(self, count: int) -> None:
        """`count` orders spread over the last 30 days, oldest first (deterministic for a seed)."""
        now = self.now()
        with self.lock:
            self.orders.clear()
            for index in range(count):
                age = timedelta(minutes=self.rng.randint(5, 30 * 24 * 60))
                order = self.generate_order(index, now - age)
                self.orders[self.order_id(order)] = order
            self._sort()

    def _sort(self) -> None:
        self.orders = dict(sorted(self.orders.items(), key=lambda item: self.order_updated_at(item[1])))

    def add_order(self, created_at: datetime | None = None) -> dict:
        with self.lock:
            order = self.generate_order(len(self.orders), created_at or self.now())
            self.orders[self.order_id(order)] = order
            self._sort()
            return order

    def get_order(self, order_id: str) -> dict | None:
        with self.lock:
            return self.orders.get(str(order_id))

    def touch(self, order: dict) -> None:
        """Re-sort after an in-place change (orders are kept in updated-at order)."""
        with self.lock:
            self._sort()

    def shift_during_paging(self, candidates: list[dict]) -> list[dict]:
        """Change `shift_per_page` of a list call's orders (served or still to come) now, as sellers and buyers
        do while a poll pages: the channel's paging must not let an unchanged order slip past. Call it after
        serving a page, holding the lock. Returns the changed orders."""
        changed = []
        for order in self.rng.sample(candidates, min(self.shift_per_page, len(candidates))):
            now = self.now()
            if not self.change_order(order, now):
                self.set_order_updated_at(order, now)
            changed.append(order)
        if changed:
            self._sort()
        return changed

    def tick(self) -> list[OutboundWebhook]:
        """One step of the live demo: a new order, or a change to a recent one, and its webhook."""
        with self.lock:
            candidates = list(self.orders.values())[-20:]
            if candidates and self.rng.random() < 0.4:
                order = self.rng.choice(candidates)
                topic = self.change_order(order, self.now())
                if topic:
                    self.touch(order)
                    hook = self.build_webhook(order, topic)
                    return [hook] if hook else []
            order = self.add_order()
            hook = self.build_webhook(order, self.new_order_topic())
            return [hook] if hook else []

    def deliver(self, hooks: list[OutboundWebhook]) -> None:
        for hook in hooks:
            if self.webhook_sender is not None:
                self.webhook_sender(hook)
            else:
                self.record_webhook_sent(hook, None, "no webhook target configured")

    # --- records -------------------------------------------------------------------------------
    def record_writeback(self, request: SimRequest, *, kind: str, order_id: str | None = None, **extra: Any) -> dict:
        try:
            body = request.json()
        except ValueError:
            body = request.body.decode(errors="replace")
        entry = {"at": self.now().isoformat(), "kind": kind, "method": request.method, "path": request.path,
                 "orderId": order_id, "body": body, **extra}
        with self.lock:
            self.writebacks.append(entry)
        return entry

    def record_webhook_sent(self, hook: OutboundWebhook, status: int | None, error: str | None = None) -> None:
        with self.lock:
            self.webhooks_sent.append({"at": self.now().isoformat(), "path": hook.path, "topic": hook.topic,
                                       "orderId": hook.order_id, "status": status, "error": error})
            del self.webhooks_sent[:-500]

    # --- dispatch ------------------------------------------------------------------------------
    def _collect_routes(self) -> list[tuple[str, re.Pattern, Callable]]:
        routes = []
        for attr in dir(type(self)):
            func = getattr(type(self), attr, None)
            for method, pattern in getattr(func, "_sim_routes", []):
                routes.append((method, pattern, getattr(self, attr)))
        return routes

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith("/_sim/"):
            return self._handle_sim(request)
        matched_path = False
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if not match:
                continue
            matched_path = True
            if method != request.method:
                continue
            groups = match.groupdict()
            response = self._answer(request, handler, groups)
            self._log(request, groups, response)
            return response
        response = error_response(405 if matched_path else 404,
                                  "Method Not Allowed" if matched_path else "Not Found")
        self._log(request, {}, response)
        return response

    def _answer(self, request: SimRequest, handler: Callable, groups: dict[str, str]) -> SimResponse:
        denied = self.authenticate(request)
        if denied is not None:
            return denied
        limited = self._check_rate(request)    # the call counts in the bucket even when an outage answers it
        fault = self.fault_now()
        if fault is not None:
            return self.fault_response(*fault)
        if limited is not None:
            return limited
        response = handler(request, **groups)
        response.headers.extend(self.rate_limit_headers(request))
        return response

    def _log(self, request: SimRequest, groups: dict[str, str], response: SimResponse) -> None:
        try:
            order_id = self.request_order_id(request, groups)
        except (LookupError, ValueError, TypeError):   # a malformed call is logged without its order
            order_id = None
        value = response.header("Retry-After")
        try:
            retry_after = float(value) if value else None
        except ValueError:      # an HTTP date: not what any simulated channel sends
            retry_after = None
        with self.lock:
            self.requests.append(LoggedRequest(request.received_at, request.method, request.path, order_id,
                                               response.status, retry_after))

    def _check_rate(self, request: SimRequest) -> SimResponse | None:
        with self.lock:
            if self.forced_429 > 0:
                self.forced_429 -= 1
                return self.rate_limited_response(1.0)
        if self.rate_limiter is None:
            return None
        wait = self.rate_limiter.hit(self.rate_limit_key(request))
        return None if wait is None else self.rate_limited_response(wait)

    def _handle_sim(self, request: SimRequest) -> SimResponse:
        what = request.path[len("/_sim/"):].strip("/")
        with self.lock:
            if request.method == "GET" and what == "orders":
                limit = int(request.arg("limit", "50"))
                newest = list(reversed(self.orders.values()))[:limit]
                return json_response({"orders": newest, "count": len(self.orders)})
            if request.method == "GET" and what == "writebacks":
                return json_response({"writebacks": self.writebacks})
            if request.method == "GET" and what == "webhooks":
                return json_response({"webhooks": self.webhooks_sent})
            if request.method == "POST" and what == "shift":
                self.shift_per_page = int((request.json() or {}).get("perPage", 0))
                return json_response({"shiftPerPage": self.shift_per_page})
            if request.method == "POST" and what == "throttle":
                self.forced_429 = int((request.json() or {}).get("count", 1))
                return json_response({"throttled": self.forced_429})
            if request.method == "POST" and what == "faults":
                phases = [(float(s), int(status), None if after is None else float(after))
                          for s, status, after in (request.json() or {}).get("phases", [])]
                self.start_faults(phases)
                return json_response({"phases": phases})
            if request.method == "POST" and what == "reset":
                self.writebacks.clear()
                self.webhooks_sent.clear()
                self.requests.clear()
                self.fault_schedule, self.faults_started_at = [], None
                self.shift_per_page = 0
                self.rng = random.Random(f"{self.seed}:{self.name}")
                self.seed_catalogue(self.order_count)
                return json_response({"orders": len(self.orders)})
        if request.method == "POST" and what == "tick":
            hooks = self.tick()
            self.deliver(hooks)
            sent = [{"path": h.path, "topic": h.topic, "orderId": h.order_id} for h in hooks]
            return json_response({"webhooks": sent})
        return self.handle_sim(what, request) or error_response(404, "Not Found")

    def handle_sim(self, what: str, request: SimRequest) -> SimResponse | None:
        """A channel's own `_sim/<what>` controls (e.g. WooCommerce's extensions); None: not one."""
        return None


def parse_query(query_string: str) -> dict[str, list[str]]:
    return parse_qs(query_string, keep_blank_values=True)


def money(value) -> str:
    """A decimal string with two places, as every channel sends money."""
    from decimal import ROUND_HALF_UP, Decimal
    return str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
