"""When what the product depends on fails: the database, and the ERP being tested.

The database "goes away" through Django's own execute_wrapper hook, which makes every
query fail as a dropped connection does. The ERPs are real servers on loopback that
misbehave: they hang, reset the connection, send a body without end, or present a
certificate nobody trusts. Connection tests reach them through the API, end to end.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection

from conftest import api_as
from integrations.tests.fakes import FakeServer, Reply
from integrations.tests.tls_certs import self_signed

pytestmark = pytest.mark.django_db

TOTAL_TIMEOUT = 1.5


# --- The database goes away --------------------------------------------------------


def database_gone(execute, sql, params, many, context):
    raise OperationalError("server closed the connection unexpectedly")


def test_healthz_answers_503_when_the_database_is_gone(client):
    with connection.execute_wrapper(database_gone):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error"}


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/integrations"),
        ("get", "/api/clients"),
        ("post", "/api/clients"),
        ("get", "/api/integrations/1/history"),
    ],
)
def test_the_api_answers_a_json_503_when_the_database_is_gone(
    member, integration, method, path
):
    api = api_as(member)
    api.raise_request_exception = False

    with connection.execute_wrapper(database_gone):
        response = getattr(api, method)(path, {"name": "Lekki"}, format="json")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert "Traceback" not in response.content.decode()
    assert response.json()["detail"]


def test_the_api_never_shows_a_traceback_when_the_database_is_gone(member, settings):
    settings.DEBUG = False
    api = api_as(member)
    api.raise_request_exception = False

    with connection.execute_wrapper(database_gone):
        response = api.get("/api/integrations")

    assert response.status_code >= 500
    body = response.content.decode()
    assert "Traceback" not in body and "OperationalError" not in body


# --- Misbehaving ERP servers, tested through the API -------------------------------


class RawServer:
    """A TCP server on loopback that hands every connection to behave(sock, stop)."""

    def __init__(self, behave: Callable[[socket.socket, threading.Event], None]):
        self.behave = behave
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.thread = threading.Thread(target=self.accept, daemon=True)

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def accept(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self.serve, args=(sock,), daemon=True).start()

    def serve(self, sock: socket.socket) -> None:
        # The client giving up mid-answer is what some tests are about.
        with sock, contextlib.suppress(OSError):
            self.behave(sock, self.stop)

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=2)


def hang(sock, stop) -> None:
    sock.recv(4096)
    stop.wait(30)


def reset(sock, stop) -> None:
    sock.recv(4096)
    # Linger with a zero timeout: close() sends RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")


def endless_body(sock, stop) -> None:
    sock.recv(4096)
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
    chunk = b'"x",' * 16384
    while not stop.is_set():
        sock.sendall(chunk)


@pytest.fixture
def loopback_erp(settings):
    settings.OUTBOUND_LOOPBACK_ONLY = True
    settings.OUTBOUND_CONNECT_TIMEOUT = 1.0
    settings.OUTBOUND_TOTAL_TIMEOUT = TOTAL_TIMEOUT
    settings.CONNECTION_TEST_RATE = "1000/min"
    cache.clear()


def point_at(integration, url: str) -> None:
    integration.config = {**integration.config, "api_url": url}
    integration.save()


def test_connection(member, integration) -> tuple[dict, float]:
    started = time.monotonic()
    response = api_as(member).post(f"/api/integrations/{integration.pk}/test")
    elapsed = time.monotonic() - started

    assert response.status_code == 200, response.content
    return response.json(), elapsed


test_connection.__test__ = False  # a helper, despite its name


@pytest.mark.parametrize(
    "behave, expected",
    [
        (hang, {"timeout"}),
        (reset, {"connection_refused"}),
        (endless_body, {"unexpected_response", "ok"}),
    ],
    ids=["hangs", "resets the connection", "sends an endless body"],
)
def test_a_misbehaving_erp_gives_the_right_status_within_the_timeout(
    loopback_erp, member, integration, behave, expected
):
    with RawServer(behave) as erp:
        point_at(integration, f"http://127.0.0.1:{erp.port}/api")
        result, elapsed = test_connection(member, integration)

    assert result["status"] in expected, result
    assert result["message"]
    assert elapsed < TOTAL_TIMEOUT + 2, f"took {elapsed:.1f} s"
    integration.refresh_from_db()
    assert integration.last_test_status == result["status"]
    assert integration.version == 2, "a connection test is not a change"


def test_an_endless_body_is_never_stored_whole(loopback_erp, member, integration):
    with RawServer(endless_body) as erp:
        point_at(integration, f"http://127.0.0.1:{erp.port}/api")
        result, _ = test_connection(member, integration)

    stored = integration.connection_tests.get()
    assert len(str(stored.details)) + len(stored.message) < 100_000
    assert result["status"] != "ok" or result["http_status"] == 200


@pytest.fixture
def untrusted_tls_erp(tmp_path) -> Iterator[str]:
    """An HTTPS server on loopback whose certificate signs itself."""
    cert, key = self_signed(tmp_path, "erp", "localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    erp = FakeServer(lambda seen: Reply(body={"ok": True}))
    erp.server.socket = context.wrap_socket(
        erp.server.socket, server_side=True, do_handshake_on_connect=False
    )
    with erp:
        yield f"https://localhost:{erp.server.server_address[1]}/api"


def test_an_untrusted_certificate_is_a_tls_error(
    loopback_erp, member, integration, untrusted_tls_erp
):
    point_at(integration, untrusted_tls_erp)

    result, elapsed = test_connection(member, integration)

    assert result["status"] == "tls_error", result
    assert "tls" in [stage["name"] for stage in result["stages"]]
    assert elapsed < TOTAL_TIMEOUT + 2


def test_a_plain_http_server_on_an_https_url_is_a_tls_error(
    loopback_erp, member, integration
):
    with FakeServer(lambda seen: Reply(body={"ok": True})) as erp:
        point_at(integration, f"https://127.0.0.1:{erp.server.server_address[1]}/api")
        result, elapsed = test_connection(member, integration)

    assert result["status"] == "tls_error", result
    assert elapsed < TOTAL_TIMEOUT + 2
