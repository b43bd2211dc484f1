"""Issue 15 item 7: the guard judges a URL exactly as the HTTP client connects (core.outbound, core.http).

Each URL below reads as a public host to one parser and as loopback (or a private address) to another,
or embeds a private IPv4 address in an IPv6 form; a name's DNS answer may change between check and
connect (rebinding); a public server may redirect to loopback. Every one must be refused.
"""

import http.server
import socket
import threading

import pytest
import requests

from core.http import HttpClient, PermanentOutboundError, PinnedAddressAdapter, guard_session
from core.outbound import OutboundURLRefused, check_outbound_url

REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def no_private(settings):
    settings.ALLOW_PRIVATE_OUTBOUND = False


@pytest.mark.parametrize("url", [
    "http://127.0.0.1\\@example.com/",
    "http://example.com\\@127.0.0.1/",
    "http://example.com@127.0.0.1/",
    "http://user:pass@example.com/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[2002:a9fe:a9fe::]/",          # 6to4 of the cloud metadata address
    "http://example.com /",
    "http://example.com\t/",
    "http://exa\nmple.com/",
    "http://example.com:/",
    "http://example.com:99999/",
    "http://example.com:+80/",
])
def test_urls_that_parse_two_ways_or_embed_a_private_address_are_refused(no_private, url):
    with pytest.raises(OutboundURLRefused):
        check_outbound_url(url)


def test_public_nat64_and_6to4_forms_stay_allowed(no_private):
    check_outbound_url("http://[64:ff9b::808:808]/")
    check_outbound_url("http://[2002:808:808::]/")


def test_a_query_may_still_carry_an_at_sign(no_private, monkeypatch):
    monkeypatch.setattr("core.outbound.resolve", lambda host: ["93.184.215.14"])
    check_outbound_url("https://example.com/hook?email=a@b.example")


@pytest.mark.parametrize("url", ["http://127.0.0.1\\@example.com/", "http://example.com@127.0.0.1/",
                                 "http://[::ffff:127.0.0.1]/", "http://[64:ff9b::7f00:1]/",
                                 "http://[2002:7f00:1::]/"])
def test_the_shared_client_refuses_them_without_connecting(no_private, url):
    client = HttpClient("https://api.example.com")
    with pytest.raises(PermanentOutboundError, match="refused"):
        client.request("GET", url, timeout=1)


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):
        type(self).seen.append((self.path, self.headers.get("Host")))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/secret")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    _Recorder.seen = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _rebinding(monkeypatch, name, answers):
    """getaddrinfo for `name` answers answers[0], then answers[1], ...; other hosts resolve normally."""
    calls = []

    def fake(host, port, *args, **kwargs):
        if host != name:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        address = answers[min(len(calls), len(answers) - 1)]
        calls.append(address)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return calls


def test_the_connection_goes_to_the_checked_address_not_a_second_dns_answer(no_private, monkeypatch,
                                                                           local_server):
    """Check sees 127.0.0.1 (treated as public here so the check passes), connect would see 10.255.255.1:
    the request reaches the local server at the checked address, with the name as Host header."""
    monkeypatch.setattr("core.outbound._is_public", lambda address: address == "127.0.0.1")
    calls = _rebinding(monkeypatch, "rebind.test", ["127.0.0.1", "10.255.255.1"])
    port = local_server.server_port
    response = guard_session().get(f"http://rebind.test:{port}/hello", timeout=5)
    assert response.status_code == 200
    assert _Recorder.seen == [("/hello", f"rebind.test:{port}")]
    assert calls == ["127.0.0.1"]   # resolved once


def test_a_name_public_on_check_and_loopback_on_connect_never_reaches_loopback(no_private, monkeypatch,
                                                                               local_server):
    _rebinding(monkeypatch, "rebind.test", ["93.184.215.14", "127.0.0.1"])
    port = local_server.server_port
    with pytest.raises((requests.RequestException, OutboundURLRefused)):
        guard_session().get(f"http://rebind.test:{port}/secret", timeout=0.5)
    assert _Recorder.seen == []


def test_a_redirect_to_loopback_is_refused(no_private, monkeypatch, local_server):
    monkeypatch.setattr("core.outbound._is_public", lambda address: address == "127.0.0.1")
    _rebinding(monkeypatch, "public.test", ["127.0.0.1"])
    port = local_server.server_port
    client = HttpClient(f"http://public.test:{port}")
    monkeypatch.setattr("core.outbound._is_public", lambda address: False)
    with pytest.raises(PermanentOutboundError, match="refused"):
        client.request("GET", "/redirect", timeout=5)


def test_a_redirect_hop_is_checked_by_the_adapter(no_private, monkeypatch, local_server):
    """First hop allowed (public.test, pinned to the local server); the Location names 127.0.0.1: refused."""
    monkeypatch.setattr("core.outbound._is_public",
                        lambda address: address == "127.0.0.1" and not _Recorder.seen)
    _rebinding(monkeypatch, "public.test", ["127.0.0.1"])
    client = HttpClient(f"http://public.test:{local_server.server_port}")
    with pytest.raises(PermanentOutboundError, match="refused"):
        client.request("GET", "/redirect", timeout=5)
    assert [path for path, _ in _Recorder.seen] == ["/redirect"]


def test_https_keeps_the_name_for_sni_and_certificate_checks(no_private, monkeypatch):
    monkeypatch.setattr("core.outbound.resolve", lambda host: ["93.184.215.14"])
    adapter = PinnedAddressAdapter()
    request = requests.Request("GET", "https://api.example.com/x").prepare()
    from core.outbound import resolve_outbound_url
    request._pinned_target = resolve_outbound_url(request.url)
    host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(request, True)
    assert host_params["host"] == "93.184.215.14"
    assert pool_kwargs["server_hostname"] == "api.example.com"
    assert pool_kwargs["assert_hostname"] == "api.example.com"


def test_workflow_webhooks_and_channel_clients_use_the_guarded_session():
    from channels_sync.providers.http import ChannelHttpClient
    assert isinstance(guard_session().get_adapter("https://x/"), PinnedAddressAdapter)
    assert isinstance(ChannelHttpClient("https://x.example").session.get_adapter("http://x/"), PinnedAddressAdapter)
