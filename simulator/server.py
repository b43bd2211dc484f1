"""The simulator's HTTP server: stdlib ThreadingHTTPServer routing `/<name>/...` to each simulator.

Also runs the live demo: a ticker thread that every `tick_seconds` lets one simulator create or
change an order, and a sender thread that POSTs the signed webhook to our app (`webhook_target`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests

from simulator.base import ChannelSimulator, OutboundWebhook, SimRequest, json_response, parse_query
from simulator.registry import available_simulators, simulator_class

logger = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    server: _SimHttpServer
    protocol_version = "HTTP/1.1"

    def _dispatch(self) -> None:
        received_at = time.time()
        parts = urlsplit(self.path)
        segments = parts.path.lstrip("/").split("/", 1)
        simulator = self.server.owner.simulators.get(segments[0])
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if simulator is None:
            index = {"channels": {name: sim.base_url for name, sim in self.server.owner.simulators.items()}}
            response = json_response(index, 200 if parts.path in ("", "/") else 404)
        else:
            request = SimRequest(method=self.command, path="/" + (segments[1] if len(segments) > 1 else ""),
                                 query=parse_query(parts.query), headers=dict(self.headers.items()), body=body,
                                 base_url=simulator.base_url, received_at=received_at)
            try:
                response = simulator.handle(request)
            except Exception as exc:  # a simulator bug must answer 500, like a real channel would
                logger.exception("simulator %s failed on %s %s", simulator.name, self.command, self.path)
                response = json_response({"errors": f"simulator error: {exc}"}, 500)
        self.send_response(response.status)
        for key, value in response.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch

    def log_message(self, format, *args):
        logger.debug("%s - %s", self.address_string(), format % args)


class _SimHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: SimulatorServer


class SimulatorServer:
    """Start/stop the HTTP server and the live-demo threads; usable from a command or a test."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 8765, order_count: int = 200, seed: int = 1234,
                 webhook_target: str | None = None, tick_seconds: float = 0, names: list[str] | None = None,
                 simulator_options: dict | None = None):
        self.httpd = _SimHttpServer((host, port), _Handler)
        self.httpd.owner = self
        self.host, self.port = self.httpd.server_address[:2]
        self.webhook_target = webhook_target.rstrip("/") if webhook_target else None
        self.tick_seconds = tick_seconds
        self.simulators: dict[str, ChannelSimulator] = {}
        for name in names or available_simulators():
            sim = simulator_class(name)(seed=seed, order_count=order_count, base_url=f"{self.base_url}/{name}",
                                        **(simulator_options or {}))
            sim.webhook_sender = lambda hook, sim=sim: self._outbox.put((sim, hook))
            self.simulators[name] = sim
        self._outbox: queue.Queue[tuple[ChannelSimulator, OutboundWebhook] | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._session = requests.Session()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SimulatorServer:
        self._threads = [threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                          name="sim-http", daemon=True),
                         threading.Thread(target=self._send_loop, name="sim-webhooks", daemon=True)]
        if self.tick_seconds > 0:
            self._threads.append(threading.Thread(target=self._tick_loop, name="sim-ticker", daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._outbox.put(None)
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def serve_forever(self) -> None:
        self.start()
        try:
            self._stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # --- webhooks ------------------------------------------------------------------------------
    def send_webhook(self, sim: ChannelSimulator, hook: OutboundWebhook) -> None:
        if not self.webhook_target and not hook.path.startswith(("http://", "https://")):
            sim.record_webhook_sent(hook, None, "no webhook target configured")
            return
        try:
            url = hook.path if hook.path.startswith(("http://", "https://")) else self.webhook_target + hook.path
            response = self._session.post(url, data=hook.body, headers=hook.headers, timeout=(3, 10))
        except requests.RequestException as exc:
            sim.record_webhook_sent(hook, None, f"{type(exc).__name__}: {exc}")
            logger.warning("simulator webhook %s %s failed: %s", hook.topic, hook.path, exc)
            return
        sim.record_webhook_sent(hook, response.status_code, None if response.ok else response.text[:500])
        logger.info("simulator sent %s for order %s -> %s", hook.topic, hook.order_id, response.status_code)

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            try:
                if item is None:
                    return
                self.send_webhook(*item)
            finally:
                self._outbox.task_done()

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued webhook has been sent (tests)."""
        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def _tick_loop(self) -> None:
        names = list(self.simulators)
        index = 0
        while not self._stop.wait(self.tick_seconds):
            if not names:
                return
            sim = self.simulators[names[index % len(names)]]
            index += 1
            try:
                sim.deliver(sim.tick())
            except Exception:
                logger.exception("simulator %s tick failed", sim.name)
