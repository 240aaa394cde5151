"""The outbound HTTP module: the SSRF guard, redirects, TLS checks, timeouts, limits.

Every server here is started by the test on 127.0.0.0/8. Addresses outside loopback
only ever come from resolvers the tests control, and the socket layer is watched so
that an attempt to reach one fails the test before any packet could leave.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import socket
import socketserver
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.outbound import (
    OutboundClient,
    OutboundError,
    check_url,
    is_blocked,
)
from integrations.tests.tls_certs import TestAuthority, self_signed

# --- The watch on the socket layer, the resolver and the servers --------------------


class SocketWatch:
    """Record every outgoing connection; stop any that does not go to loopback."""

    def __init__(self) -> None:
        self.loopback: list[tuple[str, int]] = []
        self.stopped: list[tuple[str, int]] = []
        self.lookups: list[str] = []


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: the module must never hand one to the socket


@pytest.fixture(autouse=True)
def sockets(monkeypatch) -> SocketWatch:
    watch = SocketWatch()
    real_connect = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def create_connection(address, *args, **kwargs):
        host, port = address[0], address[1]
        if _is_loopback_ip(host):
            watch.loopback.append((host, port))
            return real_connect(address, *args, **kwargs)
        # Stopped here, before a socket exists: nothing leaves the machine.
        watch.stopped.append((host, port))
        raise ConnectionRefusedError("stopped by the test")

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(name)
        except ValueError:
            watch.lookups.append(name)
            raise AssertionError(f"the test tried a real lookup of {name}") from None
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return watch


class FakeResolver:
    """Answer chosen addresses and remember every name it was asked."""

    def __init__(self, answers: dict[str, list[list[str]] | list[str]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        answer = self.answers.get(host)
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if answer and isinstance(answer[0], list):
            return answer.pop(0)
        return list(answer)

    @property
    def names(self) -> list[str]:
        return [host for host, _ in self.asked]


@pytest.fixture
def loopback_allowed(settings):
    settings.INTEGRATION_ALLOWED_NETWORKS = ["127.0.0.0/8"]


class QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # The base class asks for the host's full name, which is a reverse lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:
        pass  # failed TLS handshakes are what some tests are about


class Seen:
    """What a test server received."""

    def __init__(self) -> None:
        self.requests: list[dict] = []

    @property
    def last(self) -> dict:
        return self.requests[-1]


def http_server(answer, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None):
    """Start an HTTP server calling answer(handler, seen) for every request."""
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": self.rfile.read(length) if length else b"",
                    "local": self.connection.getsockname()[0],
                }
            )
            answer(self, seen)

        do_GET = do_POST = do_PUT = do_HEAD = handle_any

    server = QuietHTTPServer((host, 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server, seen


def reply(handler, status=200, body=b"", headers=None, content_type="application/json"):
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def ok_json(handler, seen) -> None:
    reply(handler, body=b'{"ok": true}')


def raw_server(talk, host: str = "127.0.0.1"):
    """Start a TCP server that runs talk(socket, stop_event) for every connection."""
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            talk(self.request, stop)

    server = socketserver.ThreadingTCPServer((host, 0), Handler)
    server.daemon_threads = True
    server.stop = stop
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server


@pytest.fixture
def servers():
    """Shut down every server a test started, whatever happened."""
    started = []

    def keep(server):
        started.append(server)
        return server

    yield keep
    for server in started:
        getattr(server, "stop", threading.Event()).set()
        server.shutdown()
        server.server_close()


def port_of(server) -> int:
    return server.server_address[1]


def refused(call, *args, **kwargs) -> OutboundError:
    with pytest.raises(OutboundError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- URLs that are refused before anything happens ----------------------------------


class TestUrlChecks:
    @pytest.mark.parametrize(
        "url",
        [
            "",
            "ftp://erp.test/",
            "file:///etc/passwd",
            "gopher://erp.test/",
            "javascript:alert(1)",
            "erp.test/api",
            "http://",
            "http:///api",
            "http://:8080/",
            "http://user:example-pass-not-real@erp.test/",
            "http://user@erp.test/",
            "http://erp.test@127.0.0.1/",
            "http://erp.test:0/",
            "http://erp.test:99999/",
            "http://erp.test:http/",
            "http://erp .test/",
            " http://erp.test/",
            "http://erp.test/\n",
            "http://erp.test/a\tb",
            "http://erp.test/\x00",
            "http://erp.test\\@127.0.0.1/",
            "http://[::1/",
            "http://[::1]junk/",
            "http://::1/",
            "http://erp_test!.com/",
            "http://%31%32%37.0.0.1/",
        ],
    )
    def test_it_refuses_urls_that_are_not_plain_http(self, url):
        error = refused(check_url, url)

        assert (error.status, error.stage) == ("invalid_config", "url")
        assert "example-pass-not-real" not in error.message

    @pytest.mark.parametrize(
        "url",
        [
            "http://erp.test/",
            "https://ERP.test:8443/api/v1?x=1",
            "https://erp.test./",
            "http://[2606:4700::1]:8080/",
        ],
    )
    def test_it_accepts_http_and_https_urls(self, url):
        check_url(url)

    def test_it_shows_only_scheme_host_and_port_of_a_target(self):
        with OutboundClient() as client:
            shown = client.target("https://ERP.Test.:8443/api/secret-path?token=abc")

        assert shown == {"scheme": "https", "host": "erp.test", "port": 8443}

    def test_it_refuses_credentials_without_repeating_them(self):
        with OutboundClient() as client:
            error = refused(client.get, "https://ada:example-pass-not-real@erp.test/")

        assert error.status == "invalid_config"
        assert "example-pass-not-real" not in error.message
        assert client.stages[-1].name == "url" and not client.stages[-1].ok


class TestBlockList:
    @pytest.mark.parametrize(
        "ip",
        [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "100.100.100.200",
            "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
            "0.1.2.3",
            "255.255.255.255",
            "240.0.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "192.0.0.192",
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fe80::1%eth0",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:7f00:1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "not an address",
        ],
    )
    def test_it_blocks_addresses_that_are_not_public(self, ip):
        assert is_blocked(ip)

    @pytest.mark.parametrize(
        "ip",
        ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
    )
    def test_it_lets_public_addresses_through(self, ip):
        assert not is_blocked(ip)


class TestRefusedBeforeConnecting:
    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/",
            "http://127.0.0.1./",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0X7F000001/",
            "http://0177.0.0.1/",
            "http://0177.1/",
            "http://127.1/",
            "http://0x7f.0.0.1/",
            "http://0x7f.1/",
            "http://017700000001/",
            "http://0/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://[::1]/",
            "http://[0:0:0:0:0:0:0:1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::FFFF:7F00:1]/",
            "http://[::127.0.0.1]/",
            "http://[2002:7f00:1::]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[64:ff9b::127.0.0.1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[fe80::1%25eth0]/",
            "http://[fe80::1]/",
            "http://[fc00::1]/",
            "http://[ff02::1]/",
            "http://[2001:db8::1]/",
            "http://10.0.0.1/",
            "http://172.16.0.1/",
            "http://192.168.0.1:8069/",
            "http://169.254.169.254/latest/meta-data/",
            "http://2852039166/",
            "http://0251.0376.0251.0376/",
            "http://0xa9fea9fe/",
            "http://[::ffff:169.254.169.254]/",
            "http://[fd00:ec2::254]/",
            "http://100.100.100.200/",
            "http://100.64.0.1/",
            "http://198.18.0.1/",
            "http://192.0.2.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://240.0.0.1/",
            "https://0x7f000001:8443/",
        ],
    )
    def test_it_refuses_blocked_ip_literals_in_any_notation(self, url, sockets):
        resolver = FakeResolver({})

        with OutboundClient(resolver=resolver) as client:
            error = refused(client.get, url)

        assert (error.status, error.stage) == ("blocked_address", "url")
        assert resolver.asked == []
        assert sockets.loopback == sockets.stopped == []
        assert [(s.name, s.ok) for s in client.stages] == [("url", False)]

    @pytest.mark.parametrize(
        "answer",
        [
            ["127.0.0.1"],
            ["10.1.2.3"],
            ["172.20.0.5"],
            ["192.168.1.10"],
            ["169.254.169.254"],
            ["100.100.100.200"],
            ["100.64.1.1"],
            ["0.0.0.0"],  # noqa: S104 - an answer to refuse, not one to bind
            ["::"],
            ["::1"],
            ["fd00:ec2::254"],
            ["fe80::1"],
            ["fe80::1%eth0"],
            ["fd12:3456::1"],
            ["::ffff:127.0.0.1"],
            ["::ffff:10.0.0.1"],
            ["2002:a00:1::1"],
            ["64:ff9b::a9fe:a9fe"],
            ["198.18.0.1"],
            ["203.0.113.7"],
            ["not-an-address"],
        ],
    )
    def test_it_refuses_host_names_that_resolve_to_blocked_addresses(
        self, answer, sockets
    ):
        resolver = FakeResolver({"erp.test": answer})

        with OutboundClient(resolver=resolver) as client:
            error = refused(client.get, "http://erp.test:8069/api")

        assert (error.status, error.stage) == ("blocked_address", "dns")
        assert resolver.asked == [("erp.test", 8069)]
        assert sockets.loopback == sockets.stopped == []
        assert [(s.name, s.ok) for s in client.stages] == [
            ("url", True),
            ("dns", False),
        ]

    def test_it_refuses_a_host_when_any_of_its_addresses_is_blocked(
        self, loopback_allowed, sockets
    ):
        resolver = FakeResolver({"erp.test": ["127.0.0.2", "10.0.0.1"]})

        with OutboundClient(resolver=resolver) as client:
            error = refused(client.get, "http://erp.test/")

        assert error.status == "blocked_address"
        assert sockets.loopback == sockets.stopped == []

    @pytest.mark.parametrize(
        "url", ["http://ERP.Test./", "http://erp.TEST/", "http://erp.test./"]
    )
    def test_it_asks_the_resolver_for_the_plain_lower_case_name(self, url):
        resolver = FakeResolver({"erp.test": ["10.0.0.1"]})

        with OutboundClient(resolver=resolver) as client:
            refused(client.get, url)

        assert resolver.names == ["erp.test"]

    @pytest.mark.parametrize(
        "url", ["http://localhost/", "http://LOCALHOST./", "http://api.localhost/"]
    )
    def test_it_refuses_localhost_without_asking_any_resolver(self, url, sockets):
        resolver = FakeResolver({})

        with OutboundClient(resolver=resolver) as client:
            error = refused(client.get, url)

        assert (error.status, error.stage) == ("blocked_address", "dns")
        assert resolver.asked == [] and sockets.lookups == []
        assert sockets.loopback == []

    def test_it_keeps_metadata_addresses_blocked_inside_allowed_networks(
        self, settings, sockets
    ):
        settings.INTEGRATION_ALLOWED_NETWORKS = [
            "169.254.0.0/16",
            "100.64.0.0/10",
            "fd00::/8",
        ]
        resolver = FakeResolver({"meta.test": ["169.254.169.254"]})

        with OutboundClient(resolver=resolver) as client:
            for url in [
                "http://169.254.169.254/",
                "http://[::ffff:169.254.169.254]/",
                "http://100.100.100.200/",
                "http://[fd00:ec2::254]/",
                "http://meta.test/",
            ]:
                assert refused(client.get, url).status == "blocked_address"

        assert sockets.loopback == sockets.stopped == []

    def test_an_allowed_network_lets_an_on_premise_address_through(
        self, settings, sockets
    ):
        settings.INTEGRATION_ALLOWED_NETWORKS = ["10.1.2.0/24"]
        resolver = FakeResolver({"erp.test": ["10.1.2.5"], "other.test": ["10.1.3.5"]})

        with OutboundClient(resolver=resolver) as client:
            allowed = refused(client.get, "http://erp.test:8069/")
            blocked = refused(client.get, "http://other.test:8069/")

        # The watch stopped the connection before any socket existed.
        assert allowed.status == "connection_refused"
        assert sockets.stopped == [("10.1.2.5", 8069)]
        assert blocked.status == "blocked_address"

    def test_it_reports_names_that_cannot_be_resolved(self, sockets):
        resolver = FakeResolver({"empty.test": []})

        with OutboundClient(resolver=resolver) as client:
            missing = refused(client.get, "http://missing.test/")
            empty = refused(client.get, "http://empty.test/")

        assert (missing.status, missing.stage) == ("dns_error", "dns")
        assert empty.status == "dns_error"
        assert "missing.test" in missing.message
        assert sockets.loopback == []

    def test_it_gives_up_on_a_resolver_that_hangs(self):
        release = threading.Event()

        def hanging(host, port):
            release.wait(5)
            return ["10.0.0.1"]

        started = time.monotonic()
        with OutboundClient(resolver=hanging, connect_timeout=0.3) as client:
            error = refused(client.get, "http://slow.test/")
        release.set()

        assert error.status == "dns_error"
        assert time.monotonic() - started < 2

    def test_it_refuses_a_malformed_allowed_network_setting(self, settings):
        settings.INTEGRATION_ALLOWED_NETWORKS = ["10.0.0.0/33"]

        with OutboundClient() as client:
            error = refused(client.get, "http://10.0.0.1/")

        assert error.status == "invalid_config"


class TestLoopbackOnly:
    @pytest.fixture(autouse=True)
    def loopback_only(self, settings):
        settings.OUTBOUND_LOOPBACK_ONLY = True
        settings.INTEGRATION_ALLOWED_NETWORKS = []

    def test_it_refuses_host_names_before_any_lookup(self, sockets):
        resolver = FakeResolver({"erp.test": ["127.0.0.1"]})

        with OutboundClient(resolver=resolver) as client:
            error = refused(client.get, "http://erp.test/")

        assert (error.status, error.stage) == ("blocked_address", "url")
        assert resolver.asked == [] and sockets.loopback == []

    @pytest.mark.parametrize(
        "url", ["http://10.0.0.1/", "http://8.8.8.8/", "http://[2606:4700::1]/"]
    )
    def test_it_refuses_addresses_outside_loopback(self, url, sockets):
        with OutboundClient() as client:
            error = refused(client.get, url)

        assert error.status == "blocked_address"
        assert sockets.loopback == sockets.stopped == []

    def test_it_reaches_localhost_without_a_resolver(self, servers, sockets):
        server, seen = http_server(ok_json)
        servers(server)
        resolver = FakeResolver({})

        with OutboundClient(resolver=resolver) as client:
            response = client.get(f"http://localhost:{port_of(server)}/ping")

        assert response.json() == {"ok": True}
        assert resolver.asked == [] and sockets.lookups == []
        assert seen.last["headers"]["Host"] == f"localhost:{port_of(server)}"
        assert sockets.loopback == [("127.0.0.1", port_of(server))]

    def test_it_reaches_other_loopback_addresses(self, servers):
        server, seen = http_server(ok_json, host="127.0.0.2")
        servers(server)

        with OutboundClient() as client:
            response = client.get(f"http://127.0.0.2:{port_of(server)}/")

        assert response.status_code == 200


# --- Where the connection goes --------------------------------------------------------


class TestPinnedAddress:
    def test_it_connects_to_the_first_answer_and_never_asks_again(
        self, loopback_allowed, servers, sockets
    ):
        server, seen = http_server(ok_json, host="127.0.0.2")
        servers(server)
        port = port_of(server)
        # A rebinding name: first an allowed address, then another one.
        resolver = FakeResolver({"erp.test": [["127.0.0.2"], ["127.0.0.3"]]})

        with OutboundClient(resolver=resolver) as client:
            response = client.get(f"http://erp.test:{port}/api")

        assert response.status_code == 200
        assert resolver.names == ["erp.test"]
        assert sockets.loopback == [("127.0.0.2", port)]
        assert seen.last["local"] == "127.0.0.2"
        assert seen.last["headers"]["Host"] == f"erp.test:{port}"
        assert response.url == f"http://erp.test:{port}/api"

    def test_it_does_not_ask_a_resolver_for_an_ip_literal(
        self, loopback_allowed, servers
    ):
        server, seen = http_server(ok_json)
        servers(server)
        resolver = FakeResolver({})

        with OutboundClient(resolver=resolver) as client:
            client.get(f"http://0x7f000001:{port_of(server)}/a?b=1")

        assert resolver.asked == []
        assert seen.last["path"] == "/a?b=1"
        assert seen.last["headers"]["Host"] == f"127.0.0.1:{port_of(server)}"

    def test_it_ignores_a_host_header_from_the_caller(self, loopback_allowed, servers):
        server, seen = http_server(ok_json)
        servers(server)
        resolver = FakeResolver({"erp.test": ["127.0.0.1"]})

        with OutboundClient(resolver=resolver) as client:
            client.get(
                f"http://erp.test:{port_of(server)}/", headers={"Host": "other.test"}
            )

        assert seen.last["headers"]["Host"] == f"erp.test:{port_of(server)}"

    def test_it_records_each_stage_with_its_duration(self, loopback_allowed, servers):
        server, _ = http_server(ok_json)
        servers(server)
        resolver = FakeResolver({"erp.test": ["127.0.0.1"]})

        with OutboundClient(resolver=resolver) as client:
            client.get(f"http://erp.test:{port_of(server)}/")

        assert [(s.name, s.ok) for s in client.stages] == [
            ("url", True),
            ("dns", True),
            ("connect", True),
            ("http", True),
        ]
        assert all(s.duration_ms >= 0 for s in client.stages)
        assert client.stages[-1].detail == "HTTP 200"

    def test_it_identifies_itself_and_sends_json(self, loopback_allowed, servers):
        server, seen = http_server(ok_json)
        servers(server)

        with OutboundClient() as client:
            response = client.post(
                f"http://127.0.0.1:{port_of(server)}/invoices", json={"amount": 10}
            )

        assert seen.last["headers"]["User-Agent"] == "TaxPoynt-Integrations/1.0"
        assert json.loads(seen.last["body"]) == {"amount": 10}
        assert response.content_type == "application/json"
        assert response.text() == '{"ok": true}'
        assert response.elapsed_ms > 0


# --- Redirects ----------------------------------------------------------------------


def redirect_to(location: str, status: int = 302):
    def answer(handler, seen) -> None:
        reply(handler, status, headers={"Location": location})

    return answer


class TestRedirects:
    def test_it_keeps_credentials_on_the_same_origin(self, loopback_allowed, servers):
        def answer(handler, seen) -> None:
            if handler.path == "/start":
                reply(handler, 302, headers={"Location": "/next"})
            else:
                ok_json(handler, seen)

        server, seen = http_server(answer)
        servers(server)

        with OutboundClient() as client:
            response = client.get(
                f"http://127.0.0.1:{port_of(server)}/start",
                auth=("ada", "example-pass-not-real"),
                headers={"X-Api-Key": "example-key-not-real"},
            )

        assert response.url == f"http://127.0.0.1:{port_of(server)}/next"
        assert seen.last["headers"]["Authorization"].startswith("Basic ")
        assert seen.last["headers"]["X-Api-Key"] == "example-key-not-real"

    def test_it_drops_credentials_when_redirected_to_another_origin(
        self, loopback_allowed, servers
    ):
        other, other_seen = http_server(ok_json, host="127.0.0.2")
        servers(other)
        first, first_seen = http_server(
            redirect_to(f"http://127.0.0.2:{port_of(other)}/landing", 307)
        )
        servers(first)

        with OutboundClient() as client:
            response = client.get(
                f"http://127.0.0.1:{port_of(first)}/start",
                auth=("ada", "example-pass-not-real"),
                headers={
                    "Authorization": "Bearer example-token-not-real",
                    "Cookie": "session=example-not-real",
                    "X-Api-Key": "example-key-not-real",
                    "Accept": "application/json",
                    "Accept-Language": "en-NG",
                },
            )

        assert response.status_code == 200
        assert "Authorization" in first_seen.last["headers"]
        received = other_seen.last["headers"]
        for name in ("Authorization", "Cookie", "X-Api-Key"):
            assert name not in received
        assert received["Accept"] == "application/json"
        assert received["Accept-Language"] == "en-NG"
        assert received["User-Agent"] == "TaxPoynt-Integrations/1.0"

    def test_a_different_port_is_another_origin(self, loopback_allowed, servers):
        other, other_seen = http_server(ok_json)
        servers(other)
        first, _ = http_server(redirect_to(f"http://127.0.0.1:{port_of(other)}/"))
        servers(first)

        with OutboundClient() as client:
            client.get(
                f"http://127.0.0.1:{port_of(first)}/",
                auth=("ada", "example-pass-not-real"),
            )

        assert "Authorization" not in other_seen.last["headers"]

    @pytest.mark.parametrize(
        ("location", "stage"),
        [
            ("http://169.254.169.254/latest/meta-data/", "url"),
            ("http://[::ffff:a9fe:a9fe]/", "url"),
            ("http://0xa9fea9fe/", "url"),
            ("http://internal.test/admin", "dns"),
        ],
    )
    def test_it_refuses_a_redirect_to_a_blocked_address(
        self, location, stage, loopback_allowed, servers, sockets
    ):
        server, _ = http_server(redirect_to(location))
        servers(server)
        resolver = FakeResolver({"internal.test": ["10.0.0.5"]})

        with OutboundClient(resolver=resolver) as client:
            error = refused(client.get, f"http://127.0.0.1:{port_of(server)}/")

        assert (error.status, error.stage) == ("blocked_address", stage)
        assert sockets.stopped == []
        assert sockets.loopback == [("127.0.0.1", port_of(server))]

    @pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://x.test/"])
    def test_it_refuses_a_redirect_to_another_scheme(
        self, location, loopback_allowed, servers
    ):
        server, _ = http_server(redirect_to(location))
        servers(server)

        with OutboundClient() as client:
            error = refused(client.get, f"http://127.0.0.1:{port_of(server)}/")

        assert error.status == "invalid_config"

    def test_it_stops_a_redirect_loop_after_three_redirects(
        self, loopback_allowed, servers
    ):
        server, seen = http_server(redirect_to("/again"))
        servers(server)

        with OutboundClient() as client:
            error = refused(client.get, f"http://127.0.0.1:{port_of(server)}/")

        assert (error.status, error.stage) == ("unexpected_response", "http")
        assert len(seen.requests) == 4

    def test_a_see_other_turns_a_post_into_a_get_without_body(
        self, loopback_allowed, servers
    ):
        def answer(handler, seen) -> None:
            if handler.path == "/submit":
                reply(handler, 303, headers={"Location": "/result"})
            else:
                ok_json(handler, seen)

        server, seen = http_server(answer)
        servers(server)

        with OutboundClient() as client:
            client.post(f"http://127.0.0.1:{port_of(server)}/submit", json={"a": 1})

        assert [r["method"] for r in seen.requests] == ["POST", "GET"]
        assert seen.last["body"] == b""
        assert "Content-Type" not in seen.last["headers"]

    def test_a_temporary_redirect_keeps_the_post_and_its_body(
        self, loopback_allowed, servers
    ):
        def answer(handler, seen) -> None:
            if handler.path == "/submit":
                reply(handler, 307, headers={"Location": "/elsewhere"})
            else:
                ok_json(handler, seen)

        server, seen = http_server(answer)
        servers(server)

        with OutboundClient() as client:
            client.post(f"http://127.0.0.1:{port_of(server)}/submit", json={"a": 1})

        assert [r["method"] for r in seen.requests] == ["POST", "POST"]
        assert json.loads(seen.last["body"]) == {"a": 1}

    def test_it_returns_the_redirect_when_asked_not_to_follow(
        self, loopback_allowed, servers
    ):
        server, seen = http_server(redirect_to("/next"))
        servers(server)

        with OutboundClient() as client:
            response = client.get(
                f"http://127.0.0.1:{port_of(server)}/", follow_redirects=False
            )

        assert response.status_code == 302
        assert len(seen.requests) == 1


# --- TLS ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("certs")
    authority = TestAuthority(folder)
    other_authority = TestAuthority(tmp_path_factory.mktemp("other-certs"))
    return {
        "authority": authority.bundle,
        "valid": authority.leaf("valid", "erp.test"),
        "expired": authority.leaf("expired", "erp.test", expired=True),
        "mismatch": authority.leaf("mismatch", "other.test"),
        "self_signed": self_signed(folder, "self-signed", "erp.test"),
        "unknown_authority": other_authority.leaf("unknown", "erp.test"),
    }


class TestTls:
    def tls_server(self, servers, certificates, which: str):
        cert, key = certificates[which]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        names: list[str | None] = []
        context.sni_callback = lambda sock, name, ctx: names.append(name)
        server, seen = http_server(ok_json, tls=context)
        servers(server)
        return f"https://erp.test:{port_of(server)}/api", names

    def client(self, certificates, **kwargs) -> OutboundClient:
        resolver = FakeResolver({"erp.test": ["127.0.0.1"]})
        return OutboundClient(
            resolver=resolver, ca_bundle=certificates["authority"], **kwargs
        )

    def test_it_verifies_the_certificate_against_the_host_name(
        self, loopback_allowed, servers, certificates
    ):
        url, names = self.tls_server(servers, certificates, "valid")

        with self.client(certificates) as client:
            response = client.get(url)

        assert response.json() == {"ok": True}
        assert names == ["erp.test"]
        assert [s.name for s in client.stages] == [
            "url",
            "dns",
            "connect",
            "tls",
            "http",
        ]
        assert all(s.ok for s in client.stages)

    @pytest.mark.parametrize(
        ("which", "problem"),
        [
            ("expired", "expired"),
            ("self_signed", "self_signed"),
            ("mismatch", "hostname_mismatch"),
            ("unknown_authority", "untrusted"),
        ],
    )
    def test_it_tells_certificate_problems_apart(
        self, which, problem, loopback_allowed, servers, certificates
    ):
        url, _ = self.tls_server(servers, certificates, which)

        with self.client(certificates) as client:
            error = refused(client.get, url)

        assert (error.status, error.stage, error.tls_problem) == (
            "tls_error",
            "tls",
            problem,
        )
        assert [(s.name, s.ok) for s in client.stages][-2:] == [
            ("connect", True),
            ("tls", False),
        ]

    def test_it_accepts_a_self_signed_certificate_when_told_not_to_verify(
        self, loopback_allowed, servers, certificates
    ):
        url, _ = self.tls_server(servers, certificates, "self_signed")

        with self.client(certificates, verify_tls=False) as client:
            response = client.get(url)

        assert response.status_code == 200

    def test_it_reports_a_plain_http_server_on_a_tls_url(
        self, loopback_allowed, servers, certificates
    ):
        server, _ = http_server(ok_json)
        servers(server)

        with self.client(certificates) as client:
            error = refused(client.get, f"https://erp.test:{port_of(server)}/")

        assert (error.status, error.tls_problem) == ("tls_error", "other")


# --- Timeouts, failures and limits ---------------------------------------------------


class TestFailuresAndLimits:
    def test_it_times_out_on_a_server_that_never_answers(
        self, loopback_allowed, servers
    ):
        server = servers(raw_server(lambda sock, stop: stop.wait(10)))

        started = time.monotonic()
        with OutboundClient(total_timeout=0.5) as client:
            error = refused(client.get, f"http://127.0.0.1:{port_of(server)}/")

        assert (error.status, error.stage) == ("timeout", "http")
        assert "total" in error.message
        assert time.monotonic() - started < 1.5

    def test_it_times_out_on_a_server_that_sends_a_trickle(
        self, loopback_allowed, servers
    ):
        def trickle(sock, stop) -> None:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            while not stop.wait(0.1):
                sock.sendall(b"x")

        server = servers(raw_server(trickle))

        started = time.monotonic()
        with OutboundClient(total_timeout=0.6) as client:
            error = refused(client.get, f"http://127.0.0.1:{port_of(server)}/")

        assert error.status == "timeout"
        assert time.monotonic() - started < 1.5

    def test_it_times_out_on_a_connection_that_is_never_accepted(
        self, loopback_allowed
    ):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        # Fill the accept queue so that the kernel ignores further handshakes.
        fillers = []
        try:
            for _ in range(3):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            time.sleep(0.1)

            started = time.monotonic()
            with OutboundClient(connect_timeout=0.3) as client:
                error = refused(client.get, f"http://127.0.0.1:{port}/")
        finally:
            for filler in fillers:
                filler.close()
            listener.close()

        assert (error.status, error.stage) == ("timeout", "connect")
        assert "connect timeout" in error.message
        assert time.monotonic() - started < 1.5

    def test_it_reports_a_refused_connection(self, loopback_allowed):
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()

        with OutboundClient() as client:
            error = refused(client.get, f"http://127.0.0.1:{port}/")

        assert (error.status, error.stage) == ("connection_refused", "connect")
        assert client.stages[-1].name == "connect" and not client.stages[-1].ok

    def test_it_reports_a_server_that_resets_the_connection(
        self, loopback_allowed, servers
    ):
        def reset(sock, stop) -> None:
            sock.recv(1024)
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )

        server = servers(raw_server(reset))

        with OutboundClient() as client:
            error = refused(client.get, f"http://127.0.0.1:{port_of(server)}/")

        assert error.status == "connection_refused"

    def test_it_cuts_an_endless_body_at_the_limit(self, loopback_allowed, servers):
        def endless(sock, stop) -> None:
            sock.recv(1024)
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            chunk = b"x" * 65536
            try:
                while not stop.is_set():
                    sock.sendall(chunk)
            except OSError:
                pass

        server = servers(raw_server(endless))

        started = time.monotonic()
        with OutboundClient(total_timeout=5, max_body=300_000) as client:
            response = client.get(f"http://127.0.0.1:{port_of(server)}/")

        assert response.truncated
        assert len(response.body) == 300_000
        assert time.monotonic() - started < 5

    def test_it_keeps_a_body_exactly_at_the_limit_whole(
        self, loopback_allowed, servers
    ):
        server, _ = http_server(
            lambda h, s: reply(h, body=b"y" * 1000, content_type="text/plain")
        )
        servers(server)

        with OutboundClient(max_body=1000) as client:
            response = client.get(f"http://127.0.0.1:{port_of(server)}/")

        assert not response.truncated
        assert response.body == b"y" * 1000

    def test_it_caps_a_compressed_body_after_decompressing(
        self, loopback_allowed, servers
    ):
        bomb = gzip.compress(b"0" * 20_000_000)
        server, _ = http_server(
            lambda h, s: reply(h, body=bomb, headers={"Content-Encoding": "gzip"})
        )
        servers(server)

        with OutboundClient(max_body=5000) as client:
            response = client.get(f"http://127.0.0.1:{port_of(server)}/")

        assert response.truncated
        assert response.body == b"0" * 5000

    def test_it_decompresses_a_gzip_body(self, loopback_allowed, servers):
        body = gzip.compress(b'{"invoices": []}')
        server, _ = http_server(
            lambda h, s: reply(h, body=body, headers={"Content-Encoding": "gzip"})
        )
        servers(server)

        with OutboundClient() as client:
            response = client.get(f"http://127.0.0.1:{port_of(server)}/")

        assert response.json() == {"invoices": []}

    def test_it_never_repeats_a_response_body_in_an_error(
        self, loopback_allowed, servers
    ):
        def garbage(sock, stop) -> None:
            sock.recv(1024)
            sock.sendall(b"NOT-HTTP example-secret-not-real\r\n\r\n")

        server = servers(raw_server(garbage))

        with OutboundClient() as client:
            error = refused(client.get, f"http://127.0.0.1:{port_of(server)}/")

        assert error.status == "unexpected_response"
        assert "example-secret-not-real" not in error.message

    def test_it_raises_value_error_for_a_body_that_is_not_json(
        self, loopback_allowed, servers
    ):
        server, _ = http_server(
            lambda h, s: reply(
                h, body=b"<html>", content_type="Text/HTML; charset=utf-8"
            )
        )
        servers(server)

        with OutboundClient() as client:
            response = client.get(f"http://127.0.0.1:{port_of(server)}/")

        assert response.content_type == "text/html"
        with pytest.raises(ValueError):
            response.json()
